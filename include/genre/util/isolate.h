// Work that a C library may crash on or never finish, run in a child process.
//
// libhdf5 ends the process with SIGSEGV, or loops forever, on some damaged files
// (fuzz/third-party/README.md); no check of ours can tell such a file beforehand. Reading
// them in a forked child turns the crash or the hang into a FormatError naming the file,
// and the tool goes on with the next one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace genre {

struct IsolateOptions {
  double timeout_s = 60;  // most seconds one item may take (> 0); then the child is killed
  void Validate() const;  // throws OptionError
};

// Runs item(0) ... item(n - 1) in a forked child process and hands each result to `done`
// in the caller's process, in order, as it arrives: the bytes item(i) returned, or the
// error it threw (error != nullptr; a genre::Error keeps its type, see KindOf). When the
// child dies on item i (a signal, or any exit before its answer) or item i runs past
// options.timeout_s (the child is killed), done(i) gets FormatError "NAME: READER crashed
// reading it (Segmentation fault)" or "NAME: READER did not finish reading it within 60 s"
// with NAME = name(i), and a new child goes on with item i + 1.
//
// `fork_lock`, when given, is held while forking: the mutex that every thread of the
// caller holds around the library that item() uses, so that no other thread is inside it
// (holding its locks) at the fork. item() runs in the child and must not take it.
// item() must not write to stdout or stderr (the child's buffered output is dropped).
void RunIsolated(
    std::size_t n, const std::function<std::string(std::size_t)>& item,
    const std::function<void(std::size_t, const std::string& bytes, const std::exception_ptr& error)>& done,
    const std::function<std::string(std::size_t)>& name, const std::string& reader, const IsolateOptions& options = {},
    std::mutex* fork_lock = nullptr);

// One reader process that answers many requests, for calls that come one by one
// (genre-guess on MSD files, measured: 31 ms a file with a fork per file in a process with
// libtorch loaded, 3.7 ms through one running reader, HDF5 and the network included). The
// child starts at the first Call and serves until the ReaderProcess is destroyed; when it
// dies or hangs on a request, that Call throws FormatError "NAME: READER crashed reading it
// (...)" / "... did not finish reading it within 60 s", and the next Call starts a new
// child. `serve` runs in the child (same rules as RunIsolated's item()); errors it throws
// reach the caller with their type. Calls are serialised.
class ReaderProcess {
 public:
  using Serve = std::function<std::string(const std::string& request)>;
  ReaderProcess(Serve serve, std::string reader, std::mutex* fork_lock = nullptr);
  ~ReaderProcess();  // ends the child
  ReaderProcess(const ReaderProcess&) = delete;
  ReaderProcess& operator=(const ReaderProcess&) = delete;

  std::string Call(const std::string& request, const std::string& name, const IsolateOptions& options = {});
  int pid() const;  // the child's process id, 0 when none runs

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What item() returns and done() reads: values in the native layout (the same binary writes
// and reads them), each length first. Unpack checks every length against what is left and
// throws FormatError on a short answer.
class Pack {
 public:
  template <class T>
  void Pod(const T& v) {
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void String(const std::string& v) {
    Pod<std::uint64_t>(v.size());
    bytes_ += v;
  }
  template <class T>
  void Vector(const std::vector<T>& v) {
    Pod<std::uint64_t>(v.size());
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string Take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

class Unpack {
 public:
  explicit Unpack(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T Pod() {
    T v;
    std::memcpy(&v, Take(sizeof v), sizeof v);
    return v;
  }
  std::string String() {
    const auto n = Pod<std::uint64_t>();
    const char* p = Take(n);
    return std::string(p, n);
  }
  template <class T>
  std::vector<T> Vector() {
    const auto n = Pod<std::uint64_t>();
    const char* p = Take(n, sizeof(T));
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), p, n * sizeof(T));
    return v;
  }

 private:
  const char* Take(std::uint64_t count, std::size_t size = 1);  // throws FormatError
  const std::string& bytes_;
  std::size_t at_ = 0;
};

}  // namespace genre
