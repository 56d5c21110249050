// Tests of data-parallel training's parts: the process group's collectives (two ranks in
// one process, over loopback), torchrun's environment, joining errors, and streamed
// examples read a bounded window at a time. Whole jobs of worker processes:
// tests/tools/genre_train_distributed_test.sh.
#include "genre/train/distributed.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "genre/data/split.h"
#include "genre/error.h"
#include "genre/model/model.h"
#include "genre/train/trainer.h"
#include "genre/util/launch.h"

namespace genre {

namespace {

// Runs body(group) on ranks 0 .. world-1, each in its thread; rethrows the first failure.
void OnRanks(int world, const std::function<void(ProcessGroup&)>& body, double timeout_s = 30) {
  const int port = FreePort();
  std::vector<std::thread> threads;
  std::mutex m;
  std::exception_ptr failed;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        GroupOptions o;
        o.rank = r;
        o.world_size = world;
        o.local_rank = r;
        o.local_world_size = world;
        o.master_port = port;
        o.timeout_s = timeout_s;
        auto group = ProcessGroup::Join(o);
        body(*group);
      } catch (...) {
        std::lock_guard lock(m);
        if (!failed) failed = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  if (failed) std::rethrow_exception(failed);
}

// Sets environment variables for one scope.
class Env {
 public:
  Env(std::initializer_list<std::pair<std::string, std::string>> vars) : vars_(vars) {
    for (const auto& [k, v] : vars_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~Env() {
    for (const auto& kv : vars_) ::unsetenv(kv.first.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

}  // namespace

TEST_CASE("a process group sums, takes maxima, broadcasts and meets at barriers", "[train][distributed]") {
  std::vector<std::vector<double>> sums(3), maxima(3);
  std::vector<std::string> got(3);
  OnRanks(3, [&](ProcessGroup& g) {
    const auto r = static_cast<std::size_t>(g.rank());
    CHECK(g.size() == 3);
    CHECK(g.Name() == "rank " + std::to_string(r) + " of 3");
    std::vector<double> v{1.0, static_cast<double>(r), 0.5 * static_cast<double>(r)};
    g.AllReduceSum(v);
    sums[r] = v;
    std::vector<double> m{static_cast<double>(r), -static_cast<double>(r)};
    g.AllReduceMax(m);
    maxima[r] = m;
    const std::string big(100000, static_cast<char>('a' + r));  // any length, rank 1's
    got[r] = g.Broadcast(g.rank() == 1 ? big : "ignored", 1);
    g.Barrier();
    CHECK(g.Broadcast("", 0).empty());
  });
  for (std::size_t r = 0; r < 3; ++r) {
    CHECK(sums[r] == std::vector<double>{3.0, 3.0, 1.5});
    CHECK(maxima[r] == std::vector<double>{2.0, 0.0});
    CHECK(got[r] == std::string(100000, 'b'));
  }
}

TEST_CASE("a worker that cannot join, or whose peer dies, ends with a GroupError in time", "[train][distributed]") {
  // Rank 1 of 2 with no rank 0 serving the rendezvous.
  GroupOptions o;
  o.rank = 1;
  o.world_size = 2;
  o.local_rank = 1;
  o.local_world_size = 2;
  o.master_port = FreePort();
  o.timeout_s = 2;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    ProcessGroup::Join(o);
    FAIL("joined a group without rank 0");
  } catch (const GroupError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("rank 1 of 2: cannot join the group at 127.0.0.1:"));
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));

  // Rank 1 leaves after one sum; rank 0's next sum fails at once, naming itself.
  std::string error;
  std::mutex m;
  OnRanks(
      2,
      [&](ProcessGroup& g) {
        std::vector<double> v{1.0};
        g.AllReduceSum(v);
        if (g.rank() == 1) return;  // its group is destroyed: connections close
        try {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          for (int i = 0; i < 3; ++i) g.AllReduceSum(v);
        } catch (const GroupError& e) {
          std::lock_guard lock(m);
          error = e.what();
        }
      },
      10);
  CHECK_THAT(error, Catch::StartsWith("rank 0 of 2: lost the group during a sum: "));
}

TEST_CASE("torchrun's environment is read and checked", "[train][distributed]") {
  {
    const GroupOptions alone = GroupFromEnvironment();
    CHECK_FALSE(alone.distributed());
    CHECK(alone.rank == 0);
  }
  {
    Env env{{"RANK", "3"},
            {"WORLD_SIZE", "4"},
            {"LOCAL_RANK", "1"},
            {"LOCAL_WORLD_SIZE", "2"},
            {"MASTER_ADDR", "10.0.0.1"},
            {"MASTER_PORT", "29501"}};
    const GroupOptions o = GroupFromEnvironment();
    CHECK(o.distributed());
    CHECK(o.rank == 3);
    CHECK(o.world_size == 4);
    CHECK(o.local_rank == 1);
    CHECK(o.local_world_size == 2);
    CHECK(o.master_addr == "10.0.0.1");
    CHECK(o.master_port == 29501);
  }
  {
    Env env{{"RANK", "2"}, {"WORLD_SIZE", "2"}};
    CHECK_THROWS_WITH(GroupFromEnvironment(), "RANK must be in [0, WORLD_SIZE), got 2");
  }
  {
    Env env{{"WORLD_SIZE", "2x"}};
    CHECK_THROWS_WITH(GroupFromEnvironment(), "WORLD_SIZE must be a whole number in [1, 1048576], got '2x'");
  }
  {
    Env env{{"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}};
    CHECK_THROWS_AS(GroupFromEnvironment(), OptionError);
  }
}

namespace {

// Inputs kept here, read through the ExampleSource interface; records each Read's bytes.
class CountingSource : public ExampleSource {
 public:
  explicit CountingSource(std::vector<Matrix> x) : x_(std::move(x)) {}
  std::vector<Matrix> Read(const std::vector<std::size_t>& keys) const override {
    std::size_t bytes = 0;
    std::vector<Matrix> out;
    for (std::size_t k : keys) {
      out.push_back(x_[k]);
      bytes += x_[k].data.size() * sizeof(float);
      ++reads_[k];
    }
    largest_ = std::max(largest_, bytes);
    return out;
  }
  mutable std::size_t largest_ = 0;
  mutable std::map<std::size_t, int> reads_;

 private:
  std::vector<Matrix> x_;
};

ModelCard SegmentsCard() {
  ModelCard c;
  c.classes = {"a", "b"};
  c.arch = DefaultArch("cnn1d");
  c.arch.channels = {4, 4};
  c.arch.hidden = {8};
  c.input.kind = "segments";
  c.input.rows = 24;
  c.input.window = 16;
  c.input.hop = 8;
  return c;
}

// 2 classes, `n` examples of 24 x 3000 columns (288 KB each): class 1 is louder.
std::vector<Example> Streamed(std::shared_ptr<CountingSource>& source, int n) {
  SplitMix64 rng(3);
  std::vector<Matrix> xs;
  std::vector<Example> out;
  for (int i = 0; i < n; ++i) {
    Matrix x(24, 3000);
    for (float& v : x.data) v = static_cast<float>(rng.Uniform() + (i % 2 ? 1.0 : 0.0));
    Example e;
    e.label = i % 2;
    e.path = "t" + std::to_string(i);
    e.cols = x.cols;
    e.key = static_cast<std::size_t>(i);
    xs.push_back(std::move(x));
    out.push_back(std::move(e));
  }
  source = std::make_shared<CountingSource>(std::move(xs));
  for (Example& e : out) e.source = source;
  return out;
}

}  // namespace

TEST_CASE("streamed examples are read a bounded window at a time, and train as in memory", "[train][distributed]") {
  std::shared_ptr<CountingSource> source;
  const std::vector<Example> train = Streamed(source, 24);  // 6.9 MB of inputs
  const std::vector<Example> valid(train.begin(), train.begin() + 4);
  TrainOptions o;
  o.epochs = 2;
  o.batch = 8;
  o.threads = 1;
  o.windows_per_track = 2;
  o.window_mb = 1;  // about 3 tracks a chunk
  Model streamed = Model::Create(SegmentsCard(), 1);
  const TrainResult r = Train(streamed, train, valid, o);
  REQUIRE(r.history.size() == 2);
  CHECK(std::isfinite(r.history.back().train_loss));
  // Never more than the window (+ one track) at once; every track read by the
  // standardisation pass and by each epoch; the validation tracks by each validation.
  CHECK(source->largest_ <= (1u << 20) + 24 * 3000 * sizeof(float));
  for (int i = 0; i < 24; ++i) CHECK(source->reads_[static_cast<std::size_t>(i)] == (i < 4 ? 5 : 3));

  // With a window that holds everything the inputs are read once and kept, and training
  // gives the very weights of the same examples held in memory.
  o.window_mb = 64;
  std::shared_ptr<CountingSource> source2;
  const std::vector<Example> train2 = Streamed(source2, 24);
  Model kept = Model::Create(SegmentsCard(), 1);
  Train(kept, train2, {}, o);
  for (int i = 0; i < 24; ++i) CHECK(source2->reads_[static_cast<std::size_t>(i)] == 2);
  std::vector<Example> in_memory = train2;
  for (Example& e : in_memory) {
    e.x = source2->Read({e.key})[0];
    e.source.reset();
  }
  Model memory = Model::Create(SegmentsCard(), 1);
  Train(memory, in_memory, {}, o);
  CHECK(memory.WeightsHash() == kept.WeightsHash());

  // A window that holds nothing is refused.
  o.window_mb = 0;
  CHECK_THROWS_AS(o.Validate(), OptionError);
}

}  // namespace genre
