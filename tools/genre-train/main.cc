// genre-train: datasets in, models out.
//
//   genre-train data inspect FILE.h5...
//   genre-train data summary SOURCE... [--labels F.cls[.gz]]... [--split-lists DIR] [--folds K]
//   genre-train data split   SOURCE... -o split.csv [--folds K]
//   genre-train data cache   SOURCE... --cache feats.h5 [-j N]
//   genre-train data to-msd  SOURCE... OUTDIR [-j N]
//   genre-train train  SOURCE... -o model.gmdl [--arch cnn2d|cnn1d|mlp] [--resume] ...
//   genre-train eval   MODEL SOURCE...
//   genre-train cv     SOURCE... [--folds 5]
//   genre-train search SOURCE... [--grid-lr 1e-3,3e-4] [--grid-batch 32,64] [--grid-dropout 0.3,0.5]
//   genre-train combine RUN/predictions.csv... [--out-dir DIR]
//   genre-train calibrate RUN/predictions.csv... [--out-dir DIR]
//   genre-train ensemble A.gmdl B.gmdl... -o ensemble.gmdl [--cv DIR/cv.json]
//
// SOURCE: a genre folder tree (ROOT/<genre>/*.flac), a CSV manifest
// (path,label[,group][,split]), an MSD .h5 file or a folder of them.
#include <unistd.h>

#include <cstring>

#include "../cli_common.h"
#include "common.h"

namespace {

namespace fs = std::filesystem;

// genre-train-model beside this executable (build tree) or in libexec/genre (installed).
std::string FindModelTool(std::string& looked) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (const fs::path& p : {exe.parent_path() / "genre-train-model",
                            exe.parent_path() / ".." / "libexec" / "genre" / "genre-train-model"}) {
    if (!looked.empty()) looked += ", ";
    looked += p.lexically_normal().string();
    if (::access(p.c_str(), X_OK) == 0) return p.lexically_normal().string();
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace genre_train;
  for (const ModelCommand& c : kModelCommands) {
    if (argc < 2 || std::strcmp(argv[1], c.name) != 0) continue;
    std::string looked;
    const std::string tool = FindModelTool(looked);
    if (!tool.empty()) ::execv(tool.c_str(), argv);
    std::cerr << "genre-train: cannot run the model tool genre-train-model (looked at " << looked << ")\n";
    return kExitModel;
  }
  CLI::App app{"Train and evaluate genre models; prepare datasets.", "genre-train"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.footer(kFooter);
  Action action;
  CLI::App* data = app.add_subcommand("data", "Inspect, summarise, split, cache and convert datasets");
  AddDataCommands(data, action);
  std::string command = "genre-train";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  AddEnsembleCommands(&app, action, command);
  for (const ModelCommand& c : kModelCommands) app.add_subcommand(c.name, c.help)->allow_extras();  // listed in --help
  if (const int status = genre_cli::Parse(app, argc, argv, "genre-train", kExitUsage); status >= 0) return status;
  return genre_cli::Guarded("genre-train", [&] { return action ? action() : kExitUsage; });
}
