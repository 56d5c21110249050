// Reading a Keras 2 HDF5 model file (model_config JSON + model_weights/) for the
// one family genre supports: the music-tagging convnet of Choi et al. (ISMIR 2017,
// keunwoochoi/transfer_learning_music), a kapre Melspectrogram front end, a
// Normalization2D('data_sample'), blocks of Conv2D 'same' / BatchNormalization /
// ELU / MaxPooling2D 'valid', a GlobalMaxPooling2D and a sigmoid Dense (the tags).
// Anything else is refused with one line naming the layer. No libtorch here:
// genre-train import-keras loads the result into the network (MsdConvnet).
#pragma once

#include <string>
#include <vector>

#include "genre/features/options.h"
#include "genre/model/tensors.h"

namespace genre {

struct KerasConvnet {  // a new field must be carried by Packed/Unpacked too (keras.cc)
  std::string path;
  // Front end (from the Melspectrogram layer): sample rate, n_dft, hop, mels, fmax.
  int sample_rate = 12000, n_dft = 512, n_hop = 256, n_mels = 96;
  double fmin_hz = 0, fmax_hz = 6000;
  double amin = 1e-10, top_db = 80;  // kapre's amplitude_to_decibel (dynamic_range 80)
  double norm_eps = 1e-10;           // Normalization2D: (x - mean) / (std + eps)
  std::vector<int> channels;         // per block
  std::vector<int> pool;             // per block: frequency, time
  double bn_eps = 1e-3, elu_alpha = 1.0;
  int tags = 50;
  std::vector<std::string> layers;  // "Class name" per layer, in order (for the card)
  // Tensors named and laid out as the network's (MsdConvnet): stft_real / stft_imag
  // [n_dft/2+1, 1, n_dft] (flipped: the kapre kernels applied as a true convolution),
  // mel [n_dft/2+1, n_mels], blocks.<k>.conv.weight [out, in, 3, 3], .bias,
  // blocks.<k>.bn.{weight,bias,running_mean,running_var}, tags.weight [tags, channels], tags.bias.
  std::vector<NamedTensor> tensors;
  const NamedTensor& Tensor(const std::string& name) const;  // throws FormatError
};

// Whether STFT kernels ([n_dft/2+1, 1, n_dft] each, as KerasConvnet holds them) are the
// periodic-Hann DFT: real w[(n + 1) mod N] cos(2 pi k (n + 1) / N), imaginary the sine of
// either sign (the DFT of the frame one sample earlier), within 1e-5. Then an FFT computes
// the STFT (the networks check this once, at load or their first pass).
bool KernelsAreHannDft(const std::vector<float>& real, const std::vector<float>& imag, int n_dft);

// Throws ModelError: unreadable, not a Keras model, or a layer or setting this reader
// does not support (one line naming the file, the layer and the setting). The file is read
// in a reader process (genre/util/isolate.h): a damaged file that crashes or hangs libhdf5
// costs a ModelError too.
KerasConvnet ReadKerasConvnet(const std::string& path);

}  // namespace genre
