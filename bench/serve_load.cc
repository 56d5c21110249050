// serve_load: a loopback load generator for genre-serve (bench/bench_serve.sh). C clients
// each upload FILE to POST /api/classify back to back until N requests are sent in all or
// S seconds pass; prints one line: clients, requests, statuses, requests/s, latency p50/p99.
//
//   serve_load PORT FILE CLIENTS MAX_REQUESTS MAX_SECONDS
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: serve_load PORT FILE CLIENTS MAX_REQUESTS MAX_SECONDS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]), clients = std::atoi(argv[3]), max_requests = std::atoi(argv[4]);
  const double max_seconds = std::atof(argv[5]);
  std::ifstream in(argv[2], std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (body.empty() || clients < 1 || max_requests < 1 || !(max_seconds > 0)) {
    std::fprintf(stderr, "serve_load: bad arguments or empty file %s\n", argv[2]);
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_seconds));
  std::atomic<int> issued{0}, ok{0}, busy{0}, failed{0};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(300, 0);
      while (Clock::now() < deadline && issued++ < max_requests) {
        const auto t0 = Clock::now();
        const auto r = client.Post("/api/classify", body, "application/octet-stream");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (r && r->status == 200) {
          ++ok;
          std::lock_guard lock(mutex);
          latencies_ms.push_back(ms);
        } else if (r && r->status == 503) {
          ++busy;
        } else {
          ++failed;
        }
      }
    });
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double q) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1, static_cast<std::size_t>(q * latencies_ms.size()))];
  };
  std::printf("%7d  %8d  %5d  %5d  %6d  %7.2f  %8.1f  %8.1f\n", clients, ok + busy + failed, ok.load(), busy.load(),
              failed.load(), ok / seconds, pct(0.50), pct(0.99));
  return failed ? 1 : 0;
}
