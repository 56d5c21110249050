#include "genre/model/classifier.h"

#include <algorithm>
#include <mutex>

#include "genre/data/msd.h"
#include "genre/error.h"
#include "genre/features/streaming.h"
#include "genre/model/inputs.h"
#include "genre/train/windows.h"

namespace genre {

namespace {
std::mutex& Hdf5Mutex() {
  static std::mutex m;  // Debian's HDF5 is not thread-safe
  return m;
}

bool IsH5(const std::string& path) {
  const auto dot = path.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = path.substr(dot);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".h5" || ext == ".hdf5";
}
// Window `start` of a frame-major [frames, rows] matrix as [rows, window], padded with `pad`.
Matrix WindowOfFrames(const Matrix& fm, std::size_t start, std::size_t window, float pad) {
  Matrix w(fm.cols, window, pad);
  for (std::size_t c = 0; c < window && start + c < fm.rows; ++c)
    for (std::size_t r = 0; r < fm.cols; ++r) w(r, c) = fm(start + c, r);
  return w;
}
}  // namespace

Classifier::Classifier(std::shared_ptr<const Model> model) : model_(std::move(model)) {
  if (!model_) throw OptionError("Classifier needs a model");
}

Classification Classifier::FromInput(const Matrix& x, double seconds_per_column, double duration_s,
                                     const ClassifyOptions& o) const {
  const ModelCard& card = model_->card();
  if (o.hop < 0) throw OptionError("hop must be >= 0, got " + std::to_string(o.hop));
  const auto W = static_cast<std::size_t>(card.input.window);
  const auto hop = static_cast<std::size_t>(o.hop > 0 ? o.hop : card.input.hop);
  const float pad = card.input.kind == "logmel" ? MinValue(x) : 0.0f;
  const std::vector<std::size_t> starts = WindowStarts(x.cols, W, hop);
  std::vector<Matrix> windows;
  for (std::size_t s : starts) windows.push_back(Window(x, s, W, pad));
  const auto probs = model_->Predict(windows);
  Classification c;
  c.duration_s = duration_s;
  c.windows = probs.size();
  c.probs.assign(card.classes.size(), 0.0f);
  for (std::size_t i = 0; i < probs.size(); ++i) {
    for (std::size_t k = 0; k < c.probs.size(); ++k) c.probs[k] += probs[i][k] / static_cast<float>(probs.size());
    if (o.timeline) c.timeline.push_back({static_cast<double>(starts[i]) * seconds_per_column, probs[i]});
  }
  return c;
}

Classification Classifier::ClassifyStream(AudioStream& stream, const std::string& name, const ClassifyOptions& o) const {
  const ModelCard& card = model_->card();
  const InputSpec& in = card.input;
  StreamingLogMel logmel(in.front_end);
  if (stream.expected_samples() > 0) logmel.Reserve(static_cast<std::size_t>(stream.expected_samples()));
  std::vector<float> block(1 << 16);
  for (std::size_t n; (n = stream.Read(block.data(), block.size())) > 0;)
    logmel.Push(std::span<const float>(block.data(), n));
  if (logmel.samples() == 0) throw InputError(name + ": no audio samples");
  Matrix fm;
  try {
    fm = logmel.Finish();
  } catch (const Error& e) {
    e.RethrowWithContext(name);
  }
  if (fm.cols != static_cast<std::size_t>(in.rows))
    throw InputError(name + ": input has " + std::to_string(fm.cols) + " rows, the model " + std::to_string(in.rows));
  if (o.hop < 0) throw OptionError("hop must be >= 0, got " + std::to_string(o.hop));
  const auto W = static_cast<std::size_t>(in.window);
  const auto hop = static_cast<std::size_t>(o.hop > 0 ? o.hop : in.hop);
  const float pad = MinValue(fm);
  const std::vector<std::size_t> starts = WindowStarts(fm.rows, W, hop);
  const double per_column = static_cast<double>(in.front_end.stft.hop_length) / in.front_end.sample_rate;
  Classification c;
  c.duration_s = static_cast<double>(logmel.samples()) / in.front_end.sample_rate;
  c.windows = starts.size();
  c.probs.assign(card.classes.size(), 0.0f);
  constexpr std::size_t kBatch = 64;  // windows in memory at once
  // Windows per forward pass: libtorch's activations grow with it (a 64-window cnn2d
  // batch holds ~70 MB per layer output); 4 keeps the peak small and is as fast here.
  constexpr int kNetBatch = 4;
  for (std::size_t b = 0; b < starts.size(); b += kBatch) {
    std::vector<Matrix> windows;
    for (std::size_t i = b; i < std::min(starts.size(), b + kBatch); ++i)
      windows.push_back(WindowOfFrames(fm, starts[i], W, pad));
    const auto probs = model_->Predict(windows, kNetBatch);
    for (std::size_t i = 0; i < probs.size(); ++i) {
      for (std::size_t k = 0; k < c.probs.size(); ++k) c.probs[k] += probs[i][k] / static_cast<float>(starts.size());
      if (o.timeline) c.timeline.push_back({static_cast<double>(starts[b + i]) * per_column, probs[i]});
    }
  }
  return c;
}

Classification Classifier::ClassifyAudio(const Waveform& audio, const ClassifyOptions& o) const {
  const InputSpec& in = model_->card().input;
  if (audio.sample_rate != in.front_end.sample_rate)
    throw InputError("audio at " + std::to_string(audio.sample_rate) + " Hz, the model reads " +
                     std::to_string(in.front_end.sample_rate) + " Hz");
  const Matrix x = InputFromAudio(audio, in);
  const double per_column = in.kind == "logmel"
                                ? static_cast<double>(in.front_end.stft.hop_length) / in.front_end.sample_rate
                                : in.segment_s;
  return FromInput(x, per_column, audio.duration_s(), o);
}

Classification Classifier::ClassifyFile(const std::string& path, const ClassifyOptions& o) const {
  const InputSpec& in = model_->card().input;
  if (path != "-" && IsH5(path)) {
    MsdTrack t;
    {
      std::lock_guard lock(Hdf5Mutex());
      t = MsdFile::Open(path).Read(0);
    }
    Classification c;
    try {
      c = FromInput(InputFromMsd(t, in), in.segment_s, t.duration_s, o);
    } catch (const Error& e) {
      e.RethrowWithContext(path);
    }
    return c;
  }
  AudioReadOptions read;
  read.sample_rate = in.front_end.sample_rate;
  read.offset_s = o.offset_s;
  read.duration_s = o.duration_s;
  if (in.kind == "logmel") {
    AudioStream stream(path, read);
    return ClassifyStream(stream, path, o);
  }
  return ClassifyNamed(LoadAudio(path, read), path, o);
}

Classification Classifier::ClassifyNamed(const Waveform& audio, const std::string& name,
                                         const ClassifyOptions& o) const {
  Classification c;
  try {
    c = ClassifyAudio(audio, o);
  } catch (const Error& e) {
    e.RethrowWithContext(name);
  }
  return c;
}

Classification Classifier::ClassifyBytes(std::string bytes, const std::string& name, const ClassifyOptions& o) const {
  AudioReadOptions read;
  read.sample_rate = model_->card().input.front_end.sample_rate;
  read.offset_s = o.offset_s;
  read.duration_s = o.duration_s;
  AudioStream stream = AudioStream::FromMemory(std::move(bytes), name, read);
  if (model_->card().input.kind == "logmel") return ClassifyStream(stream, name, o);
  Waveform w;
  w.info = stream.info();
  w.sample_rate = stream.sample_rate();
  std::vector<float> block(1 << 16);
  for (std::size_t n; (n = stream.Read(block.data(), block.size())) > 0;)
    w.samples.insert(w.samples.end(), block.begin(), block.begin() + static_cast<long>(n));
  if (w.samples.empty()) throw InputError(name + ": no audio samples");
  return ClassifyNamed(w, name, o);
}

}  // namespace genre
