// Cost of the MSD convnet (the backbone) on ONE thread, with baselines in the same run.
//
//   build/bench/bench_msd_convnet [models/msd-convnet.gmdl] [--repeat 5] [CLIP.flac...]
//
// For each 30-s clip (default: the 3 committed GTZAN clips), the median time of:
//   decode + resample to 12 kHz (libsndfile + libsoxr), the baseline every model pays;
//   the log-mel front end of the bundled cnn2d member (22050 Hz, FFTW), for scale;
//   the convnet's features of one 29-s window (its STFT-as-convolution, mel, 5 blocks);
//   its tags (one window);
// and the multiply-accumulates of one 29-s window, counted from the card's shapes.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/features/frontend.h"
#include "genre/model/model.h"

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Multiply-accumulates of one window of `samples` through the card's network (features
// path): the STFT as the recipe's convolution (`stft`), and the rest (mel and blocks).
double Macs(const genre::ModelCard& card, long samples, double* stft) {
  const auto& fe = card.input.front_end;
  const long hop = fe.stft.hop_length, n_fft = fe.stft.n_fft, bins = n_fft / 2 + 1;
  long frames = (samples + hop - 1) / hop, mels = fe.mel.n_mels, in = 1;
  *stft = 2.0 * bins * n_fft * frames;
  double macs = 1.0 * frames * bins * mels;
  for (std::size_t b = 0; b < card.arch.channels.size(); ++b) {
    const long out = card.arch.channels[b];
    macs += 9.0 * in * out * mels * frames;
    mels /= card.arch.pool[2 * b];
    frames /= card.arch.pool[2 * b + 1];
    in = out;
  }
  return macs;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path = "models/msd-convnet.gmdl";
  int repeat = 5;
  std::vector<std::string> clips;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (a.size() > 5 && a.substr(a.size() - 5) == ".gmdl")
      model_path = a;
    else
      clips.push_back(a);
  }
  if (clips.empty())
    for (const char* c : {"blues.00000.flac", "classical.00001.flac", "metal.00002.flac"})
      clips.push_back(std::string(GENRE_TEST_DATA_DIR) + "/inputs/" + c);
  genre::SetTorchThreads(1);
  const genre::Model model = genre::Model::Load(model_path);
  const genre::ModelCard& card = model.card();
  const int sr = card.input.front_end.sample_rate;
  const genre::FrontEnd logmel{genre::FrontEndOptions{}};  // the cnn2d member's: 22050 Hz, 128 mels
  std::vector<double> decode, front, features, tags;
  for (const std::string& clip : clips) {
    genre::AudioReadOptions read;
    read.sample_rate = sr;
    genre::AudioReadOptions read22;
    genre::Waveform w, w22;
    for (int r = 0; r < repeat; ++r) {
      double t = Now();
      w = genre::LoadAudio(clip, read);
      decode.push_back(Now() - t);
      w22 = genre::LoadAudio(clip, read22);
      t = Now();
      const genre::Matrix m = logmel.Compute(w22.samples, genre::kLogMel).logmel;
      front.push_back(Now() - t);
      std::vector<float> window(w.samples.begin(),
                                w.samples.begin() + std::min<std::size_t>(w.samples.size(), card.input.window));
      genre::Matrix x(1, window.size());
      x.data = window;
      t = Now();
      model.Features({x});
      features.push_back(Now() - t);
      if (card.arch.MultiLabel()) {
        t = Now();
        model.Predict({x}, 1);
        tags.push_back(Now() - t);
      }
    }
  }
  double stft = 0;
  const double macs = Macs(card, card.input.window, &stft);
  std::printf("model %s, %zu clips x %d, one thread (libtorch %d)\n", card.name.c_str(), clips.size(), repeat,
              torch::get_num_threads());
  std::printf("decode + resample to %d Hz, 30-s clip:   %7.1f ms  (baseline)\n", sr, 1e3 * Median(decode));
  std::printf("log-mel front end of cnn2d, 30-s clip:   %7.1f ms  (%.2fx the decode)\n", 1e3 * Median(front),
              Median(front) / Median(decode));
  std::printf("convnet features, one 29-s window:       %7.1f ms  (%.2fx the decode)\n", 1e3 * Median(features),
              Median(features) / Median(decode));
  std::printf(
      "  multiply-adds per window: %.3f GMAC in mel + blocks (%.1f GMAC/s); the STFT as the recipe's\n"
      "  convolution would add %.3f GMAC, done as an FFT instead\n",
      macs / 1e9, macs / 1e9 / Median(features), stft / 1e9);
  if (!tags.empty()) std::printf("convnet tags, one 29-s window:           %7.1f ms\n", 1e3 * Median(tags));
  std::printf("throughput of decode + features:        %7.0fx real time per core\n",
              29.0 / (Median(decode) * 29.0 / 30.0 + Median(features)));
  return 0;
}
