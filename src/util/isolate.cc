#include "genre/util/isolate.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "genre/error.h"

namespace genre {

void IsolateOptions::Validate() const {
  RequireOption(std::isfinite(timeout_s) && timeout_s > 0 && timeout_s <= 86400, "timeout_s", timeout_s,
                "in (0, 86400] seconds");
}

namespace {

using Clock = std::chrono::steady_clock;

// A frame from the child: a tag ('o' bytes, 'e' a genre::Error as "kind\nmessage", 'x'
// another exception's message), the payload's length, the payload.
constexpr std::uint64_t kMaxFrame = std::uint64_t{1} << 34;

bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool WriteFrame(int fd, char tag, const std::string& payload) {
  char header[9];
  header[0] = tag;
  const std::uint64_t size = payload.size();
  std::memcpy(header + 1, &size, sizeof size);
  return WriteAll(fd, header, sizeof header) && WriteAll(fd, payload.data(), payload.size());
}

[[noreturn]] void ChildMain(int fd, std::size_t first, std::size_t n,
                            const std::function<std::string(std::size_t)>& item) {
  // A fault ends the reader plainly: the parent reports it. (The caller's handlers, a test
  // framework's or a sanitizer's, would report it as the caller's own.)
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE}) std::signal(sig, SIG_DFL);
  for (std::size_t i = first; i < n; ++i) {
    bool written = false;
    try {
      const std::string bytes = item(i);
      written = WriteFrame(fd, 'o', bytes);
    } catch (const Error& e) {
      written = WriteFrame(fd, 'e', KindOf(e) + "\n" + e.what());
    } catch (const std::exception& e) {
      written = WriteFrame(fd, 'x', e.what());
    }
    if (!written) ::_exit(3);  // the parent is gone
  }
  ::close(fd);
  ::_exit(0);  // no atexit handlers, no flush of the parent's buffered output
}

enum class Got { kAll, kEof, kTimeout };

// Reads exactly `size` bytes unless the pipe ends or the deadline passes.
Got ReadAll(int fd, char* data, std::size_t size, Clock::time_point deadline) {
  while (size > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Got::kTimeout;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Got::kEof;
    if (ready == 0) return Got::kTimeout;
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Got::kEof;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return Got::kAll;
}

// The child and the read end of its pipe; killed and reaped whatever happens.
class Child {
 public:
  Child(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Reap();
    }
  }
  int fd() const { return fd_; }
  void Kill() { ::kill(pid_, SIGKILL); }
  // Waits for the child; its wait status.
  int Reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
  int fd_;
};

std::string HowItEnded(int status) {
  if (WIFSIGNALED(status)) return std::string("crashed reading it (") + ::strsignal(WTERMSIG(status)) + ")";
  if (WIFEXITED(status)) return "ended while reading it (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  return "ended while reading it";
}

}  // namespace

void RunIsolated(std::size_t n, const std::function<std::string(std::size_t)>& item,
                 const std::function<void(std::size_t, const std::string&, const std::exception_ptr&)>& done,
                 const std::function<std::string(std::size_t)>& name, const std::string& reader,
                 const IsolateOptions& options, std::mutex* fork_lock) {
  options.Validate();
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.timeout_s));
  std::size_t next = 0;
  while (next < n) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw IoError(std::string("cannot create a pipe: ") + std::strerror(errno));
    pid_t pid;
    {
      std::unique_lock<std::mutex> lock;
      if (fork_lock) lock = std::unique_lock<std::mutex>(*fork_lock);
      pid = ::fork();
    }
    if (pid == 0) {
      ::close(fds[0]);
      ChildMain(fds[1], next, n, item);
    }
    const int fork_errno = errno;
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      throw IoError(std::string("cannot start a reader process: ") + std::strerror(fork_errno));
    }
    Child child(pid, fds[0]);
    for (; next < n; ++next) {
      const auto deadline = Clock::now() + timeout;
      char header[9];
      Got got = ReadAll(child.fd(), header, sizeof header, deadline);
      std::uint64_t size = 0;
      std::string payload;
      if (got == Got::kAll) {
        std::memcpy(&size, header + 1, sizeof size);
        if (size > kMaxFrame) {
          got = Got::kEof;  // not a frame of ours: treat as the child's end
        } else {
          payload.resize(size);
          got = ReadAll(child.fd(), payload.data(), payload.size(), deadline);
        }
      }
      if (got != Got::kAll) {  // the child died or hangs on item `next`: report it, go on after it
        std::string how;
        if (got == Got::kTimeout) {
          child.Kill();
          child.Reap();
          char seconds[32];
          std::snprintf(seconds, sizeof seconds, "%g", options.timeout_s);
          how = "did not finish reading it within " + std::string(seconds) + " s";
        } else {
          how = HowItEnded(child.Reap());
        }
        done(next, {}, std::make_exception_ptr(FormatError(name(next) + ": " + reader + " " + how)));
        ++next;
        break;
      }
      if (header[0] == 'o') {
        done(next, payload, nullptr);
        continue;
      }
      std::exception_ptr error;
      try {
        if (header[0] == 'e') {
          const auto nl = payload.find('\n');
          ThrowOfKind(payload.substr(0, nl), nl == std::string::npos ? "" : payload.substr(nl + 1));
        }
        throw Error(name(next) + ": " + payload);
      } catch (...) {
        error = std::current_exception();
      }
      done(next, {}, error);
    }
  }
}

const char* Unpack::Take(std::uint64_t count, std::size_t size) {
  const std::size_t left = bytes_.size() - at_;
  if (count > left / size) throw FormatError("reader process: a truncated answer");
  const char* p = bytes_.data() + at_;
  at_ += count * size;
  return p;
}

}  // namespace genre
