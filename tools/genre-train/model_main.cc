// genre-train-model: the model commands of genre-train (train, eval, cv, search,
// import-keras, attach, finetune, convert),
// run by genre-train through exec so that only they load libtorch. Invoked
// directly it behaves the same; its messages say "genre-train".
#include "../cli_common.h"
#include "common.h"

int main(int argc, char** argv) {
  using namespace genre_train;
  CLI::App app{"Train and evaluate genre models.", "genre-train"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.footer(kFooter);
  Action action;
  std::string command = "genre-train";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  AddModelCommands(&app, action, command);
  AddBackboneCommands(&app, action, command);
  if (const int status = genre_cli::Parse(app, argc, argv, "genre-train", kExitUsage); status >= 0) return status;
  return genre_cli::Guarded("genre-train", [&] { return action ? action() : kExitUsage; });
}
