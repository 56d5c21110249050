#include "genre/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../model/networks.h"
#include "genre/data/split.h"
#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/train/windows.h"
#include "genre/util/atomic_file.h"

namespace genre {

void TrainOptions::Validate() const {
  auto need = [](bool ok, const std::string& m) {
    if (!ok) throw OptionError(m);
  };
  need(epochs >= 1, "epochs must be >= 1, got " + std::to_string(epochs));
  need(batch >= 1, "batch must be >= 1, got " + std::to_string(batch));
  need(lr > 0, "lr must be > 0, got " + std::to_string(lr));
  need(weight_decay >= 0, "weight_decay must be >= 0, got " + std::to_string(weight_decay));
  need(per_genre_cap >= 0, "per_genre_cap must be >= 0, got " + std::to_string(per_genre_cap));
  need(windows_per_track >= 1, "windows_per_track must be >= 1, got " + std::to_string(windows_per_track));
  need(augment.gain_db >= 0, "augment.gain_db must be >= 0");
  need(augment.time_masks >= 0 && augment.freq_masks >= 0 && augment.time_mask >= 0 && augment.freq_mask >= 0,
       "augment masks must be >= 0");
  need(!resume || !checkpoint_dir.empty(), "resume needs a checkpoint folder");
  need(stop_after >= 0, "stop_after must be >= 0");
  EarlyStopping check_es(early_stopping);
  PlateauScheduler check_plateau(plateau);
}

std::vector<Matrix> Windows(const ModelCard& card, const Matrix& x) {
  // A song vector's further columns are augmented variants, for training only.
  if (IsSongVector(card.input)) return {Window(x, 0, 1, 0.0f)};
  const auto W = static_cast<std::size_t>(card.input.window);
  if (card.input.kind == "waveform") {  // as the Classifier cuts a song (a short tail joins the last window)
    std::vector<Matrix> out;
    const auto shortest = static_cast<std::size_t>(card.input.min_window);
    ForEachClip(x.data, W, static_cast<std::size_t>(card.input.hop), shortest,
                [&](std::size_t, const std::vector<float>& clip) { out.push_back(PaddedWaveform(clip, shortest)); });
    return out;
  }
  if (card.input.kind == "waveform+gtzan") {  // GTZAN clips, as the Classifier cuts them
    std::vector<Matrix> out;
    ForEachClip(x.data, kGtzanClipSamples, kGtzanClipSamples, kGtzanClipSamples / 2,
                [&](std::size_t, const std::vector<float>& clip) { out.push_back(FusedClipInput(clip, card.input)); });
    return out;
  }
  const float pad = PadValue(card.input, x);
  std::vector<Matrix> out;
  for (std::size_t s : WindowStarts(x.cols, W, static_cast<std::size_t>(card.input.hop)))
    out.push_back(Window(x, s, W, pad));
  return out;
}

void ComputeStandardisation(ModelCard& card, const std::vector<Example>& examples) {
  const std::size_t rows = static_cast<std::size_t>(card.input.rows);
  std::vector<double> sum(rows, 0.0), sq(rows, 0.0);
  double n = 0;
  for (const Example& e : examples) {
    if (e.x.rows != rows)
      throw InputError(e.path + ": input has " + std::to_string(e.x.rows) + " rows, the model " + std::to_string(rows));
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < e.x.cols; ++c) sum[r] += e.x(r, c);
    n += static_cast<double>(e.x.cols);
  }
  if (n == 0) throw InputError("no data to standardise");
  card.mean.assign(rows, 0.0f);
  card.stdev.assign(rows, 1.0f);
  for (std::size_t r = 0; r < rows; ++r) card.mean[r] = static_cast<float>(sum[r] / n);
  for (const Example& e : examples)
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < e.x.cols; ++c) sq[r] += (e.x(r, c) - card.mean[r]) * (e.x(r, c) - card.mean[r]);
  for (std::size_t r = 0; r < rows; ++r) {
    const double sd = std::sqrt(sq[r] / n);
    card.stdev[r] = sd > 1e-6 ? static_cast<float>(sd) : 1.0f;
  }
}

Evaluation Evaluate(const Model& model, const std::vector<Example>& examples) {
  const ModelCard& card = model.card();
  const std::size_t k = card.classes.size();
  std::vector<int> window_truth, window_pred, track_truth, track_pred;
  Evaluation ev;
  double loss = 0;
  for (const Example& e : examples) {
    // Windows of a song's audio may differ in length: one at a time.
    const bool audio = card.input.kind == "waveform" || card.input.kind == "waveform+gtzan";
    const auto probs = model.Predict(Windows(card, e.x), audio ? 1 : 64);
    std::vector<float> mean(k, 0.0f);
    for (const auto& p : probs) {
      const auto best = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
      window_truth.push_back(e.label);
      window_pred.push_back(best);
      loss -= std::log(std::max(1e-12, static_cast<double>(p[static_cast<std::size_t>(e.label)])));
      for (std::size_t c = 0; c < k; ++c) mean[c] += p[c] / static_cast<float>(probs.size());
    }
    track_truth.push_back(e.label);
    track_pred.push_back(static_cast<int>(std::max_element(mean.begin(), mean.end()) - mean.begin()));
    ev.track_probs.push_back(std::move(mean));
  }
  ev.windows = ComputeMetrics(window_truth, window_pred, card.classes);
  ev.tracks = ComputeMetrics(track_truth, track_pred, card.classes);
  ev.loss = window_truth.empty() ? 0.0 : loss / static_cast<double>(window_truth.size());
  return ev;
}

namespace {

struct Sample {
  std::size_t example;
};

std::string ArchJson(const ModelCard& card) {
  nlohmann::json j = ToJson(card);
  return nlohmann::json{{"arch", j["arch"]}, {"input", j["input"]}}.dump();
}

// Scalar training state saved in checkpoints.
struct State {
  int epoch = 0;  // epochs completed
  double lr = 0;
  double es_best = 0;
  int es_best_epoch = -1, es_wait = 0;
  double plateau_best = 0;
  int plateau_bad = 0;
  std::uint64_t rng = 0;
  std::vector<EpochStats> history;
};

nlohmann::json HistoryJson(const std::vector<EpochStats>& h) {
  nlohmann::json a = nlohmann::json::array();
  for (const EpochStats& s : h)
    a.push_back({s.epoch, s.train_loss, s.train_accuracy, s.valid_loss, s.valid_accuracy, s.valid_track_accuracy, s.lr,
                 s.seconds, s.windows_per_second, s.best});
  return a;
}

std::vector<EpochStats> HistoryFromJson(const nlohmann::json& a) {
  std::vector<EpochStats> h;
  for (const auto& r : a)
    h.push_back({r[0].get<int>(), r[1].get<double>(), r[2].get<double>(), r[3].get<double>(), r[4].get<double>(),
                 r[5].get<double>(), r[6].get<double>(), r[7].get<double>(), r[8].get<double>(), r[9].get<bool>()});
  return h;
}

// Inf is not JSON: the early-stopping "best" before any epoch is stored as null.
nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double NumFrom(const nlohmann::json& j) { return j.is_null() ? INFINITY : j.get<double>(); }

void SaveCheckpoint(const std::string& path, NetImpl& net, torch::optim::Optimizer& optimizer, const State& s,
                    const ModelCard& card) {
  torch::serialize::OutputArchive archive, model, optim;
  net.save(model);
  optimizer.save(optim);
  archive.write("model", model);
  archive.write("optimizer", optim);
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("torch_rng", gen.get_state(), /*is_buffer=*/true);
  }
  const nlohmann::json state = {{"epoch", s.epoch},
                                {"lr", s.lr},
                                {"es", {Num(s.es_best), s.es_best_epoch, s.es_wait}},
                                {"plateau", {Num(s.plateau_best), s.plateau_bad}},
                                {"rng", std::to_string(s.rng)},
                                {"history", HistoryJson(s.history)},
                                {"classes", card.classes},
                                {"arch", ArchJson(card)},
                                {"mean", card.mean},
                                {"std", card.stdev}};
  archive.write("state", c10::IValue(state.dump()));
  WriteAtomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    archive.save_to(out);
    out.flush();
    if (!out) throw OutputError(path + ": cannot write checkpoint");
  });
}

State ReadCheckpoint(const std::string& path, NetImpl& net, torch::optim::Optimizer& optimizer, ModelCard& card) {
  std::string file;
  try {
    file = ReadWholeFile(path);
  } catch (const IoError&) {
    throw CheckpointError(path + ": no checkpoint to resume from");
  }
  torch::serialize::InputArchive archive, model, optim;
  c10::IValue state_value;
  torch::Tensor rng;
  try {
    std::istringstream is(std::move(file));
    archive.load_from(is);
    archive.read("state", state_value);
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": truncated or corrupt checkpoint");
  }
  const nlohmann::json j = nlohmann::json::parse(state_value.toStringRef());
  const auto classes = j.at("classes").get<std::vector<std::string>>();
  if (classes != card.classes) {
    std::string list;
    for (const std::string& c : classes) list += (list.empty() ? "" : ",") + c;
    throw CheckpointError(path + ": cannot resume: the checkpoint has classes [" + list + "], this run other classes");
  }
  if (j.at("arch").get<std::string>() != ArchJson(card))
    throw CheckpointError(path + ": cannot resume: the checkpoint has another architecture or input");
  card.mean = j.at("mean").get<std::vector<float>>();
  card.stdev = j.at("std").get<std::vector<float>>();
  net.SetStandardisation(card);
  try {
    archive.read("model", model);
    net.load(model);
    archive.read("optimizer", optim);
    optimizer.load(optim);
    archive.read("torch_rng", rng, /*is_buffer=*/true);
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": checkpoint does not fit the model");
  }
  State s;
  s.epoch = j.at("epoch").get<int>();
  s.lr = j.at("lr").get<double>();
  s.es_best = NumFrom(j.at("es")[0]);
  s.es_best_epoch = j.at("es")[1].get<int>();
  s.es_wait = j.at("es")[2].get<int>();
  s.plateau_best = NumFrom(j.at("plateau")[0]);
  s.plateau_bad = j.at("plateau")[1].get<int>();
  s.rng = std::stoull(j.at("rng").get<std::string>());
  s.history = HistoryFromJson(j.at("history"));
  return s;
}

State LoadCheckpoint(const std::string& path, NetImpl& net, torch::optim::Optimizer& optimizer, ModelCard& card) {
  try {
    return ReadCheckpoint(path, net, optimizer, card);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // the state's JSON, its numbers
    throw CheckpointError(path + ": damaged checkpoint state: " + e.what());
  }
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

}  // namespace

TrainResult Train(Model& model, const std::vector<Example>& train, const std::vector<Example>& valid,
                  const TrainOptions& o, const EpochCallback& on_epoch) {
  o.Validate();
  SetTorchThreads(o.threads);
  ModelCard& card = model.card();
  NetImpl& net = *model.impl().net;
  const std::size_t k = card.classes.size();
  if (train.empty()) throw InputError("no training examples");
  {
    std::vector<bool> seen(k, false);
    std::size_t distinct = 0;
    for (const Example& e : train) {
      if (e.label < 0 || static_cast<std::size_t>(e.label) >= k)
        throw InputError(e.path + ": label outside the class list");
      if (!seen[static_cast<std::size_t>(e.label)]) ++distinct;
      seen[static_cast<std::size_t>(e.label)] = true;
    }
    if (distinct < 2)
      throw InputError("the training data has a single class (" +
                       card.classes[static_cast<std::size_t>(train[0].label)] + "): nothing to learn");
  }
  ComputeStandardisation(card, train);  // a resumed run takes the checkpoint's instead
  net.SetStandardisation(card);

  SplitMix64 rng(o.seed ^ 0xda7a5eedull);
  torch::manual_seed(o.seed);
  torch::optim::Adam optimizer(net.parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  EarlyStopping stopper(o.early_stopping);
  PlateauScheduler plateau(o.plateau);
  State state;
  state.lr = o.lr;
  std::string best_weights;
  const std::string last_path =
      o.checkpoint_dir.empty() ? "" : (std::filesystem::path(o.checkpoint_dir) / "last.ckpt").string();
  const std::string best_path =
      o.checkpoint_dir.empty() ? "" : (std::filesystem::path(o.checkpoint_dir) / "best.ckpt").string();
  MakeDirectories(o.checkpoint_dir);

  // Training tracks (a per-genre cap picks a seeded subset once).
  std::vector<std::size_t> used;
  {
    std::vector<std::vector<std::size_t>> by_class(k);
    for (std::size_t i = 0; i < train.size(); ++i) by_class[static_cast<std::size_t>(train[i].label)].push_back(i);
    SplitMix64 cap_rng(o.seed ^ 0xca9ull);
    for (auto& members : by_class) {
      if (o.per_genre_cap > 0 && members.size() > static_cast<std::size_t>(o.per_genre_cap)) {
        for (std::size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[cap_rng.Below(i)]);
        members.resize(static_cast<std::size_t>(o.per_genre_cap));
        std::sort(members.begin(), members.end());
      }
      used.insert(used.end(), members.begin(), members.end());
    }
    std::sort(used.begin(), used.end());
  }
  const auto W = static_cast<std::size_t>(card.input.window);
  std::vector<Sample> base;  // one entry per window a track gives per epoch
  std::vector<int> base_labels;
  for (std::size_t i : used) {
    const std::size_t n =
        std::clamp<std::size_t>((train[i].x.cols + W - 1) / W, 1, static_cast<std::size_t>(o.windows_per_track));
    for (std::size_t j = 0; j < n; ++j) {
      base.push_back({i});
      base_labels.push_back(train[i].label);
    }
  }
  std::vector<double> weights(k, 1.0);
  if (o.class_weights) weights = BalancedClassWeights(base_labels, static_cast<int>(k));
  const torch::Tensor class_weight = torch::tensor(std::vector<float>(weights.begin(), weights.end()));
  std::vector<float> pads(train.size());
  for (std::size_t i = 0; i < train.size(); ++i) pads[i] = PadValue(card.input, train[i].x);

  if (o.resume) {
    state = LoadCheckpoint(last_path, net, optimizer, card);
    rng = SplitMix64(state.rng);
    stopper.Restore(state.es_best, state.es_best_epoch, state.es_wait);
    plateau.Restore(state.plateau_best, state.plateau_bad);
    SetLearningRate(optimizer, state.lr);
    if (std::filesystem::exists(best_path)) best_weights = ReadWholeFile(best_path);
  }

  TrainResult result;
  result.history = state.history;
  result.stop_reason = "epochs";
  if (stopper.ShouldStop()) result.stop_reason = "early stopping";
  int run_epochs = 0;
  for (int epoch = state.epoch + 1; epoch <= o.epochs && !stopper.ShouldStop(); ++epoch) {
    if (o.stop_after > 0 && run_epochs == o.stop_after) {
      result.finished = false;
      result.stop_reason = "stop_after";
      break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    net.train();
    std::vector<Sample> samples = base;
    if (o.balanced_sampler) {
      std::vector<std::vector<Sample>> per(k);
      for (const Sample& s : base) per[static_cast<std::size_t>(train[s.example].label)].push_back(s);
      std::size_t present = 0;
      for (const auto& v : per) present += !v.empty();
      samples.clear();
      const std::size_t each = (base.size() + present - 1) / present;
      for (const auto& v : per)
        for (std::size_t j = 0; j < each && !v.empty(); ++j) samples.push_back(v[rng.Below(v.size())]);
    }
    for (std::size_t i = samples.size(); i > 1; --i) std::swap(samples[i - 1], samples[rng.Below(i)]);

    double loss_sum = 0;
    std::size_t correct = 0, seen = 0;
    for (std::size_t start = 0; start < samples.size(); start += static_cast<std::size_t>(o.batch)) {
      const std::size_t end = std::min(samples.size(), start + static_cast<std::size_t>(o.batch));
      std::vector<Matrix> windows;
      std::vector<long> labels;
      for (std::size_t s = start; s < end; ++s) {
        const Example& e = train[samples[s].example];
        const std::size_t slack = e.x.cols > W ? e.x.cols - W : 0;
        const std::size_t pos = o.augment.random_crop ? static_cast<std::size_t>(rng.Below(slack + 1)) : slack / 2;
        Matrix w = Window(e.x, pos, W, pads[samples[s].example]);
        if (card.input.kind == "logmel" && o.augment.gain_db > 0) {
          const auto gain = static_cast<float>((2 * rng.Uniform() - 1) * o.augment.gain_db);
          for (float& v : w.data) v += gain;
        }
        if (!IsSongVector(card.input)) {
          for (int m = 0; m < o.augment.time_masks && o.augment.time_mask > 0; ++m) {
            const std::size_t width = rng.Below(static_cast<std::uint64_t>(o.augment.time_mask) + 1);
            const std::size_t at = rng.Below(W);
            for (std::size_t c = at; c < std::min(W, at + width); ++c)
              for (std::size_t r = 0; r < w.rows; ++r) w(r, c) = card.mean[r];
          }
          for (int m = 0; m < o.augment.freq_masks && o.augment.freq_mask > 0; ++m) {
            const std::size_t height = rng.Below(static_cast<std::uint64_t>(o.augment.freq_mask) + 1);
            const std::size_t at = rng.Below(w.rows);
            for (std::size_t r = at; r < std::min(w.rows, at + height); ++r)
              for (std::size_t c = 0; c < W; ++c) w(r, c) = card.mean[r];
          }
        }
        windows.push_back(std::move(w));
        labels.push_back(e.label);
      }
      std::vector<const Matrix*> ptrs;
      for (const Matrix& w : windows) ptrs.push_back(&w);
      const torch::Tensor x = Batch(ptrs);
      const torch::Tensor y = torch::tensor(labels, torch::kLong);
      const torch::Tensor logits = net.forward(x);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits, y, torch::nn::functional::CrossEntropyFuncOptions().weight(class_weight));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>() * static_cast<double>(end - start);
      correct += static_cast<std::size_t>(logits.argmax(1).eq(y).sum().item<long>());
      seen += end - start;
    }
    EpochStats stats;
    stats.epoch = epoch;
    stats.train_loss = loss_sum / static_cast<double>(seen);
    stats.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    stats.lr = state.lr;
    double monitored = stats.train_loss;
    if (!valid.empty()) {
      const Evaluation ev = Evaluate(model, valid);
      stats.valid_loss = ev.loss;
      stats.valid_accuracy = ev.windows.accuracy;
      stats.valid_track_accuracy = ev.tracks.accuracy;
      monitored = ev.loss;
    }
    stats.best = stopper.Update(monitored, epoch);
    if (stats.best) {
      best_weights = SaveWeights(net);
      if (!best_path.empty())
        WriteAtomically(best_path, [&](const std::string& tmp) {
          std::ofstream out(tmp, std::ios::binary);
          out.write(best_weights.data(), static_cast<std::streamsize>(best_weights.size()));
          if (!out) throw OutputError(best_path + ": cannot write checkpoint");
        });
    }
    state.lr = plateau.Step(monitored, state.lr);
    SetLearningRate(optimizer, state.lr);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats.windows_per_second = static_cast<double>(seen) / stats.seconds;
    result.history.push_back(stats);
    state.epoch = epoch;
    state.es_best = stopper.best();
    state.es_best_epoch = stopper.best_epoch();
    state.es_wait = stopper.wait();
    state.plateau_best = plateau.best();
    state.plateau_bad = plateau.bad_epochs();
    state.rng = rng.state();
    state.history = result.history;
    if (!last_path.empty()) SaveCheckpoint(last_path, net, optimizer, state, card);
    ++run_epochs;
    if (on_epoch) on_epoch(stats, o.epochs);
    if (stopper.ShouldStop()) result.stop_reason = "early stopping";
  }
  result.best_epoch = stopper.best_epoch();
  if (result.finished && o.early_stopping.restore_best && !best_weights.empty())
    LoadWeights(net, best_weights, best_path.empty() ? "best weights" : best_path);
  net.eval();
  return result;
}

}  // namespace genre
