// What every genre tool does with its command line: CLI11 parse, help and version
// to stdout with exit 0, a parse error as one line on stderr with the usage exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "genre/error.h"

namespace genre_cli {

// Runs a tool's body; what it lets out ends the tool with one line on stderr: a
// genre::Error with the exit code of its type (genre::ExitCodeFor), anything else
// (out of memory, a library's own exception) with exit 5. Never a signal.
inline int Guarded(const std::string& tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const genre::Error& e) {
    std::cerr << tool << ": " << e.what() << "\n";
    return genre::ExitCodeFor(e);
  } catch (const std::exception& e) {
    std::cerr << tool << ": " << e.what() << "\n";
    return genre::kExitNoData;
  }
}

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

// A bundled model file (models/NAME in the source tree) beside the running tool:
// <exe dir>/share/genre/models/NAME (a build folder, wherever it is: the build lays
// it out there) or <exe dir>/../share/genre/models/NAME (installed). "" when absent;
// `looked` gets the places tried.
inline std::string FindBundledModel(const std::string& name, std::vector<std::string>& looked) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (const fs::path& dir : {exe.parent_path(), exe.parent_path() / ".."}) {
    const fs::path candidate = dir / "share" / "genre" / "models" / name;
    looked.push_back(candidate.lexically_normal().string());
    if (fs::is_regular_file(candidate)) return candidate.lexically_normal().string();
  }
  return "";
}

// The model a tool classifies with: `given` (--model), then $GENRE_MODEL, then the bundled
// default.gmdl (FindBundledModel; `looked` gets the places tried). "" when none.
inline std::string FindModel(const std::string& given, std::vector<std::string>& looked) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("GENRE_MODEL"); env && *env) return env;
  return FindBundledModel("default.gmdl", looked);
}

// "a, b, c": the places FindBundledModel looked, for a message.
inline std::string Joined(const std::vector<std::string>& places) {
  std::string out;
  for (const std::string& p : places) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace genre_cli
