#include "genre/util/isolate.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "genre/error.h"

namespace genre {

namespace {

struct Outcome {
  std::string bytes, kind, message;
};

// RunIsolated over n items; each item's bytes, or its error's kind and message.
std::vector<Outcome> Run(std::size_t n, const std::function<std::string(std::size_t)>& item,
                         const IsolateOptions& options = {}) {
  std::vector<Outcome> out(n);
  std::vector<std::size_t> order;
  RunIsolated(
      n, item,
      [&](std::size_t i, const std::string& bytes, const std::exception_ptr& error) {
        order.push_back(i);
        if (!error) {
          out[i].bytes = bytes;
          return;
        }
        try {
          std::rethrow_exception(error);
        } catch (const Error& e) {
          out[i].kind = KindOf(e);
          out[i].message = e.what();
        }
      },
      [](std::size_t i) { return "item" + std::to_string(i); }, "the reader", options);
  std::vector<std::size_t> expected(n);
  for (std::size_t i = 0; i < n; ++i) expected[i] = i;
  CHECK(order == expected);  // every item answered once, in order
  return out;
}

}  // namespace

TEST_CASE("isolated work: bytes come back in order from another process", "[util][isolate]") {
  const pid_t parent = ::getpid();
  const auto out = Run(5, [&](std::size_t i) {
    Pack p;
    p.Pod<std::int64_t>(::getpid() == parent ? -1 : static_cast<std::int64_t>(i));
    p.String(std::string(i * 100000, 'a' + static_cast<char>(i)));  // larger than a pipe's buffer
    p.Vector(std::vector<double>{1.5, -2.0, static_cast<double>(i)});
    return p.Take();
  });
  for (std::size_t i = 0; i < 5; ++i) {
    INFO(i);
    REQUIRE(out[i].kind.empty());
    Unpack u(out[i].bytes);
    CHECK(u.Pod<std::int64_t>() == static_cast<std::int64_t>(i));  // not run in this process
    CHECK(u.String() == std::string(i * 100000, 'a' + static_cast<char>(i)));
    CHECK(u.Vector<double>() == std::vector<double>{1.5, -2.0, static_cast<double>(i)});
    CHECK_THROWS_AS(u.Pod<char>(), FormatError);  // nothing left
  }
}

TEST_CASE("isolated work: errors keep their type and message", "[util][isolate][errors]") {
  const auto out = Run(4, [](std::size_t i) -> std::string {
    if (i == 0) throw IoError("a.h5: cannot open");
    if (i == 1) throw CheckpointError("b.ckpt: damaged");
    if (i == 2) throw std::runtime_error("not ours");
    return "fine";
  });
  CHECK(out[0].kind == "io");
  CHECK(out[0].message == "a.h5: cannot open");
  CHECK(out[1].kind == "checkpoint");
  CHECK(out[1].message == "b.ckpt: damaged");
  CHECK(out[2].kind == "error");
  CHECK(out[2].message == "item2: not ours");
  CHECK(out[3].bytes == "fine");
}

TEST_CASE("isolated work: a crash or a hang costs its item a FormatError, the rest go on", "[util][isolate][errors]") {
  IsolateOptions o;
  o.timeout_s = 0.5;
  const auto start = std::chrono::steady_clock::now();
  const auto out = Run(
      5,
      [](std::size_t i) -> std::string {
        if (i == 1) std::abort();  // SIGABRT (the sanitizers leave it alone)
        if (i == 2) ::_exit(7);    // gone without an answer
        if (i == 3)
          for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));  // never answers
        return "ok" + std::to_string(i);
      },
      o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(out[0].bytes == "ok0");
  CHECK(out[1].kind == "format");
  CHECK(out[1].message == "item1: the reader crashed reading it (Aborted)");
  CHECK(out[2].kind == "format");
  CHECK(out[2].message == "item2: the reader ended while reading it (exit status 7)");
  CHECK(out[3].kind == "format");
  CHECK(out[3].message == "item3: the reader did not finish reading it within 0.5 s");
  CHECK(out[4].bytes == "ok4");
  CHECK(seconds < 30);  // the hang was cut at its timeout, not waited out
}

TEST_CASE("isolated work: a child that drops its socket but lives on is killed, not waited for",
          "[util][isolate][errors]") {
  const auto start = std::chrono::steady_clock::now();
  const auto out = Run(2, [](std::size_t i) -> std::string {
    if (i == 0) {
      for (int fd = 3; fd < 1024; ++fd) ::close(fd);  // the socket to the parent among them
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return "ok" + std::to_string(i);
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(out[0].kind == "format");
  CHECK(out[0].message == "item0: the reader stopped answering while reading it");
  CHECK(out[1].bytes == "ok1");
  CHECK(seconds < 30);  // two seconds' grace, not the 60-s timeout or forever
}

TEST_CASE("a reader process answers many calls, and a new one follows a crash or a hang", "[util][isolate][errors]") {
  ReaderProcess reader(
      [](const std::string& request) -> std::string {
        if (request == "crash") std::abort();
        if (request == "hang")
          for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
        if (request == "error") throw InputError("x.h5: bad");
        return std::to_string(::getpid());
      },
      "the reader");
  CHECK(reader.pid() == 0);  // started by the first call
  const std::string first = reader.Call("pid", "a");
  CHECK(first != std::to_string(::getpid()));
  CHECK(reader.Call("pid", "a") == first);  // the same process serves the next call
  CHECK(std::to_string(reader.pid()) == first);
  CHECK_THROWS_AS(reader.Call("error", "x.h5"), InputError);
  CHECK_THROWS_WITH(reader.Call("error", "x.h5"), "x.h5: bad");
  CHECK(reader.Call("pid", "a") == first);  // an error is an answer: the reader lives on
  CHECK_THROWS_WITH(reader.Call("crash", "c.h5"), "c.h5: the reader crashed reading it (Aborted)");
  CHECK(reader.pid() == 0);
  const std::string second = reader.Call("pid", "a");
  CHECK(second != first);
  IsolateOptions quick;
  quick.timeout_s = 0.5;
  CHECK_THROWS_WITH(reader.Call("hang", "h.h5", quick), "h.h5: the reader did not finish reading it within 0.5 s");
  CHECK(reader.Call("pid", "a") != second);
  quick.timeout_s = 0;
  CHECK_THROWS_AS(reader.Call("pid", "a", quick), OptionError);
}

TEST_CASE("isolated work: options and messages", "[util][isolate][errors]") {
  IsolateOptions o;
  for (double bad : {0.0, -1.0, 1e9}) {
    o.timeout_s = bad;
    CHECK_THROWS_WITH(o.Validate(), Catch::StartsWith("timeout_s must be in (0, 86400] seconds, got "));
  }
  o.timeout_s = std::nan("");
  CHECK_THROWS_AS(o.Validate(), OptionError);
  // A short answer is refused, not read past its end.
  Pack p;
  p.Pod<std::uint64_t>(1000);  // claims 1000 doubles
  const std::string bytes = p.Take();
  Unpack u(bytes);
  CHECK_THROWS_WITH(u.Vector<double>(), "reader process: a truncated answer");
}

}  // namespace genre
