// genre-train import-keras | attach: the pretrained MSD convnet as a backbone.
//
//   genre-train import-keras model_best.hdf5 -o backbone.gmdl [--tags tags.txt]
//   genre-train attach backbone.gmdl head.gmdl -o model.gmdl
#include <nlohmann/json.hpp>

#include <fstream>

#include "common.h"
#include "genre/model/keras.h"
#include "genre/model/model.h"
#include "genre/train/calibration.h"

#ifndef GENRE_GIT_COMMIT
#define GENRE_GIT_COMMIT "unknown"
#endif

namespace genre_train {

namespace {

// An output that cannot be written (exit 4), told apart from the input models' problems (exit 3).
struct OutputError : genre::Error {
  using genre::Error::Error;
};

void Save(const genre::Model& model, const std::string& out) {
  try {
    model.Save(out);
  } catch (const genre::Error& e) {
    throw OutputError(e.what());
  }
}

int Run(const std::function<int()>& body) {
  try {
    return body();
  } catch (const OutputError& e) {
    std::cerr << "genre-train: " << e.what() << "\n";
    return kExitOutput;
  } catch (const genre::OptionError& e) {
    std::cerr << "genre-train: " << e.what() << "\n";
    return kExitUsage;
  } catch (const genre::Error& e) {
    std::cerr << "genre-train: " << e.what() << "\n";
    return kExitModel;
  }
}


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
    card.git_commit = GENRE_GIT_COMMIT;
    card.created = Timestamp();
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
  Save(model, out);
  std::cout << "imported " << model.parameters() << " parameters, " << model.card().classes.size() << " tags -> "
            << out << " (weights " << model.WeightsHash() << ")\n";
  return kExitOk;
}

int Attach(const std::string& backbone_path, const std::string& head_path, const std::string& out,
           const std::string& name, const std::string& calibration, const std::vector<std::string>& cv_files,
           const std::string& command) {
  const genre::Model backbone = genre::Model::Load(backbone_path);
  const genre::Model head = genre::Model::Load(head_path);
  genre::ModelCard card;
  card.name = !name.empty() ? name : !head.card().name.empty() ? head.card().name : fs::path(out).stem().string();
  card.git_commit = GENRE_GIT_COMMIT;
  card.created = Timestamp();
  card.training = head.card().training;
  card.training["attach"] = {{"command", command},
                             {"backbone", backbone.card().name},
                             {"backbone_weights", backbone.WeightsHash()},
                             {"head_weights", head.WeightsHash()}};
  if (backbone.card().training.contains("backbone"))
    card.training["backbone"] = backbone.card().training["backbone"];
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
  Save(model, out);
  std::cout << "attached " << head_path << " to " << backbone_path << " -> " << out << " ("
            << model.card().classes.size() << " genres, " << model.parameters() << " parameters)\n";
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
  imp->callback([s, &action, command] {
    action = [s, command] { return Run([&] { return ImportKeras(s->in, s->out, s->tags, command); }); };
  });
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
    action = [s, command] {
      return Run([&] { return Attach(s->backbone, s->head, s->out, s->name, s->calibration, s->cv, command); });
    };
  });
}

}  // namespace genre_train
