// A launcher for data-parallel jobs, as torchrun: starts a machine's workers with the
// environment genre/train/distributed.h reads (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards signals to them and ends with the
// job's exit code.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace genre {

struct LaunchOptions {
  int nproc = 1;                          // workers on this machine, >= 1
  int nnodes = 1;                         // machines in the job
  int node_rank = 0;                      // this machine, 0 .. nnodes - 1 (its workers are ranks node_rank * nproc ...)
  std::string master_addr = "127.0.0.1";  // rank 0's machine
  int master_port = 0;                    // 0: a free port of this machine (one machine only)
  // Once a worker has failed, how long the others may take to end by themselves (they
  // notice a lost peer at once, a hung one within their timeout) before they get SIGTERM,
  // and SIGKILL 10 s later.
  double grace_s = 30;
  void Validate() const;  // throws OptionError
};

// Runs `argv` (argv[0]: the program's path) as options.nproc workers and waits for them.
// Returns 0 when every worker ended with 0; else the exit code of the first worker that
// failed (kExitGroup for one ended by a signal), after the others have ended; 128 + N when
// this process got signal N (SIGINT, SIGTERM, SIGHUP: forwarded to every worker). Writes one
// line per failed worker to `log`. Throws OptionError, IoError (a worker cannot start).
int LaunchWorkers(const LaunchOptions& options, const std::vector<std::string>& argv, std::ostream& log);

// A TCP port of this machine that was free a moment ago (bound to port 0 and released).
int FreePort();

}  // namespace genre
