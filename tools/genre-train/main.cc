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
//   genre-train search SOURCE... [--lr 1e-3,3e-4] [--batch 32,64] [--dropout 0.3,0.5]
//
// SOURCE: a genre folder tree (ROOT/<genre>/*.flac), a CSV manifest
// (path,label[,group][,split]), an MSD .h5 file or a folder of them.
#include "../cli_common.h"
#include "common.h"

int main(int argc, char** argv) {
  CLI::App app{"Train and evaluate genre models; prepare datasets.", "genre-train"};
  app.set_version_flag("--version", genre_train::kVersion);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 done; 1 done, some files skipped (listed on stderr); 2 usage error or\n"
      "            invalid option; 3 model or checkpoint problem (unreadable, truncated, another\n"
      "            class list or architecture); 4 output could not be written; 5 no usable data.");
  genre_train::Action action;
  CLI::App* data = app.add_subcommand("data", "Inspect, summarise, split, cache and convert datasets");
  genre_train::AddDataCommands(data, action);
  std::string command = "genre-train";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  genre_train::AddModelCommands(&app, action, command);
  if (const int status = genre_cli::Parse(app, argc, argv, "genre-train", genre_train::kExitUsage); status >= 0)
    return status;
  return action ? action() : genre_train::kExitUsage;
}
