// Log-mel of a long signal fed block by block, so a song is never held decoded:
// only the mel frames (n_mels floats per 23 ms) are kept. The result equals
// FrontEnd(options).Compute(whole signal, kLogMel).logmel bit for bit (tested):
// frames are computed over the zero-padded signal exactly as the centred STFT
// does, and the dB floor (top_db below the maximum) uses the maximum of the
// whole signal, as in training.
#pragma once

#include <span>
#include <vector>

#include "genre/features/frontend.h"

namespace genre {

class StreamingLogMel {
 public:
  // Needs centred frames with constant (zero) padding, the defaults; throws OptionError otherwise.
  explicit StreamingLogMel(const FrontEndOptions& options);
  // Reserves room for the frames of `samples` samples (e.g. AudioStream::expected_samples()),
  // so the frame store grows once instead of doubling.
  void Reserve(std::size_t samples);
  void Push(std::span<const float> samples);
  // Frame-major log-mel [frames, n_mels] (the transpose of FrontEnd's [n_mels, frames]).
  // Throws InputError, as FrontEnd does, when fewer than n_fft samples were pushed.
  Matrix Finish();
  std::size_t samples() const { return total_; }

 private:
  void Drain(bool final);
  FrontEndOptions options_;
  FrontEnd framer_;            // same options, center = false: frames of the padded buffer
  std::vector<float> buffer_;  // padded signal not yet framed, from buffer_[head_]
  std::size_t head_ = 0, total_ = 0, frames_ = 0;
  std::vector<float> mel_;  // frame-major mel power
};

}  // namespace genre
