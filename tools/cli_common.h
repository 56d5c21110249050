// What every genre tool does with its command line: CLI11 parse, help and version
// to stdout with exit 0, a parse error as one line on stderr with the usage exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

namespace genre_cli {

// Returns -1 when the tool should go on, else the exit code to return.
inline int Parse(CLI::App& app, int argc, char** argv, const std::string& tool, int usage_exit) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << tool << ": " << e.what() << " (see --help)\n";
    return usage_exit;
  }
  return -1;
}

}  // namespace genre_cli
