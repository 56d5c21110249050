// genre-serve: the API over loopback, in process (genre::Server) and as the real binary.
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <thread>

#include "genre/error.h"
#include "genre/infer/network.h"
#include "genre/model/classifier.h"
#include "genre/serve/server.h"
#include "support.h"

extern char** environ;

namespace genre {
namespace {

using nlohmann::json;

std::string ModelPath() { return std::string(GENRE_SOURCE_DIR) + "/models/default.gmdl"; }
std::string Sample(const std::string& name) { return std::string(GENRE_SOURCE_DIR) + "/data/" + name; }
const std::vector<std::string> kSamples = {"disco.00001.excerpt.flac", "jazz.00004.excerpt.flac",
                                           "metal.00007.excerpt.flac"};

std::shared_ptr<const Network> DefaultModel() {
  static const std::shared_ptr<const Network> model = Network::Load(ModelPath());
  return model;
}

// A little-endian RIFF WAVE file: 16-bit PCM or 32-bit float, mono.
std::string Wav(const std::vector<float>& x, int rate, bool as_float) {
  const std::uint32_t bytes_per_sample = as_float ? 4 : 2,
                      data = static_cast<std::uint32_t>(x.size()) * bytes_per_sample;
  std::string w;
  auto u32 = [&](std::uint32_t v) { w.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](std::uint16_t v) { w.append(reinterpret_cast<const char*>(&v), 2); };
  w += "RIFF";
  u32(36 + data);
  w += "WAVEfmt ";
  u32(16);
  u16(as_float ? 3 : 1);
  u16(1);
  u32(static_cast<std::uint32_t>(rate));
  u32(static_cast<std::uint32_t>(rate) * bytes_per_sample);
  u16(static_cast<std::uint16_t>(bytes_per_sample));
  u16(static_cast<std::uint16_t>(bytes_per_sample * 8));
  w += "data";
  u32(data);
  for (float v : x) {
    if (as_float) {
      w.append(reinterpret_cast<const char*>(&v), 4);
    } else {
      const auto s = static_cast<std::int16_t>(std::lround(std::clamp(v, -1.0f, 1.0f) * 32767.0f));
      w.append(reinterpret_cast<const char*>(&s), 2);
    }
  }
  return w;
}

std::string Noise(double seconds, int rate) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 0.2f);
  std::vector<float> x(static_cast<std::size_t>(seconds * rate));
  for (float& v : x) v = n(rng);
  return Wav(x, rate, false);
}

// A server on a free loopback port, served from a thread for the test's lifetime.
class LiveServer {
 public:
  explicit LiveServer(ServeOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<Server>(DefaultModel(), o, nullptr);
    port_ = server_->Bind();
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~LiveServer() {
    server_->Stop();
    thread_.join();
  }
  int port() const { return port_; }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    c.set_write_timeout(120, 0);
    return c;
  }

 private:
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// Bytes written to a fresh loopback connection, then everything read until the server
// closes it (or `timeout_s` passes): the raw answer.
std::string RawExchange(int port, const std::string& request, double timeout_s = 20) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading it all
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}

int StatusOf(const std::string& raw) { return raw.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(raw.c_str() + 9) : -1; }

json BodyOf(const std::string& raw) {
  const std::size_t at = raw.find("\r\n\r\n");
  return at == std::string::npos ? json() : json::parse(raw.substr(at + 4), nullptr, false);
}

// An error answer: the status, a JSON {error, status} body naming the same status.
void RequireJsonError(const httplib::Result& r, int status) {
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == status);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  const json j = json::parse(r->body);
  CHECK(j.at("status") == status);
  CHECK(!j.at("error").get<std::string>().empty());
}

httplib::Result Upload(httplib::Client& c, const std::string& bytes, const std::string& query = "",
                       const std::string& type = "application/octet-stream") {
  return c.Post(("/api/classify" + query).c_str(), bytes, type.c_str());
}

httplib::Result UploadForm(httplib::Client& c, const std::string& bytes, const std::string& filename,
                           const std::string& query = "") {
  httplib::MultipartFormDataItems items = {{"file", bytes, filename, "audio/flac"}};
  return c.Post(("/api/classify" + query).c_str(), items);
}

TEST_CASE("ServeOptions: defaults bind loopback only - every field is range-checked", "[serve]") {
  ServeOptions o;
  CHECK(o.host == "127.0.0.1");
  CHECK(o.MaxUploadBytes() == 100u * 1024 * 1024);
  CHECK_NOTHROW(o.Validate());
  auto bad = [](auto edit) {
    ServeOptions x;
    edit(x);
    return test::MessageOf<OptionError>([&] { x.Validate(); });
  };
  CHECK(bad([](ServeOptions& x) { x.port = 70000; }) == "port must be in [0, 65535] (0: any free port), got 70000");
  CHECK(bad([](ServeOptions& x) { x.jobs = -1; }).find("jobs") == 0);
  CHECK(bad([](ServeOptions& x) { x.max_upload_mb = 0; }).find("max-upload-mb") == 0);
  CHECK(bad([](ServeOptions& x) { x.queue = -1; }).find("queue") == 0);
  CHECK(bad([](ServeOptions& x) { x.read_timeout_s = 0; }).find("read-timeout") == 0);
  CHECK(bad([](ServeOptions& x) { x.request_timeout_s = 0; }).find("request-timeout") == 0);
  CHECK(bad([](ServeOptions& x) { x.max_duration_s = 0; }).find("max-duration") == 0);
  CHECK(bad([](ServeOptions& x) { x.host = ""; }).find("host") == 0);
}

TEST_CASE("PublicCard: the bundled model's facts evaluations and its own candidate", "[serve]") {
  const json j = PublicCard(DefaultModel()->card());
  CHECK(j.at("name") == DefaultModel()->card().name);
  CHECK(j.at("genres").size() == 10);
  CHECK(j.at("input").at("kind") == "waveform");
  CHECK(j.at("input").at("sample_rate") == 12000);
  CHECK(j.at("input").at("window_s").get<double>() == Approx(29.0));
  CHECK(j.at("backbone").at("source_repository") == "keunwoochoi/transfer_learning_music");
  CHECK(j.at("data").at("tracks") == 900);
  // The bundled model is the msd-table head (README): its artist-filtered CV figures.
  CHECK(j.at("evaluated_as") == "msd-table");
  const json& first = j.at("evaluations").at(0);
  CHECK(first.at("split") == "artist-filtered");
  CHECK(first.at("recordings") == 176);
  bool found = false;
  for (const json& c : first.at("candidates"))
    if (c.at("name") == "msd-table") {
      found = true;
      CHECK(c.at("accuracy").get<double>() == Approx(0.693).margin(0.0005));
      std::size_t total = 0;
      for (const json& row : c.at("confusion").at("matrix"))
        for (const json& n : row) total += n.get<std::size_t>();
      CHECK(total == 176);
    }
  CHECK(found);
}

TEST_CASE("genre-serve: the page its files and the API's read-only routes with safety headers", "[serve]") {
  LiveServer s;
  auto c = s.Client();
  for (const char* path : {"/", "/how-it-works", "/api/model", "/healthz", "/app.js", "/style.css"}) {
    INFO(path);
    const auto r = c.Get(path);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Security-Policy") == "default-src 'self'");
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
  }
  CHECK(c.Get("/")->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(c.Get("/")->body.find("<html") != std::string::npos);
  CHECK(c.Get("/app.js")->get_header_value("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(c.Get("/style.css")->get_header_value("Content-Type") == "text/css; charset=utf-8");
  const json model = json::parse(c.Get("/api/model")->body);
  CHECK(model.at("genres") == json(DefaultModel()->card().classes));
  CHECK(model.at("max_upload_mb") == 100);
  const json health = json::parse(c.Get("/healthz")->body);
  CHECK(health.at("status") == "ok");
  CHECK(health.at("busy") == 0);

  // No request names a file: the page is in the binary, nothing else is served.
  RequireJsonError(c.Get("/../CMakeLists.txt"), 404);
  RequireJsonError(c.Get("/etc/passwd"), 404);
  RequireJsonError(c.Get("/web/index.html"), 404);
  RequireJsonError(c.Get("/nope"), 404);
  const auto put = c.Put("/api/classify", "x", "application/octet-stream");
  RequireJsonError(put, 405);
  CHECK(put->get_header_value("Allow") == "POST");
  const auto get = c.Get("/api/classify");
  RequireJsonError(get, 405);
  RequireJsonError(c.Post("/api/model", "x", "text/plain"), 405);
  CHECK(c.Post("/api/model", "x", "text/plain")->get_header_value("Allow") == "GET, HEAD");
}

TEST_CASE("genre-serve: each bundled sample as raw body and as a form with timeline and picture", "[serve]") {
  LiveServer s;
  auto c = s.Client();
  const Classifier classifier(DefaultModel());
  for (const std::string& name : kSamples) {
    INFO(name);
    const std::string bytes = test::ReadBytes(Sample(name));
    const Classification want = classifier.ClassifyFile(Sample(name));
    const auto raw = Upload(c, bytes, "?top=3&timeline=1&picture=1");
    REQUIRE(raw);
    REQUIRE(raw->status == 200);
    const json j = json::parse(raw->body);
    CHECK(j.at("status") == "ok");
    CHECK(j.at("path") == "upload");
    CHECK(j.at("top").size() == 3);
    CHECK(j.at("timeline").size() == want.windows);
    for (std::size_t k = 0; k < want.probs.size(); ++k)
      CHECK(j.at("probabilities").at(DefaultModel()->card().classes[k]).get<double>() ==
            Approx(want.probs[k]).margin(1e-6));
    const json& pic = j.at("spectrogram");
    CHECK(pic.at("bands") == 96);  // the model's front end: 96 mel bands
    CHECK(pic.at("columns").get<std::size_t>() <= 600);
    CHECK(pic.at("pixels").get<std::string>().size() ==
          (pic.at("bands").get<std::size_t>() * pic.at("columns").get<std::size_t>() + 2) / 3 * 4);

    const auto form = UploadForm(c, bytes, "../../secret/" + name);
    REQUIRE(form);
    REQUIRE(form->status == 200);
    const json f = json::parse(form->body);
    CHECK(f.at("path") == name);  // a client's name is only ever a label: its last part
    CHECK(f.at("top").size() == 5);
    CHECK(!f.contains("timeline"));
    CHECK(!f.contains("spectrogram"));
    CHECK(f.at("top").at(0) == j.at("top").at(0));
  }
  // offset and duration as genre-guess --offset / --duration.
  ClassifyOptions co;
  co.offset_s = 2;
  co.duration_s = 5;
  const Classification part = classifier.ClassifyFile(Sample(kSamples[1]), co);
  const auto r = Upload(c, test::ReadBytes(Sample(kSamples[1])), "?offset=2&duration=5");
  REQUIRE(r->status == 200);
  CHECK(json::parse(r->body).at("duration_s").get<double>() == Approx(part.duration_s));
}

TEST_CASE("genre-serve: every error status as JSON and the server answers after each", "[serve]") {
  ServeOptions o;
  o.max_upload_mb = 1;
  LiveServer s(o);
  auto c = s.Client();
  const std::string good = test::ReadBytes(Sample(kSamples[1]));  // 243 KB

  // 400: unreadable audio, empty bodies, a form without the file, bad parameters.
  std::string random(5000, '\0');
  std::mt19937 rng(3);
  for (char& ch : random) ch = static_cast<char>(rng());
  RequireJsonError(Upload(c, random), 400);
  CHECK(json::parse(Upload(c, random)->body).at("error").get<std::string>().find("upload: ") == 0);
  RequireJsonError(Upload(c, ""), 400);
  RequireJsonError(UploadForm(c, "", "empty.flac"), 400);
  RequireJsonError(c.Post("/api/classify", httplib::MultipartFormDataItems{{"other", good, "x.flac", ""}}), 400);
  // A truncated FLAC: what decodes is classified (as genre-guess does), or a 400.
  const auto truncated = Upload(c, good.substr(0, good.size() / 2));
  REQUIRE(truncated);
  CHECK((truncated->status == 200 || truncated->status == 400));
  CHECK(json::parse(truncated->body).contains(truncated->status == 200 ? "top" : "error"));
  RequireJsonError(Upload(c, good.substr(0, 100)), 400);  // cut inside the header
  std::vector<float> nan(12000, 0.1f);
  nan[6000] = std::numeric_limits<float>::quiet_NaN();
  const auto nan_answer = Upload(c, Wav(nan, 12000, true));
  RequireJsonError(nan_answer, 400);
  CHECK(nan_answer->body.find("NaN") != std::string::npos);
  for (const char* q : {"?top=0", "?top=x", "?top=1e20", "?top=-1e300", "?top=2.5", "?offset=-1", "?duration=0",
                        "?timeline=maybe", "?offset=nan"})
    RequireJsonError(Upload(c, good, q), 400);
  RequireJsonError(Upload(c, good, "?offset=20"), 400);  // past the 10-s clip's end

  // 415: a body that says it is text.
  RequireJsonError(Upload(c, good, "", "text/plain"), 415);
  RequireJsonError(Upload(c, good, "", "application/json"), 415);

  // 413: over the limit (1 MiB here). By Content-Length: refused before the body is read,
  // so a client that sends only the headers still gets its answer at once.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string refused =
      RawExchange(s.port(), "POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000000\r\n\r\nabc", 10);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(StatusOf(refused) == 413);
  CHECK(BodyOf(refused).at("status") == 413);
  // A client that sends the whole body regardless gets the answer too.
  const std::string big =
      "POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n" + std::string(2097152, 'x');
  CHECK(StatusOf(RawExchange(s.port(), big)) == 413);
  // A form whose file alone is over the limit, the form within the framing allowance.
  RequireJsonError(UploadForm(c, std::string(1024 * 1024 + 10, 'x'), "big.flac"), 413);
  // Chunked (no length): read up to the limit, then refused.
  std::string chunked = "POST /api/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) chunked += "10000\r\n" + std::string(0x10000, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  const std::string chunked_answer = RawExchange(s.port(), chunked);
  CHECK(StatusOf(chunked_answer) == 413);
  CHECK(BodyOf(chunked_answer).at("status") == 413);

  // 400: malformed HTTP and multipart bodies.
  const std::string broken_form =
      "POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
      "Content-Length: 30\r\n\r\n--XX\r\nbroken: no end of headers";
  const std::string broken_answer = RawExchange(s.port(), broken_form);
  CHECK(StatusOf(broken_answer) == 400);
  CHECK(BodyOf(broken_answer).at("status") == 400);
  CHECK(StatusOf(RawExchange(s.port(), "POST /api/classify HTTP/1.1\r\nContent-Length: 12x\r\n\r\n")) == 400);
  CHECK(StatusOf(RawExchange(s.port(), "\x01\x02garbage\r\n\r\n")) == 400);

  // A form's other fields are read past; the file is what counts.
  const auto with_fields =
      c.Post("/api/classify", httplib::MultipartFormDataItems{{"note", "hello", "", ""}, {"file", good, "j.flac", ""}});
  REQUIRE(with_fields);
  CHECK(with_fields->status == 200);
  // Two file fields: the first is the upload.
  const auto two = c.Post("/api/classify",
                          httplib::MultipartFormDataItems{{"file", good, "j.flac", ""}, {"file", random, "r.bin", ""}});
  REQUIRE(two);
  CHECK(two->status == 200);
  CHECK(json::parse(two->body).at("path") == "j.flac");
  // A POST without length or chunks has no body: answered at once, not after the read timeout.
  const auto t1 = std::chrono::steady_clock::now();
  CHECK(StatusOf(RawExchange(s.port(), "POST /api/classify HTTP/1.1\r\nHost: x\r\n\r\n", 10)) == 400);
  CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(5));
  // curl --data-binary labels a body application/x-www-form-urlencoded: still audio.
  CHECK(Upload(c, good, "", "application/x-www-form-urlencoded")->status == 200);

  // Still answering, and right.
  const auto after = Upload(c, good);
  REQUIRE(after);
  CHECK(after->status == 200);
  CHECK(json::parse(after->body).at("top").at(0).at("genre") == "jazz");
}

TEST_CASE("genre-serve: at most --max-duration of an upload is analysed (its start)", "[serve]") {
  ServeOptions o;
  o.max_duration_s = 4;
  LiveServer s(o);
  auto c = s.Client();
  const std::string bytes = test::ReadBytes(Sample(kSamples[1]));  // 10 s
  const json whole = json::parse(Upload(c, bytes)->body);
  CHECK(whole.at("duration_s").get<double>() == Approx(4.0).margin(1e-3));
  CHECK(json::parse(Upload(c, bytes, "?duration=2")->body).at("duration_s").get<double>() == Approx(2.0).margin(1e-3));
  CHECK(json::parse(Upload(c, bytes, "?duration=8")->body).at("duration_s").get<double>() == Approx(4.0).margin(1e-3));
  CHECK(json::parse(c.Get("/api/model")->body).at("max_duration_s") == 4.0);
}

TEST_CASE("genre-serve: an upload that trickles in past the request timeout gets 408", "[serve]") {
  ServeOptions o;
  o.request_timeout_s = 1;
  LiveServer s(o);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(s.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string head = "POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789";
  REQUIRE(send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  REQUIRE(send(fd, "0123456789", 10, MSG_NOSIGNAL) == 10);
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  close(fd);
  CHECK(StatusOf(answer) == 408);
  CHECK(BodyOf(answer).at("error").get<std::string>().find("upload too slow") == 0);
  CHECK(s.Client().Get("/healthz")->status == 200);
}

TEST_CASE("genre-serve: a full queue answers 503 with Retry-After - the next request is served", "[serve][slow]") {
  ServeOptions o;
  o.jobs = 1;
  o.queue = 0;
  LiveServer s(o);
  const std::string long_song = Noise(600, 12000);  // ~1-2 s of work for the one worker
  std::atomic<int> long_status{0};
  std::thread busy([&] {
    auto c = s.Client();
    const auto r = Upload(c, long_song);
    long_status = r ? r->status : -1;
  });
  auto c = s.Client();
  for (int i = 0; i < 2000 && json::parse(c.Get("/healthz")->body).at("busy") != 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto r = Upload(c, test::ReadBytes(Sample(kSamples[0])));
  RequireJsonError(r, 503);
  CHECK(r->get_header_value("Retry-After") == "2");
  busy.join();
  CHECK(long_status == 200);
  CHECK(Upload(c, test::ReadBytes(Sample(kSamples[0])))->status == 200);
}

TEST_CASE("genre-serve: 16 clients x 8 uploads all answered alike - 50 at once answered or told 503", "[serve][slow]") {
  LiveServer s;  // queue 32: 16 clients fit
  std::vector<std::string> bytes;
  for (const std::string& name : kSamples) bytes.push_back(test::ReadBytes(Sample(name)));
  std::vector<std::string> first(kSamples.size());
  {
    auto c = s.Client();
    for (std::size_t i = 0; i < kSamples.size(); ++i)
      first[i] = json::parse(Upload(c, bytes[i])->body).at("top").dump();
  }
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t)
    clients.emplace_back([&, t] {
      auto c = s.Client();
      for (int k = 0; k < 8; ++k) {
        const std::size_t i = static_cast<std::size_t>(t + k) % bytes.size();
        const auto r = Upload(c, bytes[i]);
        if (r && r->status == 200 && json::parse(r->body).at("top").dump() == first[i])
          ++ok;
        else
          ++wrong;
      }
    });
  for (auto& t : clients) t.join();
  CHECK(ok == 128);
  CHECK(wrong == 0);

  ServeOptions small;
  small.jobs = 1;
  small.queue = 4;
  LiveServer t(small);
  std::atomic<int> answered{0}, told_503{0}, other{0};
  clients.clear();
  for (int i = 0; i < 50; ++i)
    clients.emplace_back([&, i] {
      auto c = t.Client();
      const auto r = Upload(c, bytes[static_cast<std::size_t>(i) % bytes.size()]);
      if (r && r->status == 200)
        ++answered;
      else if (r && r->status == 503 && r->has_header("Retry-After"))
        ++told_503;
      else {
        ++other;
        WARN("request " << i << ": "
                        << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())));
      }
    });
  for (auto& th : clients) th.join();
  INFO("200: " << answered << ", 503: " << told_503);
  CHECK(answered + told_503 == 50);
  CHECK(other == 0);
  CHECK(answered >= 1);
}

// The binary: `genre-serve --port 0` prints its address first; SIGTERM stops it with 0.
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    args.insert(args.begin(), GENRE_SERVE_BIN);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, GENRE_SERVE_BIN, &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
    std::string line;
    char ch;
    pollfd p{out_, POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&p, 1, 30000) > 0 && read(out_, &ch, 1) == 1) line += ch;
    first_line_ = line;
    const std::size_t at = line.find("127.0.0.1:");
    REQUIRE(at != std::string::npos);
    port_ = std::atoi(line.c_str() + at + 10);
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
  }
  int port() const { return port_; }
  const std::string& first_line() const { return first_line_; }
  // Sends `signal` and returns the exit status (-1: ended by a signal or not within 20 s).
  int Stop(int signal) {
    kill(pid_, signal);
    for (int i = 0; i < 2000; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, port_ = 0;
  std::string first_line_;
};

// What a command prints on stdout.
std::string Output(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

TEST_CASE("genre-serve (the binary): the same answers and messages as genre-guess - SIGTERM exits 0", "[serve][slow]") {
  ServeProcess serve({"--port", "0", "-m", ModelPath(), "-q"});
  CHECK(serve.first_line().find("genre-serve: listening on http://127.0.0.1:") == 0);
  httplib::Client c("127.0.0.1", serve.port());
  c.set_read_timeout(60, 0);
  const std::string guess = std::string(GENRE_GUESS_BIN) + " -m " + ModelPath();
  for (const std::string& name : kSamples) {
    INFO(name);
    const json want = json::parse(Output(guess + " --format json --timeline " + Sample(name)))[0];
    const auto r = UploadForm(c, test::ReadBytes(Sample(name)), name, "?timeline=1");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const json got = json::parse(r->body);
    CHECK(got.at("top").at(0).at("genre") == want.at("top").at(0).at("genre"));
    for (const auto& [genre, p] : want.at("probabilities").items())
      CHECK(got.at("probabilities").at(genre).get<double>() == Approx(p.get<double>()).margin(1e-6));
    for (const char* key : {"duration_s", "windows", "silent", "peak_dbfs", "model"})
      CHECK(got.at(key) == want.at(key));
    CHECK(got.at("timeline").size() == want.at("timeline").size());
  }
  // A hostile upload gets the message genre-guess prints for the same bytes, named alike.
  test::TempDir dir;
  const std::string hostile = test::ReadBytes(Sample(kSamples[0])).substr(0, 300) + std::string(3000, '\x7f');
  test::WriteBytes(dir / "hostile.flac", hostile);
  std::string line = Output("cd " + dir.path().string() + " && " + guess + " hostile.flac 2>&1 >/dev/null");
  while (!line.empty() && line.back() == '\n') line.pop_back();
  const auto r = UploadForm(c, hostile, "hostile.flac");
  RequireJsonError(r, 400);
  CHECK("genre-guess: " + json::parse(r->body).at("error").get<std::string>() == line);
  CHECK(c.Get("/healthz")->status == 200);
  CHECK(serve.Stop(SIGTERM) == 0);
}

TEST_CASE("genre-serve (the binary): usage model and listen errors have their exit codes", "[serve]") {
  const std::string bin = GENRE_SERVE_BIN;
  auto exit_code = [](const std::string& command) {
    const int status = std::system((command + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  CHECK(exit_code(bin + " --port 70000") == 2);
  CHECK(exit_code(bin + " --max-upload-mb 0") == 2);
  CHECK(exit_code(bin + " --bogus") == 2);
  CHECK(exit_code(bin + " -m /nonexistent.gmdl --port 0") == 3);
  ServeProcess first({"--port", "0", "-m", ModelPath(), "-q"});
  CHECK(exit_code(bin + " -m " + ModelPath() + " --port " + std::to_string(first.port())) == 4);
  CHECK(exit_code(bin + " -m " + ModelPath() + " --host 203.0.113.9 --port 0") == 4);  // not this machine's
  CHECK(first.Stop(SIGINT) == 0);
}

}  // namespace
}  // namespace genre
