#include "genre/model/classifier.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>

#include "genre/data/dataset.h"
#include "genre/data/msd.h"
#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/features/streaming.h"
#include "genre/model/inputs.h"
#include "genre/train/calibration.h"
#include "genre/train/windows.h"

namespace genre {

namespace {
// Window `start` of a frame-major [frames, rows] matrix as [rows, window], padded with `pad`.
Matrix WindowOfFrames(const Matrix& fm, std::size_t start, std::size_t window, float pad) {
  Matrix w(fm.cols, window, pad);
  for (std::size_t c = 0; c < window && start + c < fm.rows; ++c)
    for (std::size_t r = 0; r < fm.cols; ++r) w(r, c) = fm(start + c, r);
  return w;
}

// Records the song's loudest sample and whether it is below the silence floor.
Classification WithPeak(Classification c, float peak, const ClassifyOptions& o) {
  c.peak = peak;
  c.silent = peak >= 0 && peak < std::pow(10.0, o.silence_dbfs / 20.0);
  return c;
}
}  // namespace

void ClassifyOptions::Validate() const {
  RequireOption(offset_s >= 0 && std::isfinite(offset_s), "offset", offset_s, ">= 0 seconds");
  RequireOption((duration_s > 0 || duration_s < 0) && std::isfinite(duration_s), "duration", duration_s,
                "> 0 seconds (< 0: to the end)");
  RequireOption(hop >= 0, "hop", hop, ">= 0 columns (0: the model's)");
  RequireOption(hop_s >= 0 && std::isfinite(hop_s), "hop", hop_s, "> 0 seconds (0: the model's)");
  RequireOption(silence_dbfs >= -200 && silence_dbfs <= 0, "silence", silence_dbfs, "in [-200, 0] dBFS");
  RequireOption(threads >= 0, "threads", threads, ">= 0 (0: all cores)");
  RequireOption(picture_columns <= 4096, "picture_columns", picture_columns, "in [0, 4096] (0: no picture)");
}

Spectrogram PictureOf(const Matrix& fm, double seconds_per_frame, std::size_t max_columns) {
  Spectrogram p;
  if (fm.rows == 0 || fm.cols == 0 || max_columns == 0) return p;
  p.bands = fm.cols;
  p.columns = std::min(max_columns, fm.rows);
  p.seconds_per_column = seconds_per_frame * static_cast<double>(fm.rows) / static_cast<double>(p.columns);
  const auto [low, high] = std::minmax_element(fm.data.begin(), fm.data.end());
  p.max_db = *high;
  p.min_db = p.max_db - 80.0f;
  p.pixels.assign(p.bands * p.columns, 0);
  if (*high - *low < 1e-3f) return p;  // flat (digital silence: every frame at the reference): black
  std::vector<double> sum(p.bands);
  for (std::size_t c = 0; c < p.columns; ++c) {
    const std::size_t first = c * fm.rows / p.columns, last = (c + 1) * fm.rows / p.columns;
    std::fill(sum.begin(), sum.end(), 0.0);
    for (std::size_t f = first; f < last; ++f)
      for (std::size_t b = 0; b < p.bands; ++b) sum[b] += fm(f, b);
    for (std::size_t b = 0; b < p.bands; ++b) {
      const double db = sum[b] / static_cast<double>(last - first);
      const double level = std::clamp((db - p.min_db) / (p.max_db - p.min_db), 0.0, 1.0);
      p.pixels[b * p.columns + c] = static_cast<std::uint8_t>(std::lround(255.0 * level));
    }
  }
  return p;
}

Classifier::Classifier(std::shared_ptr<const Network> network) : network_(std::move(network)) {
  if (!network_) throw OptionError("Classifier needs a model");
  for (const auto& m : network_->members()) members_.emplace_back(m);
}

Classification Classifier::Combine(const std::function<Classification(const Classifier&)>& classify) const {
  const std::vector<std::string>& classes = network_->card().classes;
  Classification c;
  c.probs.assign(classes.size(), 0.0f);
  for (const Classifier& member : members_) {
    Classification m = classify(member);
    const std::vector<std::string>& own = member.network().card().classes;
    std::vector<std::size_t> to(own.size());  // member class -> ensemble class
    for (std::size_t k = 0; k < own.size(); ++k)
      to[k] = static_cast<std::size_t>(std::find(classes.begin(), classes.end(), own[k]) - classes.begin());
    for (std::size_t k = 0; k < own.size(); ++k) c.probs[to[k]] += m.probs[k] / static_cast<float>(members_.size());
    c.duration_s = std::max(c.duration_s, m.duration_s);
    c.peak = std::max(c.peak, m.peak);  // the same audio: every member saw this peak
    c.silent = m.silent;
    if (c.picture.pixels.empty()) c.picture = std::move(m.picture);
    if (m.windows > c.windows) {
      c.windows = m.windows;
      c.timeline.clear();
      for (WindowProbabilities& w : m.timeline) {
        std::vector<float> p(classes.size(), 0.0f);
        for (std::size_t k = 0; k < own.size(); ++k) p[to[k]] = w.probs[k];
        c.timeline.push_back({w.start_s, std::move(p)});
      }
    }
  }
  c.probs = Calibrated(c.probs);
  return c;
}

std::vector<float> Classifier::Calibrated(const std::vector<float>& probs) const {
  const double t = network_->card().temperature;
  return t == 1.0 ? probs : ApplyTemperature(probs, t);
}

Classification Classifier::Slide(std::size_t columns, const std::function<Matrix(std::size_t, std::size_t)>& window,
                                 double seconds_per_column, double duration_s, const ClassifyOptions& o) const {
  const ModelCard& card = network_->card();
  if (o.hop < 0) throw OptionError("hop must be >= 0, got " + std::to_string(o.hop));
  const auto W = static_cast<std::size_t>(card.input.window);
  if (o.hop_s < 0) throw OptionError("hop must be >= 0 seconds");
  const auto hop = static_cast<std::size_t>(o.hop > 0     ? o.hop
                                            : o.hop_s > 0 ? std::max(1L, std::lround(o.hop_s / seconds_per_column))
                                                          : card.input.hop);
  const std::vector<std::size_t> starts = WindowStarts(columns, W, hop);
  Classification c;
  c.duration_s = duration_s;
  c.windows = starts.size();
  c.probs.assign(card.classes.size(), 0.0f);
  constexpr std::size_t kBatch = 64;  // windows in memory at once
  // Windows per forward pass: the activations grow with it (a 64-window cnn2d batch holds
  // ~70 MB per layer output); 4 keeps the peak small.
  constexpr int kNetBatch = 4;
  for (std::size_t b = 0; b < starts.size(); b += kBatch) {
    std::vector<Matrix> windows;
    for (std::size_t i = b; i < std::min(starts.size(), b + kBatch); ++i) windows.push_back(window(starts[i], W));
    const auto probs = network_->Predict(windows, kNetBatch);
    for (std::size_t i = 0; i < probs.size(); ++i) {
      for (std::size_t k = 0; k < c.probs.size(); ++k) c.probs[k] += probs[i][k] / static_cast<float>(starts.size());
      if (o.timeline) c.timeline.push_back({static_cast<double>(starts[b + i]) * seconds_per_column, probs[i]});
    }
  }
  c.probs = Calibrated(c.probs);
  return c;
}

Classification Classifier::FromInput(const Matrix& x, double seconds_per_column, double duration_s,
                                     const ClassifyOptions& o) const {
  const float pad = PadValue(network_->card().input, x);
  return Slide(
      x.cols, [&](std::size_t start, std::size_t w) { return Window(x, start, w, pad); }, seconds_per_column,
      duration_s, o);
}

Classification Classifier::ClassifyStream(AudioStream& stream, const std::string& name,
                                          const ClassifyOptions& o) const {
  const InputSpec& in = network_->card().input;
  StreamingLogMel logmel(in.front_end);
  if (stream.expected_samples() > 0) logmel.Reserve(static_cast<std::size_t>(stream.expected_samples()));
  std::vector<float> block(1 << 16);
  for (std::size_t n; (n = stream.Read(block.data(), block.size())) > 0;)
    logmel.Push(std::span<const float>(block.data(), n));
  if (logmel.samples() == 0) throw InputError(name + ": no audio samples to analyse");
  Matrix fm;
  try {
    fm = logmel.Finish();
  } catch (const Error& e) {
    e.RethrowWithContext(name);
  }
  if (fm.cols != static_cast<std::size_t>(in.rows))
    throw InputError(name + ": input has " + std::to_string(fm.cols) + " rows, the model " + std::to_string(in.rows));
  const float pad = PadValue(in, fm);
  const double per_frame = static_cast<double>(in.front_end.stft.hop_length) / in.front_end.sample_rate;
  Classification c = Slide(
      fm.rows, [&](std::size_t start, std::size_t w) { return WindowOfFrames(fm, start, w, pad); }, per_frame,
      static_cast<double>(logmel.samples()) / in.front_end.sample_rate, o);
  if (o.picture_columns > 0) c.picture = PictureOf(fm, per_frame, o.picture_columns);
  return c;
}

Classification Classifier::ClassifyClips(const std::function<std::size_t(float*, std::size_t)>& read, int sample_rate,
                                         const std::string& name, const ClassifyOptions& o) const {
  const InputSpec& in = network_->card().input;
  const bool wave = in.kind == "waveform", fused = in.kind == "waveform+gtzan";
  // GTZAN vectors (and the fused waveform+gtzan windows): 30-s clips back to back, a
  // last part under 15 s joins the clip before it. Waveform models: windows of the
  // card's length every hop, a last part shorter than the network's shortest window
  // joins the window before it.
  const std::size_t clip = wave ? static_cast<std::size_t>(in.window) : kGtzanClipSamples;
  std::size_t hop = clip;
  if (wave && o.hop > 0)
    hop = static_cast<std::size_t>(o.hop);
  else if (wave && o.hop_s > 0)
    hop = static_cast<std::size_t>(std::max(1L, std::lround(o.hop_s * sample_rate)));
  else if (wave)
    hop = static_cast<std::size_t>(in.hop);
  if (hop > clip)
    throw OptionError("hop must be at most the window (" + std::to_string(clip) + " samples), got " +
                      std::to_string(hop));
  const std::size_t min_tail = wave ? static_cast<std::size_t>(in.min_window) : clip / 2;
  Classification c;
  c.probs.assign(network_->card().classes.size(), 0.0f);
  std::vector<std::vector<float>> probs;
  const std::size_t total =
      ForEachClip(read, clip, hop, min_tail, [&](std::size_t start, const std::vector<float>& samples) {
        try {
          Matrix x;
          if (wave) {
            x = PaddedWaveform(samples, static_cast<std::size_t>(in.min_window));
          } else if (fused) {
            x = FusedClipInput(samples, in);
          } else {
            Waveform w;
            w.sample_rate = sample_rate;  // InputFromAudio refuses any rate but the vector's
            w.samples = samples;
            x = InputFromAudio(w, in);
          }
          probs.push_back(network_->Predict({x})[0]);
        } catch (const Error& e) {
          if (name.empty()) throw;
          e.RethrowWithContext(name);
        }
        if (o.timeline) c.timeline.push_back({static_cast<double>(start) / sample_rate, probs.back()});
      });
  if (total == 0) throw InputError(name + ": no audio samples to analyse");
  for (const auto& p : probs)
    for (std::size_t k = 0; k < c.probs.size(); ++k) c.probs[k] += p[k] / static_cast<float>(probs.size());
  c.windows = probs.size();
  c.duration_s = static_cast<double>(total) / sample_rate;
  c.probs = Calibrated(c.probs);
  return c;
}

Classification Classifier::ClassifyAudio(const Waveform& audio, const ClassifyOptions& o) const {
  o.Validate();
  SetInferenceThreads(o.threads);
  if (!members_.empty()) return Combine([&](const Classifier& m) { return m.ClassifyAudio(audio, o); });
  const InputSpec& in = network_->card().input;
  if (audio.sample_rate != in.DecodeRate())
    throw InputError("audio at " + std::to_string(audio.sample_rate) + " Hz, the model reads " +
                     std::to_string(in.DecodeRate()) + " Hz");
  float peak = 0;
  for (float v : audio.samples) peak = std::max(peak, std::fabs(v));
  if (in.kind == "gtzan" || in.kind == "waveform" || in.kind == "waveform+gtzan")
    return WithPeak(ClassifyClips(SampleReader(audio.samples), audio.sample_rate, audio.info.path, o), peak, o);
  const Matrix x = InputFromAudio(audio, in);
  const double per_column =
      in.kind == "logmel" ? static_cast<double>(in.front_end.stft.hop_length) / in.front_end.sample_rate : in.segment_s;
  return WithPeak(FromInput(x, per_column, audio.duration_s(), o), peak, o);
}

Classification Classifier::ClassifyFile(const std::string& path, const ClassifyOptions& o) const {
  o.Validate();
  SetInferenceThreads(o.threads);
  if (!members_.empty()) return Combine([&](const Classifier& m) { return m.ClassifyFile(path, o); });
  const InputSpec& in = network_->card().input;
  if (path != "-" && IsH5Path(path)) {
    const MsdTrack t = ReadMsdSong(path, 0);  // a file that crashes libhdf5 costs a FormatError
    Classification c;
    try {
      c = FromInput(InputFromMsd(t, in), in.segment_s, t.duration_s, o);
    } catch (const Error& e) {
      e.RethrowWithContext(path);
    }
    return c;
  }
  AudioStream stream(path, ReadOptions(o));
  return ClassifyOpen(stream, path, o);
}

Classification Classifier::ClassifyBytes(std::string bytes, const std::string& name, const ClassifyOptions& o) const {
  o.Validate();
  SetInferenceThreads(o.threads);
  if (!members_.empty()) return Combine([&](const Classifier& m) { return m.ClassifyBytes(bytes, name, o); });
  AudioStream stream = AudioStream::FromMemory(std::move(bytes), name, ReadOptions(o));
  return ClassifyOpen(stream, name, o);
}

AudioReadOptions Classifier::ReadOptions(const ClassifyOptions& o) const {
  AudioReadOptions read;
  read.sample_rate = network_->card().input.DecodeRate();
  read.offset_s = o.offset_s;
  read.duration_s = o.duration_s;
  return read;
}

Classification Classifier::ClassifyOpen(AudioStream& stream, const std::string& name, const ClassifyOptions& o) const {
  const std::string& kind = network_->card().input.kind;
  if (kind == "logmel" || kind == "gtzan" || kind == "waveform" || kind == "waveform+gtzan") {
    if (kind == "logmel") {
      Classification c = ClassifyStream(stream, name, o);
      return WithPeak(std::move(c), stream.peak(), o);  // the peak once the stream is read
    }
    // The other kinds read samples: the picture's log-mel (the card's front end, centred
    // with zero padding as StreamingLogMel needs) is computed from them as they pass.
    std::optional<StreamingLogMel> picture;
    FrontEndOptions fe = network_->card().input.front_end;
    fe.stft.center = true;
    fe.stft.pad_mode = PadMode::kConstant;
    if (o.picture_columns > 0 && fe.sample_rate == stream.sample_rate()) picture.emplace(fe);
    Classification c = ClassifyClips(
        [&](float* out, std::size_t max) {
          const std::size_t n = stream.Read(out, max);
          if (picture) picture->Push(std::span<const float>(out, n));
          return n;
        },
        stream.sample_rate(), name, o);
    if (picture && picture->samples() >= static_cast<std::size_t>(fe.stft.n_fft))
      c.picture =
          PictureOf(picture->Finish(), static_cast<double>(fe.stft.hop_length) / fe.sample_rate, o.picture_columns);
    return WithPeak(std::move(c), stream.peak(), o);  // the peak once the stream is read
  }
  const Waveform audio = ReadAll(stream);
  Classification c;
  try {
    c = ClassifyAudio(audio, o);
  } catch (const Error& e) {
    e.RethrowWithContext(name);
  }
  return c;
}

}  // namespace genre
