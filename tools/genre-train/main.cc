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
//   genre-train launch --nproc N [--nnodes M --node-rank K --master-addr A --master-port P] -- train ...
//
// SOURCE: a genre folder tree (ROOT/<genre>/*.flac), a CSV manifest
// (path,label[,group][,split]), an MSD .h5 file or a folder of them.
#include <unistd.h>

#include <cstring>

#include "../cli_common.h"
#include "common.h"
#include "genre/util/launch.h"

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

// genre-train launch: a machine's workers of a data-parallel `train` (torchrun's way).
void AddLaunchCommand(CLI::App* app, genre_train::Action& action) {
  struct State {
    genre::LaunchOptions options;
    std::vector<std::string> command;
  };
  auto s = std::make_shared<State>();
  CLI::App* launch = app->add_subcommand(
      "launch", "Run `train` data-parallel: N worker processes here (of M machines), as torchrun does");
  launch->add_option("--nproc", s->options.nproc, "Workers on this machine")->capture_default_str();
  launch->add_option("--nnodes", s->options.nnodes, "Machines in the job")->capture_default_str();
  launch->add_option("--node-rank", s->options.node_rank, "This machine, 0 .. nnodes-1 (0 serves the rendezvous)")
      ->capture_default_str();
  launch->add_option("--master-addr", s->options.master_addr, "Machine 0's address")->capture_default_str();
  launch->add_option("--master-port", s->options.master_port,
                     "Machine 0's rendezvous port (default: a free port; needed across machines)");
  launch
      ->add_option("--grace", s->options.grace_s,
                   "Seconds the other workers may take to end after one failed, then SIGTERM")
      ->capture_default_str();
  launch->add_option("command", s->command, "-- train SOURCE... -o MODEL [train options]")->required();
  launch->footer(
      "Every worker runs `genre-train train ...` with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,\n"
      "MASTER_ADDR and MASTER_PORT set; SIGINT/SIGTERM/SIGHUP are forwarded to them. Exit code: 0 when\n"
      "every worker succeeded, else the first failed worker's (6 for one ended by a signal); 128+N\n"
      "after signal N.");
  launch->callback([s, &action] {
    action = [s] {
      if (s->command.empty() || s->command[0] != "train")
        throw genre::OptionError("launch runs `train` only (got '" + (s->command.empty() ? "" : s->command[0]) +
                                 "'): genre-train launch --nproc N -- train SOURCE... -o MODEL");
      std::error_code ec;
      const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
      if (ec) throw genre::IoError("launch: cannot find this program (/proc/self/exe): " + ec.message());
      std::vector<std::string> argv{exe.string()};
      argv.insert(argv.end(), s->command.begin(), s->command.end());
      return genre::LaunchWorkers(s->options, argv, std::cerr);
    };
  });
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
  AddLaunchCommand(&app, action);
  for (const ModelCommand& c : kModelCommands) app.add_subcommand(c.name, c.help)->allow_extras();  // listed in --help
  if (const int status = genre_cli::Parse(app, argc, argv, "genre-train", kExitUsage); status >= 0) return status;
  return genre_cli::Guarded("genre-train", [&] { return action ? action() : kExitUsage; });
}
