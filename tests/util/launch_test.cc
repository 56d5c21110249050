#include "genre/util/launch.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>

#include "genre/error.h"
#include "support.h"

namespace genre {

namespace {

std::vector<std::string> Shell(const std::string& script) { return {"/bin/sh", "-c", script}; }

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("launch starts N workers with torchrun's environment and ends with their exit code", "[util][launch]") {
  test::TempDir dir;
  LaunchOptions o;
  o.nproc = 3;
  o.nnodes = 2;
  o.node_rank = 1;
  o.master_addr = "10.1.2.3";
  o.master_port = 29555;
  std::ostringstream log;
  const std::string out = (dir / "env").string();
  CHECK(LaunchWorkers(o,
                      Shell("echo $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT > " + out +
                            ".$LOCAL_RANK"),
                      log) == 0);
  CHECK(log.str().empty());
  CHECK(Slurp(out + ".0") == "3 6 0 3 10.1.2.3 29555\n");
  CHECK(Slurp(out + ".2") == "5 6 2 3 10.1.2.3 29555\n");

  // One machine, a free port of its own.
  LaunchOptions one;
  one.nproc = 2;
  CHECK(LaunchWorkers(one, Shell("[ \"$MASTER_PORT\" -gt 0 ] && [ \"$MASTER_ADDR\" = 127.0.0.1 ]"), log) == 0);

  // The first failure's code, after the others ended; a line for each failed worker.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(LaunchWorkers(one, Shell("if [ $RANK = 1 ]; then exit 5; fi; sleep 0.3; exit 6"), log) == 5);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  CHECK_THAT(log.str(), Catch::Contains("genre-train launch: rank 1 exited with 5\n"));
}

TEST_CASE("launch: a worker ended by a signal is exit 6, one that hangs is ended after the grace", "[util][launch]") {
  std::ostringstream log;
  LaunchOptions o;
  o.nproc = 2;
  o.grace_s = 0.5;
  CHECK(LaunchWorkers(o, Shell("if [ $RANK = 0 ]; then kill -9 $$; fi; exit 0"), log) == kExitGroup);
  CHECK_THAT(log.str(), Catch::Contains("rank 0 ended by signal 9 (Killed)"));
  // Rank 1 would sleep a minute: SIGTERM after the grace ends it.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(LaunchWorkers(o, Shell("if [ $RANK = 0 ]; then exit 3; fi; exec sleep 60"), log) == 3);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  CHECK_THAT(log.str(), Catch::Contains("1 worker(s) still running 0.5 s after the job failed: SIGTERM"));
}

TEST_CASE("launch options are validated", "[util][launch][errors]") {
  std::ostringstream log;
  LaunchOptions o;
  o.nproc = 0;
  CHECK_THROWS_WITH(LaunchWorkers(o, Shell("true"), log), "nproc must be in [1, 1024], got 0");
  o = LaunchOptions{};
  o.nnodes = 2;  // across machines the port must be given
  CHECK_THROWS_AS(o.Validate(), OptionError);
  o.master_port = 29500;
  o.node_rank = 2;
  CHECK_THROWS_WITH(o.Validate(), "node_rank must be in [0, nnodes), got 2");
  CHECK_THROWS_AS(LaunchWorkers(LaunchOptions{}, {}, log), OptionError);
  // A program that cannot run: the worker says so and exits 2.
  CHECK(LaunchWorkers(LaunchOptions{}, {"/nonexistent/program"}, log) == kExitUsage);
  CHECK(FreePort() > 0);
}

}  // namespace genre
