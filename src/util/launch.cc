#include "genre/util/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>

#include "genre/error.h"

extern char** environ;

namespace genre {

void LaunchOptions::Validate() const {
  RequireOption(nproc >= 1 && nproc <= 1024, "nproc", nproc, "in [1, 1024]");
  RequireOption(nnodes >= 1 && nnodes <= 65536, "nnodes", nnodes, "in [1, 65536]");
  RequireOption(node_rank >= 0 && node_rank < nnodes, "node_rank", node_rank, "in [0, nnodes)");
  RequireOption(master_port >= 0 && master_port <= 65535, "master_port", master_port, "in [0, 65535]");
  RequireOption(master_port != 0 || nnodes == 1, "master_port", master_port,
                "given (not 0) when the job spans machines");
  RequireOption(!master_addr.empty(), "master_addr", "\"\"", "a host name or address");
  RequireOption(std::isfinite(grace_s) && grace_s >= 0 && grace_s <= 86400, "grace", grace_s, "in [0, 86400] s");
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IoError(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw IoError(std::string("cannot find a free port: ") + std::strerror(err));
  return ntohs(a.sin_port);
}

namespace {

using Clock = std::chrono::steady_clock;

// The environment of worker `local`: this process's, with torchrun's variables set.
std::vector<std::string> WorkerEnvironment(const LaunchOptions& o, int port, int local) {
  const std::map<std::string, std::string> set = {{"RANK", std::to_string(o.node_rank * o.nproc + local)},
                                                  {"WORLD_SIZE", std::to_string(o.nnodes * o.nproc)},
                                                  {"LOCAL_RANK", std::to_string(local)},
                                                  {"LOCAL_WORLD_SIZE", std::to_string(o.nproc)},
                                                  {"GROUP_RANK", std::to_string(o.node_rank)},
                                                  {"MASTER_ADDR", o.master_addr},
                                                  {"MASTER_PORT", std::to_string(port)}};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (!set.count(kv.substr(0, kv.find('=')))) env.push_back(kv);
  }
  for (const auto& [k, v] : set) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& v) {
  std::vector<char*> p;
  for (std::string& s : v) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

// Blocks the signals the launcher takes itself for its lifetime (RAII over the mask).
class SignalMask {
 public:
  SignalMask() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set_, s);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
  }
  ~SignalMask() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
  SignalMask(const SignalMask&) = delete;
  SignalMask& operator=(const SignalMask&) = delete;
  const sigset_t& set() const { return set_; }
  const sigset_t& old() const { return old_; }

 private:
  sigset_t set_, old_;
};

}  // namespace

int LaunchWorkers(const LaunchOptions& options, const std::vector<std::string>& argv, std::ostream& log) {
  options.Validate();
  if (argv.empty()) throw OptionError("launch: no command to run");
  const int port = options.master_port ? options.master_port : FreePort();
  SignalMask mask;
  struct Worker {
    pid_t pid = -1;
    int rank = 0;
    bool running = false;
  };
  std::vector<Worker> workers;
  auto signal_all = [&](int sig) {
    for (const Worker& w : workers)
      if (w.running) ::kill(w.pid, sig);
  };
  for (int local = 0; local < options.nproc; ++local) {
    std::vector<std::string> args = argv, env = WorkerEnvironment(options, port, local);
    std::vector<char*> a = Pointers(args), e = Pointers(env);
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      signal_all(SIGTERM);
      for (const Worker& w : workers) ::waitpid(w.pid, nullptr, 0);
      throw IoError(std::string("launch: cannot start a worker: ") + std::strerror(err));
    }
    if (pid == 0) {  // the worker: default signals, unblocked
      for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) ::signal(s, SIG_DFL);
      ::sigprocmask(SIG_SETMASK, &mask.old(), nullptr);
      ::execve(a[0], a.data(), e.data());
      const std::string m = std::string("genre-train launch: cannot run ") + a[0] + ": " + std::strerror(errno) + "\n";
      [[maybe_unused]] const auto n = ::write(2, m.data(), m.size());
      ::_exit(kExitUsage);
    }
    workers.push_back({pid, options.node_rank * options.nproc + local, true});
  }

  int first_failure = -1, got_signal = 0;
  Clock::time_point term_at = Clock::time_point::max(), kill_at = Clock::time_point::max();
  std::size_t running = workers.size();
  while (running > 0) {
    const timespec tick{0, 200'000'000};
    const int sig = ::sigtimedwait(&mask.set(), nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      if (!got_signal) got_signal = sig;
      signal_all(sig);
      if (term_at == Clock::time_point::max())
        term_at =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.grace_s));
    }
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (Worker& w : workers) {
        if (w.pid != pid || !w.running) continue;
        w.running = false;
        --running;
        int code = 0;
        if (WIFEXITED(status)) {
          code = WEXITSTATUS(status);
          if (code != 0 && !got_signal) log << "genre-train launch: rank " << w.rank << " exited with " << code << "\n";
        } else if (WIFSIGNALED(status)) {
          code = kExitGroup;
          if (!got_signal)
            log << "genre-train launch: rank " << w.rank << " ended by signal " << WTERMSIG(status) << " ("
                << ::strsignal(WTERMSIG(status)) << ")\n";
        }
        if (code != 0 && first_failure < 0) {
          first_failure = code;
          term_at = std::min(term_at, Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                         std::chrono::duration<double>(options.grace_s)));
        }
      }
    }
    const auto now = Clock::now();
    if (running > 0 && now >= term_at && kill_at == Clock::time_point::max()) {
      log << "genre-train launch: " << running << " worker(s) still running " << options.grace_s
          << " s after the job failed: SIGTERM\n";
      signal_all(SIGTERM);
      kill_at = now + std::chrono::seconds(10);
    }
    if (running > 0 && now >= kill_at) {
      signal_all(SIGKILL);
      kill_at = now + std::chrono::hours(24);
    }
  }
  if (got_signal) return 128 + got_signal;
  return first_failure < 0 ? 0 : first_failure;
}

}  // namespace genre
