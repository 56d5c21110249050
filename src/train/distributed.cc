#include "genre/train/distributed.h"

#include <glog/logging.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "distributed_tensors.h"
#include "genre/error.h"

namespace genre {

namespace {

// "what" of any error a collective met (c10::Error carries a backtrace: its first line only).
std::string FirstLine(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string m = c10 ? c10->what_without_backtrace() : e.what();
  if (const auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
  return m;
}

int EnvInt(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v, &end, 10);
  if (errno || *end || n < lo || n > hi)
    throw OptionError(std::string(name) + " must be a whole number in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "], got '" + v + "'");
  return static_cast<int>(n);
}

std::chrono::milliseconds Millis(double s) {
  return std::chrono::milliseconds(static_cast<long long>(std::llround(s * 1000)));
}

bool IsLoopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

}  // namespace

void GroupOptions::Validate() const {
  RequireOption(world_size >= 1, "WORLD_SIZE", world_size, ">= 1");
  RequireOption(rank >= 0 && rank < world_size, "RANK", rank, "in [0, WORLD_SIZE)");
  RequireOption(local_world_size >= 1 && local_world_size <= world_size, "LOCAL_WORLD_SIZE", local_world_size,
                "in [1, WORLD_SIZE]");
  RequireOption(local_rank >= 0 && local_rank < local_world_size, "LOCAL_RANK", local_rank, "in [0, LOCAL_WORLD_SIZE)");
  RequireOption(master_port >= 1 && master_port <= 65535, "MASTER_PORT", master_port, "in [1, 65535]");
  RequireOption(!master_addr.empty(), "MASTER_ADDR", "\"\"", "a host name or address");
  RequireOption(std::isfinite(timeout_s) && timeout_s > 0 && timeout_s <= 86400, "timeout", timeout_s,
                "in (0, 86400] seconds");
}

GroupOptions GroupFromEnvironment() {
  GroupOptions o;
  constexpr int kMost = 1 << 20;
  o.world_size = EnvInt("WORLD_SIZE", 1, 1, kMost);
  o.rank = EnvInt("RANK", 0, 0, kMost);
  o.local_rank = EnvInt("LOCAL_RANK", 0, 0, kMost);
  o.local_world_size = EnvInt("LOCAL_WORLD_SIZE", o.world_size, 1, kMost);
  o.master_port = EnvInt("MASTER_PORT", o.master_port, 1, 65535);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) o.master_addr = a;
  if (const char* i = std::getenv("GLOO_SOCKET_IFNAME"); i && *i) o.interface = i;
  o.Validate();
  return o;
}

struct ProcessGroup::Impl {
  GroupOptions options;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;

  std::string Name() const {
    return "rank " + std::to_string(options.rank) + " of " + std::to_string(options.world_size);
  }
  // Runs one collective and waits for it; any failure becomes a GroupError.
  template <class F>
  void Run(const char* what, F&& f) {
    try {
      f()->wait();
    } catch (const std::exception& e) {
      throw GroupError(Name() + ": lost the group during " + what + ": " + FirstLine(e));
    }
  }
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

std::unique_ptr<ProcessGroup> ProcessGroup::Join(const GroupOptions& options) {
  options.Validate();
  // c10d logs each failed connection attempt on stderr (glog, level ERROR); a worker says
  // what went wrong in one line of its own instead.
  FLAGS_minloglevel = std::max(FLAGS_minloglevel, static_cast<int>(google::GLOG_FATAL));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const std::string where = options.master_addr + ":" + std::to_string(options.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(options.master_port);
    so.isServer = options.rank == 0;
    so.numWorkers = static_cast<std::size_t>(options.world_size);
    so.waitWorkers = true;
    so.timeout = Millis(options.timeout_s);
    impl->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, so);
    auto go = c10d::ProcessGroupGloo::Options::create(Millis(options.timeout_s));
    go->devices.push_back(
        !options.interface.empty()        ? c10d::ProcessGroupGloo::createDeviceForInterface(options.interface)
        : IsLoopback(options.master_addr) ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                          : c10d::ProcessGroupGloo::createDefaultDevice());
    go->threads = 2;
    impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, options.rank, options.world_size, go);
  } catch (const std::exception& e) {
    throw GroupError(impl->Name() + ": cannot join the group at " + where + " within " +
                     std::to_string(static_cast<long long>(std::llround(options.timeout_s))) + " s: " + FirstLine(e));
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

int ProcessGroup::rank() const { return impl_->options.rank; }
int ProcessGroup::size() const { return impl_->options.world_size; }
const GroupOptions& ProcessGroup::options() const { return impl_->options; }
std::string ProcessGroup::Name() const { return impl_->Name(); }

namespace {
void AllReduce(ProcessGroup::Impl& g, std::vector<double>& values, c10d::ReduceOp op, const char* what) {
  if (values.empty()) return;
  std::vector<at::Tensor> t{torch::from_blob(values.data(), {static_cast<long>(values.size())}, torch::kDouble)};
  g.Run(what, [&] { return g.pg->allreduce(t, c10d::AllreduceOptions{op}); });
}
}  // namespace

void ProcessGroup::AllReduceSum(std::vector<double>& values) {
  AllReduce(*impl_, values, c10d::ReduceOp::SUM, "a sum");
}
void ProcessGroup::AllReduceMax(std::vector<double>& values) {
  AllReduce(*impl_, values, c10d::ReduceOp::MAX, "a maximum");
}

std::string ProcessGroup::Broadcast(const std::string& bytes, int root) {
  std::vector<at::Tensor> size{torch::tensor({static_cast<long>(bytes.size())}, torch::kLong)};
  c10d::BroadcastOptions bo;
  bo.rootRank = root;
  impl_->Run("a broadcast", [&] { return impl_->pg->broadcast(size, bo); });
  const long n = size[0].item<long>();
  std::string out = rank() == root ? bytes : std::string(static_cast<std::size_t>(n), '\0');
  if (n == 0) return out;
  std::vector<at::Tensor> data{torch::from_blob(out.data(), {n}, torch::kUInt8)};
  impl_->Run("a broadcast", [&] { return impl_->pg->broadcast(data, bo); });
  return out;
}

void ProcessGroup::Barrier(double timeout_s) {
  c10d::BarrierOptions bo;
  bo.timeout = Millis(timeout_s > 0 ? timeout_s : impl_->options.timeout_s);
  impl_->Run("a barrier", [&] { return impl_->pg->barrier(bo); });
}

// ---- modules ------------------------------------------------------------------

namespace {
// Tensors of equal dtype packed into flat buffers of at most `bucket_bytes`, all-reduced
// (one message each) and unpacked; `scale` multiplies the sums.
void AllReduceFlat(ProcessGroup::Impl& g, const std::vector<at::Tensor>& tensors, double scale,
                   std::size_t bucket_bytes) {
  std::size_t i = 0;
  while (i < tensors.size()) {
    std::size_t j = i, bytes = 0;
    do {
      bytes += static_cast<std::size_t>(tensors[j].numel()) * tensors[j].element_size();
      ++j;
    } while (j < tensors.size() &&
             bytes + static_cast<std::size_t>(tensors[j].numel()) * tensors[j].element_size() <= bucket_bytes);
    std::vector<at::Tensor> parts;
    for (std::size_t k = i; k < j; ++k) parts.push_back(tensors[k].reshape({-1}));
    std::vector<at::Tensor> flat{torch::cat(parts)};
    g.Run("the gradient all-reduce", [&] { return g.pg->allreduce(flat); });
    flat[0].mul_(scale);
    long at = 0;
    for (std::size_t k = i; k < j; ++k) {
      const long n = tensors[k].numel();
      tensors[k].copy_(flat[0].narrow(0, at, n).view_as(tensors[k]));
      at += n;
    }
    i = j;
  }
}
}  // namespace

void BroadcastModule(ProcessGroup& group, torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p);
  for (const auto& b : module.buffers()) tensors.push_back(b);
  c10d::BroadcastOptions bo;
  bo.rootRank = 0;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    group.impl().Run("the weights broadcast", [&] { return group.impl().pg->broadcast(one, bo); });
  }
}

void AverageGradients(ProcessGroup& group, torch::nn::Module& module, std::size_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> floats;
  for (auto& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    floats.push_back(p.grad());
  }
  for (const auto& b : module.named_buffers()) {  // batch norm's running mean / variance
    const std::string& name = b.key();
    if (name.size() > 12 && (name.compare(name.size() - 12, 12, "running_mean") == 0 ||
                             name.compare(name.size() - 11, 11, "running_var") == 0))
      floats.push_back(b.value());
  }
  AllReduceFlat(group.impl(), floats, 1.0 / group.size(), bucket_bytes);
}

}  // namespace genre
