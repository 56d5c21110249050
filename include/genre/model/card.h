// The model file: one versioned artifact holding a JSON card and the weights.
//
//   bytes 0-7    "GENREMDL"
//   uint32 LE    format_version (2; the card's format_version is the same)
//   uint64 LE    card size, then the card (UTF-8 JSON)
//   uint64 LE    weights size, then the weights: a tensor table (genre/model/tensors.h)
//   uint64 LE    content hash of card + weights (detects truncation and corruption)
//
// Version 1 held the weights as a libtorch archive: such files still load where libtorch
// is linked (Model::Load converts them), and `genre-train convert OLD NEW` re-saves them.
// Card and weights are readable without libtorch.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "genre/features/options.h"
#include "genre/features/options_json.h"

namespace genre {

inline constexpr int kModelFormatVersion = 2;         // what is written
inline constexpr int kOldestModelFormatVersion = 1;   // the oldest read (1: libtorch-archive weights)
inline constexpr const char* kEnsemble = "ensemble";  // arch and input kind of an ensemble

// What the network reads, and how it is cut into windows.
struct InputSpec {
  // "logmel" [n_mels, frames] | "segments" [24, segments] | "vector" [48, 1] | "gtzan" [57, 1]
  // | "waveform" [1, samples] (the audio itself, at front_end.sample_rate; windows of
  //   `window` samples, a last part under `min_window` samples joins the window before it)
  // | "msd-convnet" [160, 1] (features of the MSD convnet: feature-table rows, or audio
  //   through a backbone) | "msd-convnet+gtzan" [217, 1] (both: joined feature-table rows)
  // | "waveform+gtzan" [1, 57 + samples] (a head on the MSD convnet's features and the
  //   GTZAN vector: audio decoded at 22050 Hz and cut in GTZAN clips as "gtzan" is; each
  //   clip's window holds its GTZAN vector, then the clip at front_end.sample_rate,
  //   zero-padded to min_window: FusedClipInput)
  std::string kind = "logmel";
  FrontEndOptions front_end;  // the front end that makes the input (logmel, segments)
  int window = 130;           // columns per window (130 frames = 3.0 s at 22050 / 512)
  int hop = 65;               // columns between window starts at inference
  double segment_s = 0.25;    // segments: grid step (see MsdAnalysisOptions)
  int rows = 128;             // rows of one input column (n_mels, 24, D)
  int min_window = 0;         // waveform: shortest window analysed (shorter ones are zero-padded to it)
  int DecodeRate() const;     // the rate audio is decoded at: front_end's, 22050 Hz for waveform+gtzan
  // Throws OptionError naming the field, its value and the allowed range (the kind, rows,
  // window, hop, segment_s, min_window, the front end).
  void Validate() const;
};

struct ArchOptions {
  std::string kind = "cnn2d";  // cnn2d | cnn1d | mlp | msd-convnet
  std::vector<int> channels;   // conv channels per block (cnn2d 4 blocks, cnn1d 3 layers)
  int kernel = 3;              // conv kernel (cnn1d temporal kernel)
  std::vector<int> hidden;     // dense units before the output layer
  double dropout = 0.3;
  // msd-convnet: max-pool (frequency, time) after each block, and what the output layer
  // reads: "tags" (global max of the last block, sigmoid outputs: the imported tagger) or
  // "features" (the 160 block averages, softmax over genres: a head on the backbone) or
  // "features+gtzan" (the 160 averages and the GTZAN vector: input waveform+gtzan).
  std::vector<int> pool;
  std::string head = "features";
  bool MultiLabel() const { return kind == "msd-convnet" && head == "tags"; }
  // Throws OptionError naming the field, its value and the allowed range.
  void Validate() const;
};
// Throws OptionError when the network cannot read the input: another kind, or windows
// too small for its pools (cnn2d halves rows and columns per block, cnn1d columns).
void ValidateFit(const ArchOptions& arch, const InputSpec& input);
// The defaults of an architecture: cnn2d 16-32-64-128 conv + 128 dense;
// cnn1d 64-64-64 (kernel 5) + 64 dense; mlp 256-128; msd-convnet: Choi et al.'s five
// 32-channel blocks, a linear head. Throws OptionError for other kinds.
ArchOptions DefaultArch(const std::string& kind);
// Input kind an architecture reads by default: cnn2d logmel, cnn1d segments, mlp vector,
// msd-convnet waveform.
std::string InputKindFor(const std::string& arch);
// Whether an architecture can read an input kind: its default, and mlp also gtzan and msd-convnet.
bool ArchReads(const std::string& arch, const std::string& input);

struct ModelCard {
  int format_version = kModelFormatVersion;
  std::string name;
  std::vector<std::string> classes;
  InputSpec input;
  ArchOptions arch;
  std::vector<float> mean, stdev;                      // per input row standardisation: (x - mean) / stdev
  nlohmann::json training = nlohmann::json::object();  // data, split, options, metrics, history
  // Calibration: song probabilities are softmax(log(p) / temperature) of the mean window
  // probabilities p (1 = as the network gives them). Card: calibration.temperature (+ how it was fitted).
  double temperature = 1.0;
  nlohmann::json calibration = nlohmann::json::object();  // how the temperature was fitted (ECE before / after)
  std::string git_commit, created;
  bool IsEnsemble() const;
  // Everything above, and the standardisation (finite, stdev > 0); throws ModelError naming `where`.
  void Validate(const std::string& where) const;
};

// Samples of the shortest window an msd-convnet card's network can take (its pools
// need that many frames): `tags` for the tag output, else for the features.
int MinWindowSamples(const ModelCard& card, bool tags);

nlohmann::json ToJson(const ModelCard& card);
ModelCard CardFromJson(const nlohmann::json& j, const std::string& where);  // throws FormatError

// Container I/O. ModelFileBytes is the file's bytes (format_version kModelFormatVersion
// whatever the card says; the caller's weights are a tensor table or, for an ensemble,
// its members). WriteModelFile writes them atomically (temp + rename; OutputError).
// ReadModelFile throws ModelError (missing, unreadable, not a model file, unknown
// format_version, truncated, corrupt, invalid card), naming the file; the card keeps the
// file's format_version.
std::string ModelFileBytes(const ModelCard& card, const std::string& weights);
void WriteModelFile(const std::string& path, const ModelCard& card, const std::string& weights);
struct ModelFileContents {
  ModelCard card;
  std::string weights;
};
ModelFileContents ReadModelFile(const std::string& path);
ModelFileContents ParseModelFile(const std::string& bytes, const std::string& where);  // the bytes of a file
ModelCard ReadModelCard(const std::string& path);

// An ensemble is a model file too: its card has arch and input kind "ensemble", the
// members' genres (the first member's order), the first member's front end (for
// information only: each member reads the audio its own way) and training.members
// (each member's name, kind, commit and training record but its epoch history);
// in place of weights it holds the member model files whole, each as a uint64 LE
// size and the file's bytes. It classifies a song as the mean of its members'
// song probabilities.
struct EnsembleMember {
  ModelFileContents contents;
  std::string where;  // "FILE (member N)", for messages
};
// The members of an ensemble's contents; throws ModelError (truncated, fewer than
// 2, a nested ensemble, other genres), naming `where`.
std::vector<EnsembleMember> EnsembleMembers(const ModelFileContents& ensemble, const std::string& where);
// Writes an ensemble of the given model files (atomic) and returns its card: the
// name, training (members are added), git_commit and created of `card`, the rest
// made here. Throws ModelError (a member is not a model, members with other genres,
// a nested ensemble), OutputError, OptionError (< 2 members).
ModelCard WriteEnsembleFile(const std::string& path, const std::vector<std::string>& member_paths, ModelCard card);

}  // namespace genre
