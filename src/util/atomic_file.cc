#include "genre/util/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "genre/error.h"

namespace genre {

std::string TempPathFor(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

void CommitTemp(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw OutputError(path + ": cannot rename temporary file into place: " + std::strerror(err));
  }
}

void WriteAtomically(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  const std::string tmp = TempPathFor(path);
  try {
    write(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  CommitTemp(tmp, path);
}

void MakeDirectories(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw OutputError(path + ": cannot create folder: " + ec.message());
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec) {
      std::string bytes(static_cast<std::size_t>(size), '\0');
      in.read(bytes.data(), static_cast<std::streamsize>(size));
      bytes.resize(static_cast<std::size_t>(in.gcount()));  // shorter if it shrank meanwhile
      if (in.bad()) throw IoError(path + ": read error");
      return bytes;
    }
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read error");
  return ss.str();
}

}  // namespace genre
