#include "genre/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../model/networks.h"
#include "distributed_tensors.h"
#include "genre/data/split.h"
#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/train/windows.h"
#include "genre/util/atomic_file.h"
#include "genre/util/hash.h"
#include "genre/util/memory.h"

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
  need(window_mb >= 1 && window_mb <= (1 << 20), "window_mb must be in [1, 1048576], got " + std::to_string(window_mb));
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

namespace {

// Example indices in groups whose inputs take at most `window_bytes` together (at least one
// example each): what one LoadedInputs holds at a time.
std::vector<std::vector<std::size_t>> ByWindow(const std::vector<Example>& examples,
                                               const std::vector<std::size_t>& which, std::size_t rows,
                                               std::size_t window_bytes) {
  std::vector<std::vector<std::size_t>> out;
  std::size_t bytes = 0;
  for (std::size_t i : which) {
    const std::size_t b = rows * examples[i].columns() * sizeof(float);
    if (out.empty() || (bytes + b > window_bytes && !out.back().empty())) out.emplace_back(), bytes = 0;
    out.back().push_back(i);
    bytes += b;
  }
  return out;
}

std::vector<const Example*> Pointers(const std::vector<Example>& examples, const std::vector<std::size_t>& which) {
  std::vector<const Example*> out;
  for (std::size_t i : which) out.push_back(&examples[i]);
  return out;
}

// Every `world`-th example from `rank` on: one worker's share.
std::vector<std::size_t> Share(std::size_t n, int rank, int world) {
  std::vector<std::size_t> out;
  for (std::size_t i = static_cast<std::size_t>(rank); i < n; i += static_cast<std::size_t>(world)) out.push_back(i);
  return out;
}

constexpr std::size_t kEvaluationWindowBytes = 64u << 20;

// Per row: sum, sum of squares (both over every column), then the column count.
std::vector<double> StandardisationSums(const std::vector<Example>& examples, const std::vector<std::size_t>& which,
                                        std::size_t rows, std::size_t window_bytes) {
  std::vector<double> sums(2 * rows + 1, 0.0);
  for (const auto& part : ByWindow(examples, which, rows, window_bytes)) {
    const LoadedInputs in(Pointers(examples, part));
    for (std::size_t j = 0; j < part.size(); ++j) {
      const Matrix& x = in[j];
      if (x.rows != rows)
        throw InputError(examples[part[j]].path + ": input has " + std::to_string(x.rows) + " rows, the model " +
                         std::to_string(rows));
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < x.cols; ++c) {
          sums[r] += x(r, c);
          sums[rows + r] += static_cast<double>(x(r, c)) * x(r, c);
        }
      sums[2 * rows] += static_cast<double>(x.cols);
    }
  }
  return sums;
}

void SetStandardisation(ModelCard& card, const std::vector<double>& sums) {
  const std::size_t rows = static_cast<std::size_t>(card.input.rows);
  const double n = sums[2 * rows];
  if (n == 0) throw InputError("no data to standardise");
  card.mean.assign(rows, 0.0f);
  card.stdev.assign(rows, 1.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    const double mean = sums[r] / n;
    const double sd = std::sqrt(std::max(0.0, sums[rows + r] / n - mean * mean));
    card.mean[r] = static_cast<float>(mean);
    card.stdev[r] = sd > 1e-6 ? static_cast<float>(sd) : 1.0f;
  }
}

// The window probabilities of each example of `which`, handed to `each(index, probs)` in
// order; inputs read a window of examples at a time.
template <class Each>
void ForEachPrediction(const Model& model, const std::vector<Example>& examples, const std::vector<std::size_t>& which,
                       std::size_t window_bytes, Each&& each) {
  const ModelCard& card = model.card();
  // Windows of a song's audio may differ in length: one at a time.
  const bool audio = card.input.kind == "waveform" || card.input.kind == "waveform+gtzan";
  for (const auto& part : ByWindow(examples, which, static_cast<std::size_t>(card.input.rows), window_bytes)) {
    const LoadedInputs in(Pointers(examples, part));
    for (std::size_t j = 0; j < part.size(); ++j) each(part[j], model.Predict(Windows(card, in[j]), audio ? 1 : 64));
  }
}

// One example's window probabilities, scored against its label.
struct ExampleScore {
  double loss = 0;               // summed window cross-entropy
  std::vector<int> window_pred;  // each window's best class
  std::vector<float> mean;       // the mean of its window probabilities
  int track_pred = 0;            // the best class of that mean
};

ExampleScore Score(const std::vector<std::vector<float>>& probs, int label, std::size_t k) {
  ExampleScore s;
  s.mean.assign(k, 0.0f);
  for (const auto& p : probs) {
    s.window_pred.push_back(static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin()));
    s.loss -= std::log(std::max(1e-12, static_cast<double>(p[static_cast<std::size_t>(label)])));
    for (std::size_t c = 0; c < k; ++c) s.mean[c] += p[c] / static_cast<float>(probs.size());
  }
  s.track_pred = static_cast<int>(std::max_element(s.mean.begin(), s.mean.end()) - s.mean.begin());
  return s;
}

}  // namespace

void ComputeStandardisation(ModelCard& card, const std::vector<Example>& examples) {
  std::vector<std::size_t> all(examples.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  SetStandardisation(
      card, StandardisationSums(examples, all, static_cast<std::size_t>(card.input.rows), kEvaluationWindowBytes));
}

Evaluation Evaluate(const Model& model, const std::vector<Example>& examples) {
  const ModelCard& card = model.card();
  const std::size_t k = card.classes.size();
  std::vector<int> window_truth, window_pred, track_truth, track_pred;
  Evaluation ev;
  double loss = 0;
  std::vector<std::size_t> all(examples.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  ForEachPrediction(model, examples, all, kEvaluationWindowBytes,
                    [&](std::size_t i, const std::vector<std::vector<float>>& probs) {
                      ExampleScore score = Score(probs, examples[i].label, k);
                      loss += score.loss;
                      window_truth.insert(window_truth.end(), probs.size(), examples[i].label);
                      window_pred.insert(window_pred.end(), score.window_pred.begin(), score.window_pred.end());
                      track_truth.push_back(examples[i].label);
                      track_pred.push_back(score.track_pred);
                      ev.track_probs.push_back(std::move(score.mean));
                    });
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

std::string CheckpointBytes(const std::string& path) {
  try {
    return ReadWholeFile(path);
  } catch (const IoError&) {
    throw CheckpointError(path + ": no checkpoint to resume from");
  }
}

// A checkpoint's bytes (read from `path`, by rank 0 of a group) into the network, the
// optimizer and the card.
State ReadCheckpoint(const std::string& path, std::string file, NetImpl& net, torch::optim::Optimizer& optimizer,
                     ModelCard& card) {
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

State LoadCheckpoint(const std::string& path, std::string bytes, NetImpl& net, torch::optim::Optimizer& optimizer,
                     ModelCard& card) {
  try {
    return ReadCheckpoint(path, std::move(bytes), net, optimizer, card);
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

namespace {

// The sums a worker's share of the validation set scores, added up over the group: loss,
// windows, windows right, tracks, tracks right.
std::vector<double> ValidationSums(const Model& model, const std::vector<Example>& valid, int rank, int world,
                                   std::size_t window_bytes) {
  std::vector<double> s(5, 0.0);
  const std::size_t k = model.card().classes.size();
  ForEachPrediction(model, valid, Share(valid.size(), rank, world), window_bytes,
                    [&](std::size_t i, const std::vector<std::vector<float>>& probs) {
                      const ExampleScore score = Score(probs, valid[i].label, k);
                      s[0] += score.loss;
                      s[1] += static_cast<double>(probs.size());
                      for (int p : score.window_pred) s[2] += p == valid[i].label;
                      s[3] += 1;
                      s[4] += score.track_pred == valid[i].label;
                    });
  return s;
}

// Every worker must train on the same examples (same files, labels and split on every
// machine): compared by hash.
void AgreeOnData(ProcessGroup& group, const std::vector<Example>& train, const std::vector<Example>& valid) {
  Hasher hasher;  // line by line: no copy of every path at once
  for (const auto* set : {&train, &valid}) {
    for (const Example& e : *set) {
      const std::string line = e.path + '\t' + std::to_string(e.label) + '\t' + std::to_string(e.columns()) + '\n';
      hasher.Update(line.data(), line.size());
    }
    hasher.Update("--\n", 3);
  }
  const std::uint64_t h = hasher.Digest();
  const double hi = static_cast<double>(h >> 32), lo = static_cast<double>(h & 0xffffffffu);
  std::vector<double> v{hi, lo, -hi, -lo};
  group.AllReduceMax(v);
  if (v[0] != -v[2] || v[1] != -v[3])
    throw InputError(group.Name() + ": the workers do not see the same training data (" + std::to_string(train.size()) +
                     " training and " + std::to_string(valid.size()) +
                     " validation tracks here): give every worker the same dataset, split and options");
}

// Every worker must hold the same weights after each epoch: compared by a checksum.
void AgreeOnWeights(ProcessGroup& group, NetImpl& net, int epoch) {
  torch::NoGradGuard no_grad;
  double sum = 0, abs = 0;  // in one order on every worker (libtorch's sum splits by threads)
  for (const auto& p : net.parameters()) {
    const torch::Tensor c = p.detach().contiguous();
    const float* v = c.data_ptr<float>();
    for (long i = 0; i < c.numel(); ++i) {
      sum += v[i];
      abs += std::fabs(v[i]);
    }
  }
  std::vector<double> v{sum, abs, -sum, -abs};
  group.AllReduceMax(v);
  if (v[0] != -v[2] || v[1] != -v[3])
    throw GroupError(group.Name() + ": the workers' weights differ after epoch " + std::to_string(epoch));
}

// Rank 0's file (or its error), on every rank. Throws that error on every rank.
std::string FromRankZero(ProcessGroup* group, const std::function<std::string()>& read) {
  if (!group) return read();
  std::string mine;
  if (group->rank() == 0) {
    try {
      mine = "+" + read();
    } catch (const Error& e) {
      mine = "-" + KindOf(e) + "\n" + e.what();
    }
  }
  std::string got = group->Broadcast(mine, 0);
  if (got.empty() || got[0] == '+') return got.erase(0, 1);
  const auto nl = got.find('\n');
  ThrowOfKind(got.substr(1, nl - 1), got.substr(nl + 1));
}

std::uint64_t Mix(std::uint64_t a, std::uint64_t b) { return SplitMix64(a ^ (b * 0x9e3779b97f4a7c15ull)).Next(); }

}  // namespace

TrainResult Train(Model& model, const std::vector<Example>& train, const std::vector<Example>& valid,
                  const TrainOptions& o, const EpochCallback& on_epoch, ProcessGroup* group) {
  o.Validate();
  const int world = group ? group->size() : 1, rank = group ? group->rank() : 0;
  if (o.batch % world != 0)
    throw OptionError("batch must be a multiple of the workers (" + std::to_string(world) + "), got " +
                      std::to_string(o.batch) + ": each worker computes batch / workers windows of every step");
  const auto local_batch = static_cast<std::size_t>(o.batch / world);
  const std::size_t window_bytes = static_cast<std::size_t>(o.window_mb) << 20;
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
  if (group) AgreeOnData(*group, train, valid);
  const auto rows = static_cast<std::size_t>(card.input.rows);
  {  // a resumed run takes the checkpoint's instead
    std::vector<double> sums = StandardisationSums(train, Share(train.size(), rank, world), rows, window_bytes);
    if (group) group->AllReduceSum(sums);
    SetStandardisation(card, sums);
  }
  net.SetStandardisation(card);

  SplitMix64 rng(o.seed ^ 0xda7a5eedull);  // the same on every worker
  torch::manual_seed(o.seed);
  if (group) BroadcastModule(*group, net);
  torch::optim::Adam optimizer(net.parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  EarlyStopping stopper(o.early_stopping);
  PlateauScheduler plateau(o.plateau);
  State state;
  state.lr = o.lr;
  std::string best_weights;
  const bool writer = rank == 0 && !o.checkpoint_dir.empty();
  const std::string last_path =
      o.checkpoint_dir.empty() ? "" : (std::filesystem::path(o.checkpoint_dir) / "last.ckpt").string();
  const std::string best_path =
      o.checkpoint_dir.empty() ? "" : (std::filesystem::path(o.checkpoint_dir) / "best.ckpt").string();
  if (writer) MakeDirectories(o.checkpoint_dir);

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
  std::vector<std::size_t> base;  // one entry (the example) per window a track gives per epoch
  std::vector<int> base_labels;
  std::size_t used_bytes = 0;
  for (std::size_t i : used) {
    const std::size_t n =
        std::clamp<std::size_t>((train[i].columns() + W - 1) / W, 1, static_cast<std::size_t>(o.windows_per_track));
    base.insert(base.end(), n, i);
    base_labels.insert(base_labels.end(), n, train[i].label);
    used_bytes += rows * train[i].columns() * sizeof(float);
  }
  std::vector<double> weights(k, 1.0);
  if (o.class_weights) weights = BalancedClassWeights(base_labels, static_cast<int>(k));
  const torch::Tensor class_weight = torch::tensor(std::vector<float>(weights.begin(), weights.end()));
  // When every training input fits in the window, they are read once and kept.
  std::unique_ptr<LoadedInputs> resident;
  std::vector<std::size_t> resident_at(train.size(), 0);
  if (used_bytes <= window_bytes) {
    for (std::size_t j = 0; j < used.size(); ++j) resident_at[used[j]] = j;
    resident = std::make_unique<LoadedInputs>(Pointers(train, used));
  }

  if (o.resume) {
    const std::string last = FromRankZero(group, [&] { return CheckpointBytes(last_path); });
    const std::string best = FromRankZero(
        group, [&] { return std::filesystem::exists(best_path) ? ReadWholeFile(best_path) : std::string(); });
    state = LoadCheckpoint(last_path, last, net, optimizer, card);
    rng = SplitMix64(state.rng);
    stopper.Restore(state.es_best, state.es_best_epoch, state.es_wait);
    plateau.Restore(state.plateau_best, state.plateau_bad);
    SetLearningRate(optimizer, state.lr);
    best_weights = best;
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
    // Each worker its own dropout, the same for a resumed epoch.
    if (group)
      torch::manual_seed(Mix(Mix(o.seed, static_cast<std::uint64_t>(epoch)), static_cast<std::uint64_t>(rank)));
    net.train();
    std::vector<std::size_t> samples = base;
    if (o.balanced_sampler) {
      std::vector<std::vector<std::size_t>> per(k);
      for (std::size_t s : base) per[static_cast<std::size_t>(train[s].label)].push_back(s);
      std::size_t present = 0;
      for (const auto& v : per) present += !v.empty();
      samples.clear();
      const std::size_t each = (base.size() + present - 1) / present;
      for (const auto& v : per)
        for (std::size_t j = 0; j < each && !v.empty(); ++j) samples.push_back(v[rng.Below(v.size())]);
    }
    // The epoch's tracks in an order all workers share, each with its windows this epoch.
    std::vector<std::size_t> count(train.size(), 0), tracks;
    for (std::size_t s : samples) count[s]++;
    for (std::size_t i : used)
      if (count[i] > 0) tracks.push_back(i);
    for (std::size_t i = tracks.size(); i > 1; --i) std::swap(tracks[i - 1], tracks[rng.Below(i)]);

    double loss_sum = 0, correct = 0, seen = 0;
    for (std::size_t a = 0; a < tracks.size();) {
      // A chunk: consecutive tracks of at most window × workers bytes; each worker takes
      // every world-th (a chunk not a multiple of the workers repeats its first tracks).
      std::size_t b = a, bytes = 0;
      while (b < tracks.size() &&
             (b == a || bytes + rows * train[tracks[b]].columns() * sizeof(float) <= window_bytes * world))
        bytes += rows * train[tracks[b++]].columns() * sizeof(float);
      std::vector<std::size_t> chunk(tracks.begin() + static_cast<long>(a), tracks.begin() + static_cast<long>(b));
      a = b;
      for (std::size_t j = 0; chunk.size() % static_cast<std::size_t>(world); ++j) chunk.push_back(chunk[j]);
      std::vector<std::size_t> per_worker(static_cast<std::size_t>(world), 0), mine;
      for (std::size_t j = 0; j < chunk.size(); ++j) {
        per_worker[j % static_cast<std::size_t>(world)] += count[chunk[j]];
        if (static_cast<int>(j % static_cast<std::size_t>(world)) == rank) mine.push_back(chunk[j]);
      }
      std::size_t steps = 0;  // every worker takes as many steps (collectives pair up)
      for (std::size_t n : per_worker) steps = std::max(steps, (n + local_batch - 1) / local_batch);
      SplitMix64 local(Mix(rng.Next(), static_cast<std::uint64_t>(rank)));
      std::unique_ptr<LoadedInputs> loaded;
      if (!resident) loaded = std::make_unique<LoadedInputs>(Pointers(train, mine));
      auto input = [&](std::size_t j) -> const Matrix& {
        return resident ? (*resident)[resident_at[mine[j]]] : (*loaded)[j];
      };
      std::vector<float> pads(mine.size());
      for (std::size_t j = 0; j < mine.size(); ++j) pads[j] = PadValue(card.input, input(j));
      std::vector<std::size_t> list;  // my windows: an index into `mine` each
      for (std::size_t j = 0; j < mine.size(); ++j) list.insert(list.end(), count[mine[j]], j);
      for (std::size_t i = list.size(); i > 1; --i) std::swap(list[i - 1], list[local.Below(i)]);
      if (group)  // equal batches on every worker: repeat my first windows
        for (std::size_t j = 0; list.size() < steps * local_batch; ++j) list.push_back(list[j]);

      for (std::size_t start = 0; start < list.size(); start += local_batch) {
        const std::size_t end = std::min(list.size(), start + local_batch);
        std::vector<Matrix> windows;
        std::vector<long> labels;
        for (std::size_t s = start; s < end; ++s) {
          const Matrix& x = input(list[s]);
          const std::size_t slack = x.cols > W ? x.cols - W : 0;
          const std::size_t pos = o.augment.random_crop ? static_cast<std::size_t>(local.Below(slack + 1)) : slack / 2;
          Matrix w = Window(x, pos, W, pads[list[s]]);
          if (card.input.kind == "logmel" && o.augment.gain_db > 0) {
            const auto gain = static_cast<float>((2 * local.Uniform() - 1) * o.augment.gain_db);
            for (float& v : w.data) v += gain;
          }
          if (!IsSongVector(card.input)) {
            for (int m = 0; m < o.augment.time_masks && o.augment.time_mask > 0; ++m) {
              const std::size_t width = local.Below(static_cast<std::uint64_t>(o.augment.time_mask) + 1);
              const std::size_t at = local.Below(W);
              for (std::size_t c = at; c < std::min(W, at + width); ++c)
                for (std::size_t r = 0; r < w.rows; ++r) w(r, c) = card.mean[r];
            }
            for (int m = 0; m < o.augment.freq_masks && o.augment.freq_mask > 0; ++m) {
              const std::size_t height = local.Below(static_cast<std::uint64_t>(o.augment.freq_mask) + 1);
              const std::size_t at = local.Below(w.rows);
              for (std::size_t r = at; r < std::min(w.rows, at + height); ++r)
                for (std::size_t c = 0; c < W; ++c) w(r, c) = card.mean[r];
            }
          }
          windows.push_back(std::move(w));
          labels.push_back(train[mine[list[s]]].label);
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
        if (group) AverageGradients(*group, net);
        optimizer.step();
        loss_sum += loss.item<double>() * static_cast<double>(end - start);
        correct += static_cast<double>(logits.argmax(1).eq(y).sum().item<long>());
        seen += static_cast<double>(end - start);
      }
    }
    ReleaseFreeMemory();  // the epoch's chunks
    std::vector<double> train_sums{loss_sum, correct, seen};
    if (group) group->AllReduceSum(train_sums);
    EpochStats stats;
    stats.epoch = epoch;
    stats.train_loss = train_sums[0] / train_sums[2];
    stats.train_accuracy = train_sums[1] / train_sums[2];
    stats.lr = state.lr;
    double monitored = stats.train_loss;
    if (!valid.empty()) {
      net.eval();
      std::vector<double> v = ValidationSums(model, valid, rank, world, window_bytes);
      if (group) group->AllReduceSum(v);
      stats.valid_loss = v[1] > 0 ? v[0] / v[1] : 0.0;
      stats.valid_accuracy = v[1] > 0 ? v[2] / v[1] : 0.0;
      stats.valid_track_accuracy = v[3] > 0 ? v[4] / v[3] : 0.0;
      monitored = stats.valid_loss;
    }
    if (group) AgreeOnWeights(*group, net, epoch);
    stats.best = stopper.Update(monitored, epoch);
    if (stats.best) {
      best_weights = SaveWeights(net);
      if (writer)
        WriteAtomically(best_path, [&](const std::string& tmp) {
          std::ofstream out(tmp, std::ios::binary);
          out.write(best_weights.data(), static_cast<std::streamsize>(best_weights.size()));
          if (!out) throw OutputError(best_path + ": cannot write checkpoint");
        });
    }
    state.lr = plateau.Step(monitored, state.lr);
    SetLearningRate(optimizer, state.lr);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats.windows_per_second = train_sums[2] / stats.seconds;
    result.history.push_back(stats);
    state.epoch = epoch;
    state.es_best = stopper.best();
    state.es_best_epoch = stopper.best_epoch();
    state.es_wait = stopper.wait();
    state.plateau_best = plateau.best();
    state.plateau_bad = plateau.bad_epochs();
    state.rng = rng.state();
    state.history = result.history;
    if (writer) SaveCheckpoint(last_path, net, optimizer, state, card);
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
