// Small concurrency helpers: a parallel loop over indices and a progress line.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

namespace genre {

// Worker threads to use: `requested` if > 0, else the hardware concurrency (>= 1).
int ResolveThreads(int requested);

// Calls fn(i) for every i in [0, n) on `threads` threads (dynamic scheduling, in
// rising order of i per claim). Exceptions escaping fn are rethrown after all
// workers stop (the first one wins); callers that want to go on catch inside fn.
void ParallelFor(std::size_t n, int threads, const std::function<void(std::size_t)>& fn);

// "[#####     ] 123/510  12.3 s  ETA 4 s" redrawn on stderr, at most ~10 times a
// second, only when enabled (by default: when stderr is a terminal). Thread-safe.
class Progress {
 public:
  Progress(std::string label, std::size_t total, bool enabled);
  ~Progress();  // ends the line
  void Advance(std::size_t n = 1);
  static bool StderrIsTerminal();

 private:
  void Draw(bool force);
  std::string label_;
  std::size_t total_, done_ = 0;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mutex_;
};

}  // namespace genre
