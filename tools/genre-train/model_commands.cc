// genre-train train | eval | cv | search: models from datasets, measured honestly.
#include <nlohmann/json.hpp>

#include <memory>
#include <sstream>

#include "common.h"
#include "genre/data/feature_table.h"
#include "genre/features/gtzan_vector.h"
#include "genre/model/classifier.h"
#include "genre/model/model.h"
#include "genre/train/experiment.h"
#include "genre/train/record.h"
#include "genre/train/report.h"
#include "genre/util/atomic_file.h"
#include "genre/util/memory.h"
#include "genre/util/parallel.h"

namespace genre_train {

namespace {

struct ModelArgs {
  DatasetArgs data;
  std::string arch = "cnn2d";
  std::string input;  // "": the architecture's default (gtzan for feature tables)
  genre::TrainOptions train;
  genre::FrontEndOptions front_end;
  int window = 0, hop = 0;  // 0: the architecture's default
  std::vector<int> channels, hidden;
  double dropout = -1;  // < 0: the architecture's default
  bool no_class_weights = false, no_augment = false, no_restore_best = false;
  std::string log_format = "text";
  std::string folds_from;    // cv, search: fixed folds (FoldsFromFile)
  std::string backbone;      // msd-convnet input from audio: the imported convnet
  int augment_variants = 0;  // with a backbone: augmented variants of each song's audio
  genre::AudioAugmentOptions audio_augment;

  void AddTo(CLI::App* app) {
    data.AddTo(app, true);
    app->add_option("--cache", data.cache,
                    "Feature cache for log-mel inputs and backbone features (default: in the run folder)");
    app->add_option("--arch", arch, "cnn2d (log-mel windows) | cnn1d (segment sequences) | mlp (song vectors)")
        ->check(CLI::IsMember({"cnn2d", "cnn1d", "mlp"}))
        ->capture_default_str();
    app->add_option("--input", input,
                    "What the network reads: logmel | segments | vector | gtzan (the GTZAN feature vector; "
                    "mlp only) | msd-convnet (the MSD convnet's 160 features; mlp only: table rows, or audio "
                    "through --backbone) | msd-convnet+gtzan (both, from joined table rows; mlp only). "
                    "Default: the architecture's, or the input of the first feature table's layout")
        ->check(CLI::IsMember({"logmel", "segments", "vector", "gtzan", "msd-convnet", "msd-convnet+gtzan"}));
    app->add_option("--backbone", backbone,
                    "The MSD convnet (genre-train import-keras) that computes msd-convnet features of audio");
    app->add_option("--augment-variants", augment_variants,
                    "With --backbone: features of N augmented variants of each song's audio (gain, EQ tilt, "
                    "pitch shift, time stretch, noise, MP3), computed once; training draws one variant (or the "
                    "original) per song and epoch, evaluation reads the original only")
        ->capture_default_str();
    app->add_option("--augment-pitch", audio_augment.pitch_semitones, "Augmented variants: most pitch shift, semitones")
        ->capture_default_str();
    app->add_option("--augment-stretch", audio_augment.stretch,
                    "Augmented variants: most time-stretch change (0.1 = 10 %)")
        ->capture_default_str();
    app->add_option("--augment-mp3", audio_augment.mp3_share, "Augmented variants: share that go through MP3")
        ->capture_default_str();
    app->add_option("--epochs", train.epochs, "Most epochs")->capture_default_str();
    app->add_option("--batch", train.batch, "Windows per batch")->capture_default_str();
    app->add_option("--lr", train.lr, "Adam learning rate")->capture_default_str();
    app->add_option("--weight-decay", train.weight_decay, "Adam weight decay")->capture_default_str();
    app->add_option("--dropout", dropout, "Dropout of the dense layers (default: the architecture's)");
    app->add_option("--channels", channels, "Conv channels per block, e.g. 16,32,64,128")->delimiter(',');
    app->add_option("--hidden", hidden, "Dense units, e.g. 128; 0: none (a linear layer)")->delimiter(',');
    app->add_option("--window", window, "Input columns per window (cnn2d: 130 frames = 3 s; cnn1d: 32 segments)");
    app->add_option("--hop", hop, "Columns between windows at evaluation (default: half a window)");
    app->add_option("--n-mels", front_end.mel.n_mels, "Mel bands")->capture_default_str();
    app->add_option("--sr", front_end.sample_rate, "Sample rate, Hz")->capture_default_str();
    app->add_option("--train-seed", train.seed, "Seed of initialisation, order and augmentation")
        ->capture_default_str();
    app->add_option("--patience", train.early_stopping.patience, "Early stopping: epochs without improvement")
        ->capture_default_str();
    app->add_option("--min-delta", train.early_stopping.min_delta, "Early stopping: least improvement")
        ->capture_default_str();
    app->add_flag("--no-restore-best", no_restore_best, "Keep the last epoch's weights instead of the best");
    app->add_option("--plateau-factor", train.plateau.factor, "LR-on-plateau factor")->capture_default_str();
    app->add_option("--plateau-patience", train.plateau.patience, "LR-on-plateau patience")->capture_default_str();
    app->add_option("--min-lr", train.plateau.min_lr, "Lowest learning rate")->capture_default_str();
    app->add_flag("--no-class-weights", no_class_weights, "Plain cross-entropy instead of balanced class weights");
    app->add_flag("--balanced-sampler", train.balanced_sampler, "Draw every class equally often");
    app->add_option("--per-genre-cap", train.per_genre_cap, "At most N training tracks per genre (0 = all)");
    app->add_option("--windows-per-track", train.windows_per_track, "Most windows per long track per epoch")
        ->capture_default_str();
    app->add_flag("--no-augment", no_augment, "No random crops, gain or masks");
    app->add_option("--window-mb", train.window_mb,
                    "Most MB of training inputs in memory at once (per worker): inputs streamed from the feature "
                    "cache or MSD files are read a chunk of tracks at a time, or once when they fit")
        ->capture_default_str();
    app->add_option("--log-format", log_format, "text|json (one JSON object per line)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
  }

  // The input kind of the first feature table among the sources ("" if none).
  std::string FeatureTableKind() const {
    for (const std::string& s : data.dataset.sources) {
      if (fs::path(s).extension() != ".csv" || !genre::IsFeatureTable(s)) continue;
      switch (genre::FeatureTableLayout(s)) {
        case genre::TableLayout::kGtzan:
          return "gtzan";
        case genre::TableLayout::kMsdConvnet:
          return "msd-convnet";
        case genre::TableLayout::kMsdConvnetGtzan:
          return "msd-convnet+gtzan";
      }
    }
    return "";
  }

  genre::ModelCard Card() {
    genre::ModelCard card;
    card.arch = genre::DefaultArch(arch);
    if (!channels.empty()) card.arch.channels = channels;
    if (!hidden.empty()) card.arch.hidden = hidden == std::vector<int>{0} ? std::vector<int>{} : hidden;
    if (dropout >= 0) card.arch.dropout = dropout;
    const std::string table = input.empty() ? FeatureTableKind() : "";
    card.input.kind = !input.empty() ? input : !table.empty() ? table : genre::InputKindFor(arch);
    if (!genre::ArchReads(arch, card.input.kind))
      throw genre::OptionError("--arch " + arch + " cannot read " + card.input.kind + " input (it reads " +
                               genre::InputKindFor(arch) +
                               (arch == "mlp" ? ", gtzan, msd-convnet or msd-convnet+gtzan)" : ")"));
    if (!backbone.empty() && card.input.kind != "msd-convnet")
      throw genre::OptionError("--backbone serves msd-convnet input only, not " + card.input.kind);
    if (augment_variants < 0 || augment_variants > 64)
      throw genre::OptionError("--augment-variants must be in [0, 64], got " + std::to_string(augment_variants));
    if (augment_variants > 0 && backbone.empty())
      throw genre::OptionError("--augment-variants needs --backbone (it augments audio before the backbone)");
    audio_augment.Validate();
    card.input.front_end = front_end;
    if (card.input.kind == "gtzan") {
      if (front_end.sample_rate != genre::kGtzanSampleRate)
        throw genre::OptionError("the GTZAN vector is defined at 22050 Hz; --sr does not apply");
      card.input.front_end = genre::FrontEndOptions{};  // 22050 Hz: what the audio is decoded at
    }
    if (card.input.kind == "msd-convnet") {
      card.input.front_end = genre::FrontEndOptions{};
      card.input.front_end.sample_rate = 12000;  // the backbone's rate (checked against it when given)
    }
    card.input.window = window > 0 ? window : arch == "cnn2d" ? 130 : arch == "cnn1d" ? 32 : 1;
    card.input.hop = hop > 0 ? hop : std::max(1, card.input.window / 2);
    card.input.rows = genre::InputRows(card.input);
    card.arch.Validate();  // every field, before any data is read
    card.input.Validate();
    genre::ValidateFit(card.arch, card.input);
    genre::StampCard(card);
    return card;
  }

  genre::TrainOptions Options() {
    genre::TrainOptions o = train;
    o.threads = data.threads;
    o.class_weights = !no_class_weights;
    o.early_stopping.restore_best = !no_restore_best;
    if (no_augment) {
      o.augment.random_crop = false;
      o.augment.gain_db = 0;
      o.augment.time_masks = o.augment.freq_masks = 0;
    }
    o.Validate();
    return o;
  }
};

// One line per epoch: text with an ETA, or a JSON object.
class EpochPrinter {
 public:
  explicit EpochPrinter(std::string format) : format_(std::move(format)) {}
  void operator()(const genre::EpochStats& s, int epochs, const std::string& prefix, int fold = -1) {
    seconds_ += s.seconds;
    ++seen_;
    if (format_ == "json") {
      nlohmann::json j = genre::ToJson(s);
      j["event"] = "epoch";
      j["epochs"] = epochs;
      if (fold >= 0) j["fold"] = fold;
      std::cout << j.dump() << std::endl;
      return;
    }
    const double eta = seconds_ / seen_ * (epochs - s.epoch);
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "%sepoch %3d/%d  train loss %.4f acc %.3f | valid loss %.4f acc %.3f tracks %.3f | lr %.1e | "
                  "%.1f s, %.0f win/s | ETA %dm%02ds%s",
                  prefix.c_str(), s.epoch, epochs, s.train_loss, s.train_accuracy, s.valid_loss, s.valid_accuracy,
                  s.valid_track_accuracy, s.lr, s.seconds, s.windows_per_second, static_cast<int>(eta) / 60,
                  static_cast<int>(eta) % 60, s.best ? "  *" : "");
    std::cout << buf << std::endl;
  }
  void NewRun() { seconds_ = 0, seen_ = 0; }

 private:
  std::string format_;
  double seconds_ = 0;
  int seen_ = 0;
};

void PrintAllSkipped(const genre::PreparedData& d) {
  PrintSkipped(d.dataset);
  for (const genre::Skipped& s : d.examples.skipped) std::cerr << "genre-train: skipped " << s.Line() << "\n";
}

// Writes an evaluation's files into dir (genre::WriteEvaluation) with its note.
void WriteEvaluationFiles(const std::string& dir, const genre::Evaluation& ev, const std::string& title) {
  if (!genre::WriteEvaluation(dir, ev, title))
    std::cerr << "genre-train: note: confusion.svg not drawn (gnuplot not found)\n";
}

void PrintEvaluation(const genre::Evaluation& ev, const std::string& what) {
  std::cout << what << ": track accuracy " << Fixed(ev.tracks.accuracy, 4) << ", macro-F1 "
            << Fixed(ev.tracks.macro_f1, 4) << " (" << ev.tracks.n << " tracks)";
  if (ev.windows.n)
    std::cout << "; window accuracy " << Fixed(ev.windows.accuracy, 4) << " (" << ev.windows.n << " windows)";
  std::cout << "\n\n" << genre::ClassReport(ev.tracks) << "\n" << genre::ConfusionTable(ev.tracks);
}

// Everything train, cv and search do before training: options, the run folder
// `dir` ("" = none; it also holds the default log-mel cache), the dataset, its
// split and inputs. Errors go to genre_cli::Guarded (one line, the exit code of their type).
void Prepare(ModelArgs& a, const std::string& dir, genre::ModelCard& card, genre::TrainOptions& options,
             genre::PreparedData& data, bool report = true) {
  a.data.Resolve();
  card = a.Card();
  options = a.Options();
  genre::MakeDirectories(dir);
  genre::SetTorchThreads(a.data.threads);
  genre::ExampleOptions eo;
  const bool cached = card.input.kind == "logmel" || !a.backbone.empty();
  eo.cache = !a.data.cache.empty()    ? a.data.cache
             : cached && !dir.empty() ? (fs::path(dir) / "features.h5").string()
                                      : "";
  eo.threads = a.data.threads;
  eo.progress = report && genre::Progress::StderrIsTerminal();
  eo.stream = true;
  if (!a.backbone.empty()) {
    auto backbone = std::make_shared<const genre::Model>(genre::Model::Load(a.backbone));
    if (backbone->card().input.front_end.sample_rate != card.input.front_end.sample_rate)
      throw genre::FormatError(a.backbone + ": the backbone reads " +
                               std::to_string(backbone->card().input.front_end.sample_rate) + " Hz audio, not " +
                               std::to_string(card.input.front_end.sample_rate) + " Hz");
    eo.from_audio_id = genre::BackboneVectorsId(*backbone, a.augment_variants, a.audio_augment);
    eo.from_audio = [backbone, variants = a.augment_variants, augment = a.audio_augment](const genre::Waveform& w) {
      return genre::BackboneVectors(*backbone, w, variants, augment);
    };
  }
  data = genre::PrepareData(a.data.dataset, a.data.split, card, eo);
  if (report) PrintAllSkipped(data);
}

// A data-parallel run's group (genre/train/distributed.h), from torchrun's environment;
// null when this is the only worker. Its workers use their share of the cores by default.
std::unique_ptr<genre::ProcessGroup> JoinGroup(ModelArgs& a, double timeout_s) {
  genre::GroupOptions g = genre::GroupFromEnvironment();
  if (!g.distributed()) return nullptr;
  if (a.train.batch % g.world_size != 0)
    throw genre::OptionError("--batch must be a multiple of the workers (" + std::to_string(g.world_size) + "), got " +
                             std::to_string(a.train.batch) + ": each worker computes batch / workers windows a step");
  g.timeout_s = timeout_s;
  if (a.data.threads == 0) a.data.threads = std::max(1, genre::ResolveThreads(0) / g.local_world_size);
  return genre::ProcessGroup::Join(g);
}

// Prepare for every worker of a group: the feature cache is brought up to date by rank 0
// first, then by the first worker of each other machine (on a shared file system they find
// it up to date), then the others read it.
void PrepareInGroup(ModelArgs& a, const std::string& dir, genre::ModelCard& card, genre::TrainOptions& options,
                    genre::PreparedData& data, genre::ProcessGroup* group) {
  if (!group) return Prepare(a, dir, card, options, data);
  constexpr double kPrepareTimeoutS = 24 * 3600;  // feature extraction may take hours
  const int stage = group->rank() == 0 ? 0 : group->options().local_rank == 0 ? 1 : 2;
  for (int s = 0; s < 3; ++s) {
    if (s == stage) Prepare(a, dir, card, options, data, group->rank() == 0);
    if (s < 2) group->Barrier(kPrepareTimeoutS);
  }
}

// ---- train --------------------------------------------------------------------

int TrainCommand(ModelArgs& a, const std::string& out, std::string run_dir, bool resume, int stop_after,
                 double group_timeout, const std::string& command) {
  if (run_dir.empty()) run_dir = out + ".run";
  a.Card();  // every option checked before joining a group or reading data
  a.Options();
  const std::unique_ptr<genre::ProcessGroup> group = JoinGroup(a, group_timeout);
  const bool lead = !group || group->rank() == 0;  // prints, and writes the model and the run folder
  genre::ModelCard card;
  genre::TrainOptions options;
  genre::PreparedData data;
  PrepareInGroup(a, run_dir, card, options, data, group.get());
  options.checkpoint_dir = (fs::path(run_dir) / "checkpoints").string();
  options.resume = resume;
  options.stop_after = stop_after;
  genre::Model model = genre::Model::Create(card, options.seed);
  EpochPrinter printer(a.log_format);
  genre::RunOutcome run;
  const std::string split_file = (fs::path(run_dir) / "split.csv").string();
  if (lead) genre::WriteManifest(split_file, data.dataset);
  const genre::TrainingRecord record{genre::DataRecord(data, a.data.dataset), command, a.data.split, split_file};
  // From here on the examples live once, in their splits, and the tracks are not needed.
  const genre::SplitExamples s = genre::TakeSplits(data);
  data.dataset.tracks = {};
  genre::ReleaseFreeMemory();
  if (a.log_format == "text" && lead)
    std::cout << "training " << card.arch.kind << " (" << model.parameters() << " parameters) on " << s.train.size()
              << " tracks, validating on " << s.valid.size() << ", testing on " << s.test.size() << "; "
              << genre::ResolveThreads(a.data.threads) << " threads"
              << (group ? " in each of " + std::to_string(group->size()) + " workers" : std::string()) << "\n";
  run = genre::TrainOnSplit(
      model, s, options,
      [&](const genre::EpochStats& st, int epochs) {
        if (lead) printer(st, epochs, "");
      },
      group.get());
  if (!lead) {  // one line: what this worker ended with
    if (a.log_format == "json")
      std::cout << nlohmann::json{{"event", "done"},
                                  {"rank", group->rank()},
                                  {"world_size", group->size()},
                                  {"finished", run.result.finished},
                                  {"weights_hash", model.WeightsHash()}}
                       .dump()
                << std::endl;
    else
      std::cout << group->Name() << ": done; weights " << model.WeightsHash() << "\n";
    return kExitOk;
  }
  if (!run.result.finished) {
    std::cout << "stopped after " << stop_after << " epoch(s) as asked; continue with --resume\n";
    return kExitOk;
  }
  genre::ModelCard& c = model.card();
  c.name = fs::path(out).stem().string();
  c.training = genre::TrainingJson(options, run, record);
  if (group) c.training["workers"] = group->size();
  model.Save(out);
  if (!genre::WriteHistory(run_dir, run.result.history, c.name))
    std::cerr << "genre-train: note: curves.svg not drawn (gnuplot not found)\n";
  if (run.has_test) WriteEvaluationFiles(run_dir, run.test, c.name + ": test split");
  if (a.log_format == "json") {
    nlohmann::json done = {{"event", "done"},
                           {"model", out},
                           {"stop_reason", run.result.stop_reason},
                           {"best_epoch", run.result.best_epoch},
                           {"weights_hash", model.WeightsHash()}};
    if (group) done["rank"] = 0, done["world_size"] = group->size();
    if (run.has_test) done["test"] = genre::ToJson(run.test.tracks);
    std::cout << done.dump() << std::endl;
  } else {
    std::cout << "\nstopped: " << run.result.stop_reason << "; best epoch " << run.result.best_epoch << "; model "
              << out << " (weights " << model.WeightsHash() << "); run files in " << run_dir << "\n";
    if (run.has_test) PrintEvaluation(run.test, "\ntest split");
  }
  return data.dataset.skipped.empty() && data.examples.skipped.empty() ? kExitOk : kExitSkipped;
}

// ---- eval ---------------------------------------------------------------------

int EvalCommand(DatasetArgs& a, const std::string& model_path, const std::string& split, const std::string& out_dir) {
  std::unique_ptr<genre::Model> model;
  genre::SetTorchThreads(a.threads);
  model = std::make_unique<genre::Model>(genre::Model::Load(model_path));
  genre::PreparedData data;
  try {
    a.Resolve();
    data.dataset = genre::LoadDataset(a.dataset);
    if (split != "all") {
      const genre::Split want = genre::ParseSplit(split);
      std::vector<genre::Track> kept;
      for (const genre::Track& t : data.dataset.tracks)
        if (t.split == want) kept.push_back(t);
      if (kept.empty())
        throw genre::InputError("no tracks in split '" + split + "' (give the run's split.csv as the dataset)");
      data.dataset.tracks = std::move(kept);
    }
    genre::ExampleOptions eo;
    eo.cache = a.cache;
    eo.threads = a.threads;
    eo.progress = genre::Progress::StderrIsTerminal();
    if (!model->is_ensemble())
      data.examples = genre::BuildExamples(data.dataset, model->card().classes, model->card().input, eo);
  } catch (const genre::Error& e) {
    PrintSkipped(data.dataset);
    return ErrorExit(e);
  }
  genre::Evaluation ev;
  if (model->is_ensemble()) {
    const genre::Classifier classifier(genre::ToNetwork(*model));
    ev = genre::EvaluateSongs(classifier, data, a.threads);
  } else if (!data.examples.examples.empty()) {
    ev = genre::Evaluate(*model, data.examples.examples);
  }
  PrintAllSkipped(data);
  if (ev.tracks.n == 0) return ErrorExit(genre::InputError("no usable tracks to evaluate"));
  PrintEvaluation(ev, model_path + " on " + std::to_string(ev.tracks.n) + " tracks");
  if (!out_dir.empty()) {
    WriteEvaluationFiles(out_dir, ev, fs::path(model_path).stem().string());
  }
  return data.dataset.skipped.empty() && data.examples.skipped.empty() ? kExitOk : kExitSkipped;
}

// ---- cv and search ------------------------------------------------------------

// What cv and search work on: Prepare's, and the folds: drawn (--folds K, default
// `k`) or read (--folds-from).
struct CvSetup {
  genre::ModelCard card;
  genre::TrainOptions options;
  genre::PreparedData data;
  int k = 0;
  std::vector<int> fixed;  // the folds of --folds-from; empty when drawn
};

void PrepareCv(ModelArgs& a, const std::string& dir, int k, CvSetup& s) {
  Prepare(a, dir, s.card, s.options, s.data);
  s.k = a.data.folds > 0 ? a.data.folds : k;
  if (a.folds_from.empty()) return;
  genre::FixedFolds f = genre::FoldsFromFile(s.data.dataset, a.folds_from);
  if (a.data.folds > 0 && a.data.folds != f.k)
    throw genre::OptionError("--folds " + std::to_string(a.data.folds) + " but " + a.folds_from + " holds " +
                             std::to_string(f.k) + " folds");
  s.k = f.k;
  s.fixed = std::move(f.fold);
  if (f.absent)
    std::cerr << "genre-train: note: " << f.absent << " tracks have no fold in " << a.folds_from
              << " and are left out of the CV\n";
}

int CvCommand(ModelArgs& a, const std::string& out_dir, const std::string& command) {
  CvSetup setup;
  PrepareCv(a, out_dir, 5, setup);
  const auto& [card, options, data, k, fixed] = setup;
  EpochPrinter printer(a.log_format);
  genre::CvOutcome cv;
  cv = genre::CrossValidate(
      card, data, k, a.data.split.valid, a.data.split.seed, options,
      [&](int fold, int folds, const genre::EpochStats& s, int epochs) {
        if (s.epoch == 1) printer.NewRun();
        printer(s, epochs, "fold " + std::to_string(fold + 1) + "/" + std::to_string(folds) + "  ", fold);
      },
      fixed);
  nlohmann::json j = genre::ToJson(cv);
  j["command"] = command;
  j["arch"] = genre::ToJson(card)["arch"];
  j["options"] = genre::ToJson(options);
  j["folds_k"] = k;
  j["folds_from"] = a.folds_from;
  j["seed"] = a.data.split.seed;
  if (a.log_format == "json") {
    j["event"] = "cv";
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << "\n" << k << "-fold grouped CV of " << card.arch.kind << " on " << cv.pooled.n << " tracks:\n";
    for (const auto& f : cv.folds)
      std::cout << "  fold " << f.fold + 1 << ": track accuracy " << Fixed(f.tracks.accuracy, 4) << ", macro-F1 "
                << Fixed(f.tracks.macro_f1, 4) << " (" << f.tracks.n << " tracks, " << f.epochs << " epochs, "
                << Fixed(f.seconds, 0) << " s)\n";
    std::cout << "track accuracy " << Fixed(cv.accuracy_mean, 4) << " ± " << Fixed(cv.accuracy_std, 4) << ", macro-F1 "
              << Fixed(cv.macro_f1_mean, 4) << " ± " << Fixed(cv.macro_f1_std, 4) << "\n\npooled over folds:\n"
              << genre::ClassReport(cv.pooled) << "\n"
              << genre::ConfusionTable(cv.pooled);
  }
  if (!out_dir.empty()) {
    if (!genre::WriteCv(out_dir, cv, data, card.classes, j, std::to_string(k) + "-fold CV, " + card.arch.kind))
      std::cerr << "genre-train: note: confusion.svg not drawn (gnuplot not found)\n";
  }
  return data.dataset.skipped.empty() && data.examples.skipped.empty() ? kExitOk : kExitSkipped;
}

int SearchCommand(ModelArgs& a, const std::vector<double>& lrs, const std::vector<int>& batches,
                  const std::vector<double>& dropouts, const std::string& out_dir, const std::string& command) {
  // every grid point's options, before any data is read
  for (double lr : lrs)
    for (int batch : batches)
      for (double dropout : dropouts) {
        genre::TrainOptions o = a.train;
        o.lr = lr;
        o.batch = batch;
        o.Validate();
        genre::ArchOptions arch = genre::DefaultArch(a.arch);
        arch.dropout = dropout;
        arch.Validate();
      }
  CvSetup setup;
  PrepareCv(a, out_dir, 3, setup);
  const auto& [card, options, data, k, fixed] = setup;
  struct Entry {
    double lr, dropout;
    int batch;
    genre::CvOutcome cv;
  };
  std::vector<Entry> results;
  const std::size_t total = lrs.size() * batches.size() * dropouts.size();
  for (double lr : lrs)
    for (int batch : batches)
      for (double dropout : dropouts) {
        genre::ModelCard c = card;
        c.arch.dropout = dropout;
        genre::TrainOptions o = options;
        o.lr = lr;
        o.batch = batch;
        const genre::CvOutcome cv =
            genre::CrossValidate(c, data, k, a.data.split.valid, a.data.split.seed, o, {}, fixed);
        results.push_back({lr, dropout, batch, cv});
        char buf[200];
        std::snprintf(buf, sizeof buf,
                      "[%zu/%zu] lr %.1e batch %d dropout %.2f: macro-F1 %.4f ± %.4f, track accuracy %.4f ± %.4f",
                      results.size(), total, lr, batch, dropout, cv.macro_f1_mean, cv.macro_f1_std, cv.accuracy_mean,
                      cv.accuracy_std);
        if (a.log_format == "json")
          std::cout << nlohmann::json{{"event", "search"},
                                      {"lr", lr},
                                      {"batch", batch},
                                      {"dropout", dropout},
                                      {"cv", genre::ToJson(cv)}}
                           .dump()
                    << std::endl;
        else
          std::cout << buf << std::endl;
      }
  std::stable_sort(results.begin(), results.end(),
                   [](const Entry& x, const Entry& y) { return x.cv.macro_f1_mean > y.cv.macro_f1_mean; });
  nlohmann::json ranked = nlohmann::json::array();
  std::cout << "\nranked by " << k
            << "-fold grouped CV macro-F1:\nrank        lr  batch  dropout   macro-F1          track accuracy\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Entry& e = results[i];
    char buf[200];
    std::snprintf(buf, sizeof buf, "%4zu  %8.1e  %5d  %7.2f   %.4f ± %.4f   %.4f ± %.4f\n", i + 1, e.lr, e.batch,
                  e.dropout, e.cv.macro_f1_mean, e.cv.macro_f1_std, e.cv.accuracy_mean, e.cv.accuracy_std);
    std::cout << buf;
    ranked.push_back(
        {{"rank", i + 1}, {"lr", e.lr}, {"batch", e.batch}, {"dropout", e.dropout}, {"cv", genre::ToJson(e.cv)}});
  }
  if (!out_dir.empty()) {
    genre::WriteTextFile((fs::path(out_dir) / "search.json").string(),
                         nlohmann::json{{"command", command}, {"folds", k}, {"ranked", ranked}}.dump(2));
  }
  return kExitOk;
}

}  // namespace

void AddModelCommands(CLI::App* app, Action& action, const std::string& command) {
  struct State {
    ModelArgs train_args, cv_args, search_args;
    DatasetArgs eval_args;
    std::string out, run_dir, model, split = "all", eval_out, cv_out, search_out;
    bool resume = false;
    int stop_after = 0;
    double group_timeout = 300;
    std::vector<double> lrs{1e-3, 3e-4}, dropouts{0.3, 0.5};
    std::vector<int> batches{32};
  };
  auto s = std::make_shared<State>();

  CLI::App* train = app->add_subcommand(kModelCommands[0].name, kModelCommands[0].help);
  s->train_args.AddTo(train);
  train->add_option("-o,--out", s->out, "Model file to write")->required();
  train->add_option("--run-dir", s->run_dir, "Checkpoints, split, history, metrics and plots (default: OUT.run)");
  train->add_flag("--resume", s->resume, "Continue a stopped or killed run from its last checkpoint");
  train->add_option("--stop-after", s->stop_after, "Stop after N epochs of this run, as if killed (for tests)")
      ->group("");
  train
      ->add_option("--group-timeout", s->group_timeout,
                   "Data-parallel runs (genre-train launch): seconds to wait for the other workers to join, and for "
                   "any of them in a step, before the job ends with exit code 6")
      ->capture_default_str();
  train->callback([s, &action, command] {
    action = [s, command] {
      return TrainCommand(s->train_args, s->out, s->run_dir, s->resume, s->stop_after, s->group_timeout, command);
    };
  });

  CLI::App* eval = app->add_subcommand(kModelCommands[1].name, kModelCommands[1].help);
  eval->add_option("model", s->model, "Model file")->required();
  s->eval_args.AddTo(eval, false);
  eval->add_option("--cache", s->eval_args.cache, "Feature cache for log-mel inputs");
  eval->add_option("--split", s->split, "all | train | valid | test (needs a manifest with a split column)")
      ->capture_default_str();
  eval->add_option("--out-dir", s->eval_out, "Write metrics.json, confusion.{txt,csv,svg}, report.txt here");
  eval->callback([s, &action] { action = [s] { return EvalCommand(s->eval_args, s->model, s->split, s->eval_out); }; });

  CLI::App* cv = app->add_subcommand(kModelCommands[2].name, kModelCommands[2].help);
  s->cv_args.AddTo(cv);
  cv->add_option("--out-dir", s->cv_out,
                 "Write cv.json, the pooled confusion matrix and predictions.csv (every held-out track) here");
  cv->add_option("--folds-from", s->cv_args.folds_from,
                 "Folds from a manifest's fold column (genre-train data split --folds K) or split column "
                 "(train/valid/test = 3 folds), matched by file stem; unlisted tracks are left out");
  cv->callback([s, &action, command] { action = [s, command] { return CvCommand(s->cv_args, s->cv_out, command); }; });

  CLI::App* search = app->add_subcommand(kModelCommands[3].name, kModelCommands[3].help);
  s->search_args.AddTo(search);
  search->add_option("--grid-lr", s->lrs, "Learning rates")->delimiter(',')->capture_default_str();
  search->add_option("--grid-batch", s->batches, "Batch sizes")->delimiter(',')->capture_default_str();
  search->add_option("--grid-dropout", s->dropouts, "Dropouts")->delimiter(',')->capture_default_str();
  search->add_option("--out-dir", s->search_out, "Write search.json here");
  search->add_option("--folds-from", s->search_args.folds_from, "Folds from a manifest (as cv --folds-from)");
  search->callback([s, &action, command] {
    action = [s, command] {
      return SearchCommand(s->search_args, s->lrs, s->batches, s->dropouts, s->search_out, command);
    };
  });
}

}  // namespace genre_train
