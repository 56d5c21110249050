#include "genre/util/isolate.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
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

// Frames between the processes: a tag, the payload's length (8 bytes), the payload. From
// the child: 'o' the answer's bytes, 'e' a genre::Error as "kind\nmessage", 'x' another
// exception's message. To a ReaderProcess child: 'q' a request.
constexpr std::uint64_t kMaxFrame = std::uint64_t{1} << 34;

// send() with MSG_NOSIGNAL on the parent's side: a reader that died costs an error, not
// the caller's SIGPIPE.
bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
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

enum class Got { kAll, kEof, kTimeout };

// Reads exactly `size` bytes unless the other end closes or the deadline passes
// (Clock::time_point::max(): no deadline).
Got ReadAll(int fd, char* data, std::size_t size, Clock::time_point deadline) {
  while (size > 0) {
    int wait_ms = -1;
    if (deadline != Clock::time_point::max()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Got::kTimeout;
      wait_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
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

Got ReadFrame(int fd, Clock::time_point deadline, char& tag, std::string& payload) {
  char header[9];
  const Got got = ReadAll(fd, header, sizeof header, deadline);
  if (got != Got::kAll) return got;
  tag = header[0];
  std::uint64_t size = 0;
  std::memcpy(&size, header + 1, sizeof size);
  if (size > kMaxFrame) return Got::kEof;  // not a frame of ours: as if the other end had gone
  payload.resize(size);
  return ReadAll(fd, payload.data(), payload.size(), deadline);
}

// In the child: runs `work` and sends its answer; false when the parent is gone.
bool Answer(int fd, const std::function<std::string()>& work) {
  try {
    return WriteFrame(fd, 'o', work());
  } catch (const Error& e) {
    return WriteFrame(fd, 'e', KindOf(e) + "\n" + e.what());
  } catch (const std::exception& e) {
    return WriteFrame(fd, 'x', e.what());
  }
}

// In the parent: the error an 'e' or 'x' frame carries.
std::exception_ptr ErrorOf(char tag, const std::string& payload, const std::string& name) {
  try {
    if (tag == 'e') {
      const auto nl = payload.find('\n');
      ThrowOfKind(payload.substr(0, nl), nl == std::string::npos ? "" : payload.substr(nl + 1));
    }
    throw Error(name + ": " + payload);
  } catch (...) {
    return std::current_exception();
  }
}

// A fault ends the child plainly: the parent reports it. (The caller's handlers, a test
// framework's or a sanitizer's, would report it as the caller's own.)
void PlainSignals() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE}) std::signal(sig, SIG_DFL);
}

// A child process and the parent's end of the socket to it; killed and reaped whatever
// happens. `body` runs in the child with the child's end and must not return.
class Child {
 public:
  Child(const std::function<void(int fd)>& body, std::mutex* fork_lock) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      throw IoError(std::string("cannot create a socket pair for a reader process: ") + std::strerror(errno));
    {
      std::unique_lock<std::mutex> lock;
      if (fork_lock) lock = std::unique_lock<std::mutex>(*fork_lock);
      pid_ = ::fork();
    }
    if (pid_ == 0) {
      ::close(fds[0]);
      PlainSignals();
      body(fds[1]);
      ::_exit(0);  // no atexit handlers, no flush of the parent's buffered output
    }
    const int fork_errno = errno;
    ::close(fds[1]);
    if (pid_ < 0) {
      ::close(fds[0]);
      throw IoError(std::string("cannot start a reader process: ") + std::strerror(fork_errno));
    }
    fd_ = fds[0];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Reap();
    }
  }
  int fd() const { return fd_; }
  pid_t pid() const { return pid_; }

  // After a frame did not come: kills the child if it still runs, reaps it, and says
  // what happened ("crashed reading it (Segmentation fault)", "did not finish ...").
  std::string Failure(Got got, double timeout_s) {
    if (got == Got::kTimeout) {
      ::kill(pid_, SIGKILL);
      Reap();
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", timeout_s);
      return "did not finish reading it within " + std::string(seconds) + " s";
    }
    // The socket closed: the child is ending (or sent what no frame holds). It gets two
    // seconds to be gone before it is killed, so that waiting never hangs the caller.
    int status = 0;
    if (!ReapWithin(std::chrono::seconds(2), status)) {
      ::kill(pid_, SIGKILL);
      Reap();
      return "stopped answering while reading it";
    }
    if (WIFSIGNALED(status)) return std::string("crashed reading it (") + ::strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status)) return "ended while reading it (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    return "ended while reading it";
  }

 private:
  int Reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }
  bool ReapWithin(Clock::duration wait, int& status) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
      const pid_t got = ::waitpid(pid_, &status, WNOHANG);
      if (got == pid_) {
        pid_ = -1;
        return true;
      }
      if (got < 0 && errno != EINTR) return false;
      if (Clock::now() >= deadline) return false;
      ::usleep(1000);
    }
  }
  pid_t pid_ = -1;
  int fd_ = -1;
};

Clock::duration Timeout(const IsolateOptions& o) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout_s));
}

}  // namespace

void RunIsolated(std::size_t n, const std::function<std::string(std::size_t)>& item,
                 const std::function<void(std::size_t, const std::string&, const std::exception_ptr&)>& done,
                 const std::function<std::string(std::size_t)>& name, const std::string& reader,
                 const IsolateOptions& options, std::mutex* fork_lock) {
  options.Validate();
  std::size_t next = 0;
  while (next < n) {
    const std::size_t first = next;
    Child child(
        [&](int fd) {
          for (std::size_t i = first; i < n; ++i)
            if (!Answer(fd, [&] { return item(i); })) ::_exit(3);  // the parent is gone
        },
        fork_lock);
    for (; next < n; ++next) {
      char tag = 0;
      std::string payload;
      const Got got = ReadFrame(child.fd(), Clock::now() + Timeout(options), tag, payload);
      if (got != Got::kAll) {  // the child died or hangs on item `next`: report it, go on after it
        const std::string how = child.Failure(got, options.timeout_s);
        done(next, {}, std::make_exception_ptr(FormatError(name(next) + ": " + reader + " " + how)));
        ++next;
        break;
      }
      done(next, tag == 'o' ? payload : std::string(), tag == 'o' ? nullptr : ErrorOf(tag, payload, name(next)));
    }
  }
}

struct ReaderProcess::Impl {
  Serve serve;
  std::string reader;
  std::mutex* fork_lock;
  std::mutex call;  // one request at a time
  std::unique_ptr<Child> child;
};

ReaderProcess::ReaderProcess(Serve serve, std::string reader, std::mutex* fork_lock)
    : impl_(new Impl{std::move(serve), std::move(reader), fork_lock, {}, nullptr}) {}

ReaderProcess::~ReaderProcess() = default;

std::string ReaderProcess::Call(const std::string& request, const std::string& name, const IsolateOptions& options) {
  options.Validate();
  std::lock_guard lock(impl_->call);
  for (int attempt = 0;; ++attempt) {
    if (!impl_->child) {
      impl_->child = std::make_unique<Child>(
          [this](int fd) {
            for (;;) {
              char tag = 0;
              std::string req;
              if (ReadFrame(fd, Clock::time_point::max(), tag, req) != Got::kAll) return;  // the parent closed
              if (!Answer(fd, [&] { return impl_->serve(req); })) return;
            }
          },
          impl_->fork_lock);
    }
    if (!WriteFrame(impl_->child->fd(), 'q', request)) {  // the reader is gone (it was killed)
      impl_->child.reset();
      if (attempt == 0) continue;
      throw IoError(name + ": cannot send a request to the " + impl_->reader + " reader process");
    }
    char tag = 0;
    std::string payload;
    const Got got = ReadFrame(impl_->child->fd(), Clock::now() + Timeout(options), tag, payload);
    if (got != Got::kAll) {
      const std::string how = impl_->child->Failure(got, options.timeout_s);
      impl_->child.reset();  // the next call starts a new reader
      throw FormatError(name + ": " + impl_->reader + " " + how);
    }
    if (tag == 'o') return payload;
    std::rethrow_exception(ErrorOf(tag, payload, name));
  }
}

int ReaderProcess::pid() const {
  std::lock_guard lock(impl_->call);
  return impl_->child ? impl_->child->pid() : 0;
}

const char* Unpack::Take(std::uint64_t count, std::size_t size) {
  const std::size_t left = bytes_.size() - at_;
  if (count > left / size) throw FormatError("reader process: a truncated answer");
  const char* p = bytes_.data() + at_;
  at_ += count * size;
  return p;
}

}  // namespace genre
