// Files written whole or not at all: write to a temporary name beside the target,
// then rename(2) it into place (atomic on one file system). A failed or killed
// writer never leaves a half-written file under the final name. And files read whole.
#pragma once

#include <functional>
#include <string>

namespace genre {

// "<path>.tmp.<pid>": beside the target, so the rename stays on one file system.
std::string TempPathFor(const std::string& path);

// Renames a finished temporary file onto `path`; on failure removes it and
// throws OutputError naming `path`.
void CommitTemp(const std::string& tmp, const std::string& path);

// Calls write(tmp) and commits tmp to `path`; if write throws, tmp is removed and
// the exception propagates.
void WriteAtomically(const std::string& path, const std::function<void(const std::string& tmp)>& write);

// A file's bytes: a regular file in one read into a string of its size, anything else (a
// pipe) streamed. Throws IoError "PATH: cannot open: REASON" or "PATH: read error".
std::string ReadWholeFile(const std::string& path);

// Creates a folder and its parents (no error if it exists); throws OutputError naming it.
void MakeDirectories(const std::string& path);

}  // namespace genre
