#include "genre/features/streaming.h"

#include <algorithm>

#include "genre/error.h"

namespace genre {

namespace {
FrontEndOptions Uncentred(FrontEndOptions o) {
  o.Validate();
  if (!o.stft.center || o.stft.pad_mode != PadMode::kConstant)
    throw OptionError(
        "streaming log-mel needs centred frames with constant padding (center = true, pad_mode = constant)");
  o.stft.center = false;
  return o;
}
constexpr std::size_t kBatchFrames = 256;
}  // namespace

StreamingLogMel::StreamingLogMel(const FrontEndOptions& options) : options_(options), framer_(Uncentred(options)) {
  buffer_.assign(static_cast<std::size_t>(options.stft.n_fft / 2), 0.0f);  // the centring pad
}

void StreamingLogMel::Reserve(std::size_t samples) {
  constexpr std::size_t kMaxFrames = std::size_t{1} << 20;  // ~6 h at 22050 / 512: more grows as it comes
  const std::size_t frames = std::min(kMaxFrames, 1 + samples / static_cast<std::size_t>(options_.stft.hop_length));
  mel_.reserve(frames * static_cast<std::size_t>(options_.mel.n_mels));
}

void StreamingLogMel::Push(std::span<const float> samples) {
  buffer_.insert(buffer_.end(), samples.begin(), samples.end());
  total_ += samples.size();
  Drain(false);
}

void StreamingLogMel::Drain(bool final) {
  const auto n_fft = static_cast<std::size_t>(options_.stft.n_fft);
  const auto hop = static_cast<std::size_t>(options_.stft.hop_length);
  const auto n_mels = static_cast<std::size_t>(options_.mel.n_mels);
  for (;;) {
    const std::size_t available = buffer_.size() - head_;
    if (available < n_fft) break;
    std::size_t frames = 1 + (available - n_fft) / hop;
    if (!final) {
      if (frames < kBatchFrames) break;
      frames = kBatchFrames;
    }
    const std::size_t length = n_fft + (frames - 1) * hop;
    const Matrix mel = framer_.Compute(std::span<const float>(buffer_.data() + head_, length), kMel).mel;
    for (std::size_t t = 0; t < frames; ++t)
      for (std::size_t m = 0; m < n_mels; ++m) mel_.push_back(mel(m, t));
    frames_ += frames;
    head_ += frames * hop;
    if (final) break;
  }
  if (head_ > (1u << 20)) {  // drop framed samples now and then, not at every block
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

Matrix StreamingLogMel::Finish() {
  const auto n_fft = static_cast<std::size_t>(options_.stft.n_fft);
  if (total_ < n_fft) {
    // Let the front end say it, in its words.
    const std::vector<float> signal(buffer_.begin() + static_cast<std::ptrdiff_t>(n_fft / 2), buffer_.end());
    FrontEnd(options_).Compute(signal, kLogMel);
  }
  buffer_.insert(buffer_.end(), n_fft / 2, 0.0f);
  Drain(true);
  const std::size_t n_mels = static_cast<std::size_t>(options_.mel.n_mels);
  Matrix out;
  out.rows = frames_;
  out.cols = n_mels;
  out.data = std::move(mel_);
  mel_.clear();
  PowerToDbInPlace(out, options_.db);
  return out;
}

}  // namespace genre
