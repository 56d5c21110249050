// genre-train import-keras | attach | finetune: the pretrained MSD convnet as a backbone;
// convert: a model file re-saved in this build's format.
//
//   genre-train import-keras model_best.hdf5 -o backbone.gmdl [--tags tags.txt]
//   genre-train attach backbone.gmdl head.gmdl -o model.gmdl
//   genre-train finetune model.gmdl AUDIO... -o tuned.gmdl [--blocks 2 --lr 1e-4 ...]
//   genre-train convert old.gmdl new.gmdl
#include <nlohmann/json.hpp>

#include <fstream>

#include "common.h"
#include "genre/model/keras.h"
#include "genre/model/model.h"
#include "genre/train/calibration.h"
#include "genre/train/experiment.h"
#include "genre/train/finetune.h"
#include "genre/train/metrics.h"
#include "genre/train/record.h"
#include "genre/util/parallel.h"

namespace genre_train {

namespace {

std::vector<std::string> ReadTags(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw genre::IoError(path + ": cannot open the tag list");
  std::vector<std::string> tags;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) tags.push_back(line);
  }
  return tags;
}

// What a card says of the weights inside: where they come from and on what terms.
nlohmann::json Provenance(const std::string& file) {
  return {
      {"source_repository", "keunwoochoi/transfer_learning_music"},
      {"source_file", "keras2_model/model_best.hdf5"},
      {"imported_from", fs::path(file).filename().string()},
      {"paper",
       "K. Choi, G. Fazekas, M. Sandler, K. Cho, \"Transfer learning for music classification and regression "
       "tasks\", ISMIR 2017"},
      {"trained_on", "Million Song Dataset, ~244k songs, the 50 most frequent Last.fm tags"},
      {"license",
       "The source repository carries no license file; its README offers the extractor \"for your own "
       "music/audio-related work\"; the same author's sibling repository of this network family "
       "(keunwoochoi/music-auto_tagging-keras) is MIT. Cite the paper above."},
  };
}

int ImportKeras(const std::string& in, const std::string& out, std::string tags_path, const std::string& command) {
  genre::Model model = [&] {
    if (tags_path.empty()) tags_path = (fs::path(in).parent_path() / "tags.txt").string();
    const genre::KerasConvnet keras = genre::ReadKerasConvnet(in);
    genre::ModelCard card;
    card.name = "msd-convnet-choi2017";
    card.classes = ReadTags(tags_path);
    genre::StampCard(card);
    card.training = {{"command", command},
                     {"backbone", Provenance(in)},
                     {"layers", keras.layers},
                     {"front_end",
                      {{"sample_rate", keras.sample_rate},
                       {"stft", "convolution with the file's kernels (periodic Hann, n_dft " +
                                    std::to_string(keras.n_dft) + ", hop " + std::to_string(keras.n_hop) +
                                    "), frame t covering [t hop - n_dft/2, t hop + n_dft/2), zeros outside"},
                       {"mel", "the file's filter bank (" + std::to_string(keras.n_mels) + " bands, fmax " +
                                   std::to_string(static_cast<int>(keras.fmax_hz)) + " Hz)"},
                       {"db", "10 log10(max(mel, 1e-10)) minus the clip's maximum, floored at -80"},
                       {"normalisation", "(x - mean) / (std + 1e-10) over each clip"}}},
                     {"tags_file", fs::path(tags_path).filename().string()}};
    return genre::ImportKeras(keras, std::move(card));
  }();
  model.Save(out);
  std::cout << "imported " << model.parameters() << " parameters, " << model.card().classes.size() << " tags -> " << out
            << " (weights " << model.WeightsHash() << ")\n";
  return kExitOk;
}

int Attach(const std::string& backbone_path, const std::string& head_path, const std::string& out,
           const std::string& name, const std::string& calibration, const std::vector<std::string>& cv_files,
           const std::string& command) {
  const genre::Model backbone = genre::Model::Load(backbone_path);
  const genre::Model head = genre::Model::Load(head_path);
  genre::ModelCard card;
  card.name = !name.empty() ? name : !head.card().name.empty() ? head.card().name : fs::path(out).stem().string();
  genre::StampCard(card);
  card.training = head.card().training;
  card.training["attach"] = {{"command", command},
                             {"backbone", backbone.card().name},
                             {"backbone_weights", backbone.WeightsHash()},
                             {"head_weights", head.WeightsHash()}};
  if (backbone.card().training.contains("backbone")) card.training["backbone"] = backbone.card().training["backbone"];
  for (const std::string& cv_file : cv_files) {
    std::ifstream in(cv_file);
    if (!in) throw genre::IoError(cv_file + ": cannot open");
    try {
      card.training["cv"].push_back(nlohmann::json::parse(in));
    } catch (const nlohmann::json::exception& e) {
      throw genre::FormatError(cv_file + ": cannot read as JSON: " + e.what());
    }
    card.training["cv"].back()["file"] = cv_file;
  }
  genre::Model model = genre::AttachHead(backbone, head, std::move(card));
  if (!calibration.empty()) {
    const genre::CalibrationFile c = genre::ReadCalibrationFile(calibration);
    model.card().temperature = c.temperature;
    model.card().calibration = c.record;
  }
  model.Save(out);
  std::cout << "attached " << head_path << " to " << backbone_path << " -> " << out << " ("
            << model.card().classes.size() << " genres, " << model.parameters() << " parameters)\n";
  return kExitOk;
}

struct FineTuneArgs {
  std::string model, out;
  DatasetArgs data;
  genre::FineTuneOptions options;
  int variants = 0;
  genre::AudioAugmentOptions augment;
  std::string name;

  void Validate() const {
    options.Validate();
    if (variants < 0 || variants > 64)
      throw genre::OptionError("--augment-variants must be in [0, 64], got " + std::to_string(variants));
    augment.Validate();
  }
};

// The data's genres as indices into the model's classes (the model's list is kept).
void ToModelClasses(std::vector<genre::Example>& examples, const std::vector<std::string>& data_classes,
                    const std::vector<std::string>& model_classes) {
  for (genre::Example& e : examples) {
    const std::string& genre = data_classes[static_cast<std::size_t>(e.label)];
    const auto it = std::find(model_classes.begin(), model_classes.end(), genre);
    if (it == model_classes.end())
      throw genre::InputError(e.path + ": genre '" + genre + "' is not one of the model's");
    e.label = static_cast<int>(it - model_classes.begin());
  }
}

int FineTuneCommand(FineTuneArgs& a, const std::string& command) {
  genre::Model model = [&] {
    try {
      a.data.Resolve();
      a.Validate();
    } catch (const genre::Error& e) {
      throw genre::OptionError(e.what());
    }
    return genre::Model::Load(a.model);
  }();
  const int trained = a.options.blocks;
  genre::SplitExamples split;
  std::size_t skipped = 0;
  try {
    a.options.threads = genre::SetTorchThreads(a.data.threads);  // the prefixes' too
    genre::ExampleOptions eo;
    eo.cache = a.data.cache;
    eo.threads = a.data.threads;
    eo.progress = genre::Progress::StderrIsTerminal();
    eo.from_audio_id = genre::FineTunePrefixId(model, trained, a.variants, a.augment);
    eo.from_audio = [&model, trained, &a](const genre::Waveform& w) {
      return genre::FineTunePrefix(model, trained, w, a.variants, a.augment);
    };
    genre::ModelCard data_card = model.card();
    genre::PreparedData data = genre::PrepareData(a.data.dataset, a.data.split, data_card, eo);
    PrintSkipped(data.dataset);
    for (const genre::Skipped& s : data.examples.skipped) std::cerr << "genre-train: skipped " << s.Line() << "\n";
    skipped = data.dataset.skipped.size() + data.examples.skipped.size();
    split = genre::TakeSplits(data);
    for (auto* set : {&split.train, &split.valid, &split.test})
      ToModelClasses(*set, data_card.classes, model.card().classes);
  } catch (const genre::OptionError&) {
    throw;
  } catch (const genre::Error& e) {
    return ErrorExit(e);
  }
  std::cout << "fine-tuning the last " << trained << " blocks and the head of " << a.model << " on "
            << split.train.size() << " songs (" << split.valid.size() << " validation, " << split.test.size()
            << " test), lr " << a.options.lr << ", " << a.variants << " augmented variants\n";
  const std::string start_weights = model.WeightsHash();
  genre::FineTuneResult result;
  try {
    result = genre::FineTune(model, split.train, split.valid, a.options, [](const genre::FineTuneEpoch& e) {
      std::cout << "epoch " << e.epoch << ": train loss " << Fixed(e.train_loss, 4) << ", valid loss "
                << Fixed(e.valid_loss, 4) << ", valid accuracy " << Fixed(e.valid_accuracy, 4) << " ("
                << Fixed(e.seconds, 1) << " s)\n";
    });
  } catch (const genre::OptionError&) {
    throw;
  } catch (const genre::Error& e) {
    return ErrorExit(e);
  }
  nlohmann::json record = {
      {"command", command},
      {"start_model", model.card().name},
      {"start_weights", start_weights},
      {"blocks", trained},
      {"lr", a.options.lr},
      {"weight_decay", a.options.weight_decay},
      {"batch", a.options.batch},
      {"epochs", a.options.epochs},
      {"patience", a.options.early_stopping.patience},
      {"augment_variants", a.variants},
      {"songs", {{"train", split.train.size()}, {"valid", split.valid.size()}, {"test", split.test.size()}}},
      {"best_epoch", result.best_epoch},
      {"stop_reason", result.stop_reason}};
  for (const genre::FineTuneEpoch& e : result.history)
    record["history"].push_back({{"epoch", e.epoch},
                                 {"train_loss", e.train_loss},
                                 {"valid_loss", e.valid_loss},
                                 {"valid_accuracy", e.valid_accuracy}});
  if (!split.test.empty()) {
    const auto probs = genre::PredictFromPrefixes(model, trained, split.test);
    std::vector<int> truth, predicted;
    for (std::size_t i = 0; i < probs.size(); ++i) {
      truth.push_back(split.test[i].label);
      predicted.push_back(static_cast<int>(std::max_element(probs[i].begin(), probs[i].end()) - probs[i].begin()));
    }
    const genre::Metrics m = genre::ComputeMetrics(truth, predicted, model.card().classes);
    record["test"] = genre::ToJson(m);
    std::cout << "test (" << split.test.size() << " songs): accuracy " << Fixed(m.accuracy, 4) << ", macro-F1 "
              << Fixed(m.macro_f1, 4) << "\n";
  }
  genre::ModelCard& card = model.card();
  if (!a.name.empty()) card.name = a.name;
  genre::StampCard(card);
  card.training["fine_tune"] = record;
  card.training.erase("cv");  // the start model's CV figures do not describe this one
  model.Save(a.out);
  std::cout << "best epoch " << result.best_epoch << " (" << result.stop_reason << ") -> " << a.out << " (weights "
            << model.WeightsHash() << ")\n";
  return skipped > 0 ? kExitSkipped : kExitOk;
}

// A model file of any version this build reads, re-saved in this build's (version 1's
// libtorch archive becomes the tensor table; an ensemble's members are converted too).
// Every weight stays as it was (the weights hash is checked on the new file); the card
// records the conversion under training.converted when the version changed.
int Convert(const std::string& in, const std::string& out, const std::string& command) {
  const int from = genre::ReadModelCard(in).format_version;
  genre::Model model = genre::Model::Load(in);
  nlohmann::json& training = model.card().training;
  if (from != genre::kModelFormatVersion && training.is_object())
    training["converted"] = {{"from_format_version", from},
                             {"command", command},
                             {"git_commit", genre::BuildCommit()},
                             {"date", genre::UtcTimestamp()}};
  model.Save(out);
  const std::string hash = model.WeightsHash();
  if (genre::Model::Load(out).WeightsHash() != hash)
    throw genre::ModelError(out + ": the converted weights differ from those of " + in);
  std::cout << "converted " << in << " (format_version " << from << ") -> " << out << " (format_version "
            << genre::kModelFormatVersion << ", weights " << hash << ")\n";
  return kExitOk;
}

}  // namespace

void AddBackboneCommands(CLI::App* app, Action& action, const std::string& command) {
  struct State {
    std::string in, out, tags, backbone, head, calibration, name;
    std::vector<std::string> cv;
  };
  auto s = std::make_shared<State>();
  CLI::App* imp = app->add_subcommand(kModelCommands[4].name, kModelCommands[4].help);
  imp->add_option("keras_file", s->in, "Keras 2 HDF5 model (Choi et al.'s MSD convnet)")->required();
  imp->add_option("-o,--out", s->out, "Model file to write")->required();
  imp->add_option("--tags", s->tags, "Tag names, one per line, in output order (default: tags.txt beside the file)");
  imp->callback(
      [s, &action, command] { action = [s, command] { return ImportKeras(s->in, s->out, s->tags, command); }; });
  CLI::App* att = app->add_subcommand(kModelCommands[5].name, kModelCommands[5].help);
  att->add_option("backbone", s->backbone, "The imported backbone (genre-train import-keras)")->required();
  att->add_option("head", s->head, "An mlp trained on msd-convnet features (genre-train train --input msd-convnet)")
      ->required();
  att->add_option("-o,--out", s->out, "Model file to write (reads audio: genre-guess serves it)")->required();
  att->add_option("--calibration", s->calibration,
                  "A calibration.json of genre-train calibrate: its temperature applies to the song probabilities");
  att->add_option("--name", s->name, "Model name (default: the head's)");
  att->add_option("--cv", s->cv, "A cv.json of genre-train combine to record in the card; repeatable");
  att->callback([s, &action, command] {
    action = [s, command] { return Attach(s->backbone, s->head, s->out, s->name, s->calibration, s->cv, command); };
  });
  auto f = std::make_shared<FineTuneArgs>();
  CLI::App* ft = app->add_subcommand(kModelCommands[6].name, kModelCommands[6].help);
  ft->add_option("model", f->model, "A model on the MSD convnet with a genre head (genre-train attach)")->required();
  f->data.AddTo(ft, /*with_split=*/true);
  ft->add_option("-o,--out", f->out, "Model file to write")->required();
  ft->add_option("--blocks", f->options.blocks, "Last blocks to train (the others and the front end stay)")
      ->capture_default_str();
  ft->add_option("--epochs", f->options.epochs, "Most epochs")->capture_default_str();
  ft->add_option("--batch", f->options.batch, "Windows a step")->capture_default_str();
  ft->add_option("--lr", f->options.lr, "Learning rate (Adam)")->capture_default_str();
  ft->add_option("--weight-decay", f->options.weight_decay, "L2 weight decay")->capture_default_str();
  ft->add_option("--patience", f->options.early_stopping.patience, "Epochs without a better validation loss")
      ->capture_default_str();
  ft->add_option("--train-seed", f->options.seed, "Seed of order and variant draws")->capture_default_str();
  ft->add_flag(
      "--no-class-weights", [f](std::int64_t) { f->options.class_weights = false; },
      "Plain cross-entropy (default: balanced class weights)");
  ft->add_option(
        "--augment-variants", f->variants,
        "Augmented variants of each song (as train --augment-variants); one window of one variant a song an epoch")
      ->capture_default_str();
  ft->add_option("--cache", f->data.cache, "Feature cache (HDF5) for the songs' prefixes");
  ft->add_option("--name", f->name, "Model name (default: the start model's)");
  ft->callback([f, &action, command] { action = [f, command] { return FineTuneCommand(*f, command); }; });
  CLI::App* conv = app->add_subcommand(kModelCommands[7].name, kModelCommands[7].help);
  conv->add_option("model", s->in, "A model file (any format_version this build reads)")->required();
  conv->add_option("out", s->out, "Model file to write (may be the same file: it is replaced atomically)")->required();
  conv->callback([s, &action, command] { action = [s, command] { return Convert(s->in, s->out, command); }; });
}

}  // namespace genre_train
