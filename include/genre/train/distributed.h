// Data-parallel training across processes and machines on libtorch's own distributed
// engine (c10d): a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT (rank 0 serves it) and a
// Gloo process group over TCP. Launched the way torchrun launches PyTorch jobs: every worker
// reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from its environment.
// No libtorch types in this header.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace genre {

struct GroupOptions {
  int rank = 0;                           // this worker, 0 .. world_size - 1 (RANK)
  int world_size = 1;                     // workers in the job (WORLD_SIZE); 1 = no group
  int local_rank = 0;                     // this worker among those of its machine (LOCAL_RANK)
  int local_world_size = 1;               // workers on this machine (LOCAL_WORLD_SIZE)
  std::string master_addr = "127.0.0.1";  // the rendezvous host, rank 0's (MASTER_ADDR)
  int master_port = 29500;                // its TCP port (MASTER_PORT)
  // Most seconds to wait for the group: to join it, and for any peer in a collective. A
  // peer that dies is noticed at once (its connections close); one that hangs, after this.
  double timeout_s = 300;
  // The network interface Gloo connects over (GLOO_SOCKET_IFNAME); "" = the address the
  // master address is reached from on loopback, else this host name's address.
  std::string interface;
  bool distributed() const { return world_size > 1; }
  void Validate() const;  // throws OptionError
};

// torchrun's variables (absent: a single worker; LOCAL_WORLD_SIZE absent: WORLD_SIZE). Throws OptionError naming a
// variable that is not a number in its range.
GroupOptions GroupFromEnvironment();

// The workers of one job. Every call is a collective: all ranks make the same calls in
// the same order. A peer that cannot join, dies or times out makes the call throw
// GroupError ("rank 1 of 2: lost the group: Connection closed by peer ...").
class ProcessGroup {
 public:
  // Joins (rank 0 also serves the rendezvous); throws GroupError after timeout_s.
  static std::unique_ptr<ProcessGroup> Join(const GroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int size() const;
  const GroupOptions& options() const;
  // "rank R of N": how this worker names itself in messages.
  std::string Name() const;

  void AllReduceSum(std::vector<double>& values);  // in place: the sum over ranks
  void AllReduceMax(std::vector<double>& values);
  // root's bytes, on every rank (any length).
  std::string Broadcast(const std::string& bytes, int root = 0);
  // Waits until every rank got here; timeout_s > 0 replaces the group's timeout.
  void Barrier(double timeout_s = 0);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace genre
