#include "genre/serve/server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <new>
#include <optional>

#include <sys/socket.h>

#include "genre/error.h"
#include "genre/model/classification_json.h"
#include "genre/model/classifier.h"
#include "genre/util/parallel.h"
#include "web_assets.h"

namespace genre {

namespace {

constexpr const char* kJson = "application/json";

void SetError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}, {"status", status}}.dump(), kJson);
}

// A client-given file name, for messages only: its last path part, printable ASCII,
// at most 120 characters; "upload" when nothing is left.
std::string MessageName(const std::string& given) {
  std::string name = std::filesystem::path(given).filename().string(), out;
  for (char c : name)
    if (c >= 0x20 && c < 0x7f && out.size() < 120) out += c;
  return out.empty() || out == "." || out == ".." ? "upload" : out;
}

// An answer given before the body is read (the connection closes after every answer, so
// the unread body is never taken for a request).
httplib::Server::HandlerResponse Refuse(httplib::Response& res, int status, const std::string& message) {
  SetError(res, status, message);
  return httplib::Server::HandlerResponse::Handled;
}

// "1", "true", "yes" / "0", "false", "no", "" (absent: false); anything else a 400.
bool FlagParam(const httplib::Request& req, const std::string& name) {
  if (!req.has_param(name.c_str())) return false;
  const std::string v = req.get_param_value(name.c_str());
  if (v == "1" || v == "true" || v == "yes" || v.empty()) return true;
  if (v == "0" || v == "false" || v == "no") return false;
  throw OptionError(name + " must be 0 or 1, got '" + v + "'");
}

double NumberParam(const httplib::Request& req, const std::string& name, double fallback) {
  if (!req.has_param(name.c_str())) return fallback;
  const std::string v = req.get_param_value(name.c_str());
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(x))
    throw OptionError(name + " must be a number, got '" + v.substr(0, 40) + "'");
  return x;
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The start of the request this thread is answering (set before its body is read), and
// the bytes of its body read so far: for the log line.
thread_local std::chrono::steady_clock::time_point request_start{};
thread_local std::size_t request_bytes = 0;

}  // namespace

std::size_t ServeOptions::MaxUploadBytes() const { return static_cast<std::size_t>(max_upload_mb * 1024.0 * 1024.0); }

void ServeOptions::Validate() const {
  RequireOption(!host.empty(), "host", host, "an address to bind (e.g. 127.0.0.1)");
  RequireOption(port >= 0 && port <= 65535, "port", port, "in [0, 65535] (0: any free port)");
  RequireOption(jobs >= 0, "jobs", jobs, ">= 0 (0: all cores)");
  RequireOption(max_upload_mb > 0 && max_upload_mb <= 4096, "max-upload-mb", max_upload_mb, "in (0, 4096] MiB");
  RequireOption(queue >= 0 && queue <= 1024, "queue", queue, "in [0, 1024]");  // a thread each
  RequireOption(read_timeout_s >= 1 && read_timeout_s <= 3600, "read-timeout", read_timeout_s, "in [1, 3600] s");
  RequireOption(request_timeout_s >= 1 && request_timeout_s <= 86400, "request-timeout", request_timeout_s,
                "in [1, 86400] s");
  RequireOption(write_timeout_s >= 1 && write_timeout_s <= 3600, "write-timeout", write_timeout_s, "in [1, 3600] s");
  RequireOption(max_duration_s > 0 && max_duration_s <= 86400, "max-duration", max_duration_s, "in (0, 86400] s");
  RequireOption(picture_columns >= 1 && picture_columns <= 4096, "picture-columns", picture_columns, "in [1, 4096]");
}

nlohmann::json PublicCard(const ModelCard& card) {
  const nlohmann::json& t = card.training;
  const InputSpec& in = card.input;
  nlohmann::json input = {{"kind", in.kind}, {"sample_rate", in.DecodeRate()}};
  const double rate = in.front_end.sample_rate, hop_s = in.front_end.stft.hop_length / rate;
  if (in.kind == "logmel") {
    input["window_s"] = in.window * hop_s;
    input["hop_s"] = in.hop * hop_s;
  } else if (in.kind == "waveform") {
    input["window_s"] = in.window / rate;
    input["hop_s"] = in.hop / rate;
  } else if (in.kind == "gtzan" || in.kind == "waveform+gtzan") {
    input["window_s"] = 30.0;  // GTZAN clips back to back
    input["hop_s"] = 30.0;
  }
  input["n_mels"] = in.front_end.mel.n_mels;
  input["n_fft"] = in.front_end.stft.n_fft;
  input["hop_length"] = in.front_end.stft.hop_length;
  input["fmin"] = in.front_end.mel.fmin_hz;
  input["fmax"] = in.front_end.mel.FmaxHz(in.front_end.sample_rate);
  nlohmann::json j = {{"name", card.name},
                      {"genres", card.classes},
                      {"created", card.created},
                      {"git_commit", card.git_commit},
                      {"input", input},
                      {"architecture", {{"kind", card.arch.kind}, {"head", card.arch.head}}},
                      {"calibration", {{"temperature", card.temperature}}},
                      {"backbone", nullptr},
                      {"data", nlohmann::json::object()},
                      {"evaluated_as", nullptr},
                      {"evaluations", nlohmann::json::array()}};
  if (t.contains("backbone") && t["backbone"].is_object()) {
    nlohmann::json b = nlohmann::json::object();
    for (const char* key : {"source_repository", "paper", "trained_on", "license", "imported_from"})
      if (t["backbone"].contains(key)) b[key] = t["backbone"][key];
    j["backbone"] = b;
  }
  if (t.contains("data") && t["data"].is_object())
    for (const char* key : {"tracks", "per_class"})
      if (t["data"].contains(key)) j["data"][key] = t["data"][key];
  // Which CV candidate this model is: the head file an attach card was made from
  // (".../msd-table.gmdl" -> msd-table), else a candidate of the model's own name.
  std::string own = card.name;
  if (t.contains("attach") && t["attach"].contains("command") && t["attach"]["command"].is_string()) {
    const std::string cmd = t["attach"]["command"];
    for (std::size_t at = 0; (at = cmd.find(".gmdl", at)) != std::string::npos; at += 5) {
      const std::size_t start = cmd.find_last_of(" /", at) + 1;
      const std::string stem = cmd.substr(start, at - start);
      if (!stem.empty() && stem != "msd-convnet") {  // the backbone comes first, then the head
        own = stem;
        break;
      }
    }
  }
  if (t.contains("cv") && t["cv"].is_array()) {
    for (const nlohmann::json& cv : t["cv"]) {
      if (!cv.is_object() || !cv.contains("candidates")) continue;
      nlohmann::json e = {{"recordings", cv.value("recordings", 0)}, {"candidates", nlohmann::json::array()}};
      // The split, from the record's folder name ("combine-artist3-all" -> "artist3").
      const std::string file = cv.value("file", "");
      const std::string folder = std::filesystem::path(file).parent_path().filename().string();
      e["split"] = folder.find("artist") != std::string::npos  ? "artist-filtered"
                   : folder.find("folds") != std::string::npos ? "grouped folds"
                                                               : folder;
      for (const nlohmann::json& c : cv["candidates"]) {
        if (!c.is_object() || !c.contains("pooled")) continue;
        const nlohmann::json& p = c["pooled"];
        nlohmann::json cand = {{"name", c.value("name", "")},
                               {"accuracy", p.value("accuracy", 0.0)},
                               {"macro_f1", p.value("macro_f1", 0.0)},
                               {"folds", c.contains("folds") ? c["folds"].size() : 0}};
        if (p.contains("classes") && p.contains("confusion"))
          cand["confusion"] = {{"classes", p["classes"]}, {"matrix", p["confusion"]}};
        if (cand["name"] == own) j["evaluated_as"] = own;
        e["candidates"].push_back(cand);
      }
      j["evaluations"].push_back(e);
    }
  }
  return j;
}

struct Server::Impl {
  Impl(std::shared_ptr<const Network> model, ServeOptions o, std::ostream* log_to)
      : options(std::move(o)), classifier(model), card(model->card()), log(log_to) {
    options.Validate();
    workers = ResolveThreads(options.jobs);
    public_card = PublicCard(card);
    public_card["max_upload_mb"] = options.max_upload_mb;
    public_card["max_duration_s"] = options.max_duration_s;
    Routes();
  }

  void Routes();
  // The largest request body: the upload limit and room for a multipart form's framing
  // (boundaries, part headers).
  std::size_t MaxBodyBytes() const { return options.MaxUploadBytes() + 64 * 1024; }
  // (status, message) when the request's Content-Length is malformed or over the limit.
  std::optional<std::pair<int, std::string>> RefusedLength(const httplib::Request& req) const;
  void Classify(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read);
  void Log(const httplib::Request& req, const httplib::Response& res);

  ServeOptions options;
  Classifier classifier;
  const ModelCard& card;
  std::ostream* log;
  nlohmann::json public_card;
  int workers = 1;
  int port = -1;
  int listen_socket = -1;
  httplib::Server http;
  std::mutex log_mutex;
  // Admission: requests classifying or waiting for a worker (at most workers + queue), and
  // the workers busy (at most `workers`).
  std::mutex mutex;
  std::condition_variable worker_free;
  int admitted = 0, busy = 0;
};

void Server::Impl::Routes() {
  http.set_default_headers({{"Content-Security-Policy", "default-src 'self'"},
                            {"X-Content-Type-Options", "nosniff"},
                            {"Referrer-Policy", "no-referrer"},
                            {"X-Frame-Options", "DENY"}});
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the same port and
  // silently share its connections: SO_REUSEADDR only (a restart may reuse a port in
  // TIME_WAIT; a port in use is refused).
  http.set_socket_options([this](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_socket = sock;
  });
  http.set_read_timeout(options.read_timeout_s, 0);
  http.set_write_timeout(options.write_timeout_s, 0);
  // One request per connection: a refused upload's unread body cannot be taken for the next
  // request, and no idle kept-alive connection holds a thread (connections are served by a
  // bounded pool) or delays a stop. On loopback a connection costs well under a millisecond.
  http.set_keep_alive_max_count(1);
  http.set_payload_max_length(MaxBodyBytes());
  // Connections are answered by workers + queue + 4 threads: enough to classify on every
  // worker, hold the queue, and still tell the next ones 503 or answer /healthz.
  const std::size_t threads = static_cast<std::size_t>(workers + options.queue + 4);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  static const std::vector<std::pair<std::string, std::string>> kRoutes = {
      {"/", "GET"}, {"/how-it-works", "GET"}, {"/api/classify", "POST"}, {"/api/model", "GET"}, {"/healthz", "GET"}};
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_start = std::chrono::steady_clock::now();
    request_bytes = 0;
    std::string allowed;
    for (const auto& [path, method] : kRoutes)
      if (req.path == path) allowed = method;
    for (const WebAsset& a : WebAssets())
      if (req.path == a.path) allowed = "GET";
    if (!allowed.empty() && req.method != allowed && !(allowed == "GET" && req.method == "HEAD")) {
      res.set_header("Allow", allowed == "GET" ? "GET, HEAD" : allowed);
      return Refuse(res, 405, req.method + " is not allowed on " + req.path + " (use " + allowed + ")");
    }
    if (allowed.empty()) return Refuse(res, 404, "no such page: " + req.path.substr(0, 200));
    if (req.method != "POST") return httplib::Server::HandlerResponse::Unhandled;
    // A POST with neither a length nor chunks has no body (HTTP/1.1): answered at once, not
    // after waiting for a body until the read timeout.
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding"))
      return Refuse(res, 400, "empty upload: send the audio as the body or as the multipart field 'file'");
    // An upload over the limit is refused from its Content-Length, before its body is read.
    if (const auto refusal = RefusedLength(req)) return Refuse(res, refusal->first, refusal->second);
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // A client that asks before sending (Expect: 100-continue, as curl does for large
  // bodies) is told 413 instead of "go on".
  http.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    const auto refusal = req.path == "/api/classify" ? RefusedLength(req) : std::nullopt;
    if (!refusal) return 100;
    SetError(res, refusal->first, refusal->second);
    return refusal->first;
  });

  auto page = [](const WebAsset& a) {
    return [&a](const httplib::Request&, httplib::Response& res) {
      res.set_content(a.body.data(), a.body.size(), a.content_type);
      res.set_header("Cache-Control", "no-cache");
    };
  };
  for (const WebAsset& a : WebAssets()) {  // WebAssets() is a static table: `a` outlives the server
    http.Get(a.path, page(a));
    if (std::string_view(a.path) == "/index.html") http.Get("/", page(a));
    if (std::string_view(a.path) == "/how-it-works.html") http.Get("/how-it-works", page(a));
  }
  http.Get("/api/model",
           [this](const httplib::Request&, httplib::Response& res) { res.set_content(public_card.dump(), kJson); });
  http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex);
    res.set_content(nlohmann::json{{"status", "ok"},
                                   {"model", card.name},
                                   {"workers", workers},
                                   {"busy", busy},
                                   {"waiting", admitted - busy},
                                   {"queue", options.queue}}
                        .dump(),
                    kJson);
  });
  http.Post("/api/classify", [this](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& read) { Classify(req, res, read); });

  // Answers httplib makes itself (400 malformed request or multipart, 413 a chunked body
  // past the limit, 500) get the JSON body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const char* what = res.status == 413   ? "upload too large (--max-upload-mb)"
                       : res.status == 400 ? "malformed request (a broken HTTP or multipart body)"
                       : res.status == 404 ? "no such page"
                                           : "request failed";
    SetError(res, res.status, what);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    SetError(res, 500, what);
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });
}

std::optional<std::pair<int, std::string>> Server::Impl::RefusedLength(const httplib::Request& req) const {
  if (!req.has_header("Content-Length")) return std::nullopt;
  const std::string len = req.get_header_value("Content-Length");
  char* end = nullptr;
  const unsigned long long n = std::strtoull(len.c_str(), &end, 10);
  if (len.empty() || *end != '\0') return std::pair{400, "malformed Content-Length: '" + len.substr(0, 20) + "'"};
  if (n > MaxBodyBytes())
    return std::pair{413, "upload too large: " + len.substr(0, 20) + " bytes, the limit is " +
                              std::to_string(options.MaxUploadBytes()) + " bytes (--max-upload-mb)"};
  return std::nullopt;
}

void Server::Impl::Log(const httplib::Request& req, const httplib::Response& res) {
  if (!log) return;
  char ms[32] = "-";
  if (request_start != std::chrono::steady_clock::time_point{})
    std::snprintf(ms, sizeof ms, "%.1f",
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - request_start).count());
  const std::size_t in = request_bytes;
  request_start = {};
  request_bytes = 0;
  std::lock_guard lock(log_mutex);
  *log << UtcNow() << ' ' << req.remote_addr << ' ' << (req.method.empty() ? "-" : req.method) << ' '
       << (req.path.empty() ? "-" : req.path.substr(0, 200)) << ' ' << res.status << " in=" << in
       << "B out=" << res.body.size() << "B " << ms << "ms" << std::endl;
}

void Server::Impl::Classify(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
  // The audio: the multipart field "file" (other fields are read past), or the raw body;
  // read here block by block, so the limit and the request timeout hold while it arrives.
  const auto deadline = request_start + std::chrono::seconds(options.request_timeout_s);
  std::string bytes, name = "upload";
  bool has_file = false, in_file = false, too_large = false, too_slow = false;
  auto keep = [&](const char* data, std::size_t n) {
    request_bytes += n;
    if (bytes.size() + n > options.MaxUploadBytes()) return !(too_large = true);
    if (std::chrono::steady_clock::now() > deadline) return !(too_slow = true);
    bytes.append(data, n);
    return true;
  };
  const bool multipart = req.is_multipart_form_data();
  const bool whole = multipart ? read(
                                     [&](const httplib::MultipartFormData& part) {
                                       in_file = part.name == "file" && !has_file;  // the first
                                       if (in_file) name = MessageName(part.filename);
                                       has_file = has_file || in_file;
                                       return true;
                                     },
                                     [&](const char* data, std::size_t n) {
                                       if (in_file) return keep(data, n);
                                       request_bytes += n;
                                       return std::chrono::steady_clock::now() <= deadline || !(too_slow = true);
                                     })
                               : read(keep);
  if (too_large || res.status == 413)
    return SetError(
        res, 413,
        "upload too large: over the limit of " + std::to_string(options.MaxUploadBytes()) + " bytes (--max-upload-mb)");
  if (too_slow)
    return SetError(
        res, 408,
        "upload too slow: not received within " + std::to_string(options.request_timeout_s) + " s (--request-timeout)");
  if (!whole) return SetError(res, 400, "malformed or incomplete request body (a broken multipart form?)");
  if (multipart && !has_file) return SetError(res, 400, "no audio: the multipart form has no field 'file'");
  if (bytes.empty())
    return SetError(res, 400, "empty upload: send the audio as the body or as the multipart field 'file'");
  const std::string type = req.get_header_value("Content-Type");
  if (type.rfind("text/", 0) == 0 || type.rfind("application/json", 0) == 0)
    return SetError(res, 415, "a " + type.substr(0, 60) + " body is not audio: send the audio file's bytes");

  ClassifyOptions co;
  int top = 5;
  bool timeline = false;
  try {
    const double top_given = NumberParam(req, "top", 5);  // checked before it becomes an int
    RequireOption(top_given >= 1 && top_given <= 1000 && std::floor(top_given) == top_given, "top",
                  req.get_param_value("top").substr(0, 40), "a whole number in [1, 1000]");
    top = static_cast<int>(top_given);
    co.offset_s = NumberParam(req, "offset", 0);
    co.duration_s = NumberParam(req, "duration", -1);
    co.Validate();
    if (co.duration_s < 0 || co.duration_s > options.max_duration_s) co.duration_s = options.max_duration_s;
    timeline = FlagParam(req, "timeline");
    co.timeline = timeline;
    co.picture_columns = FlagParam(req, "picture") ? options.picture_columns : 0;
    co.threads = 1;  // songs in parallel on the workers, one thread each
  } catch (const Error& e) {
    return SetError(res, 400, e.what());
  }

  // Admission: a worker, a place in the queue, or 503.
  {
    std::unique_lock lock(mutex);
    if (admitted >= workers + options.queue) {
      lock.unlock();
      res.set_header("Retry-After", "2");
      return SetError(res, 503,
                      "busy: " + std::to_string(workers) + " songs are being classified and " +
                          std::to_string(options.queue) + " wait; try again shortly");
    }
    ++admitted;
    worker_free.wait(lock, [&] { return busy < workers; });
    ++busy;
  }
  struct Release {
    Impl* self;
    ~Release() {
      {
        std::lock_guard lock(self->mutex);
        --self->busy;
        --self->admitted;
      }
      self->worker_free.notify_one();
    }
  } release{this};

  ClassifiedSong song;
  song.path = name;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    song.result = classifier.ClassifyBytes(std::move(bytes), name, co);
  } catch (const Error& e) {
    return SetError(res, 400, e.what());
  } catch (const std::bad_alloc&) {
    return SetError(res, 503, name + ": out of memory while classifying");
  }
  song.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  res.set_content(ToJson(song, card, top, timeline).dump(), kJson);
}

Server::Server(std::shared_ptr<const Network> model, ServeOptions options, std::ostream* log)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(options), log)) {}

Server::~Server() {
  if (impl_->http.is_running()) impl_->http.stop();
}

int Server::Bind() {
  const ServeOptions& o = impl_->options;
  const int port = o.port == 0                                ? impl_->http.bind_to_any_port(o.host)
                   : impl_->http.bind_to_port(o.host, o.port) ? o.port
                                                              : -1;
  if (port < 0)
    throw IoError("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                  " (in use, not an address of this machine, or a port that needs privileges)");
  // httplib listens with a backlog of 5: a burst of clients would see refused or slow
  // connections. Listening again on the bound socket raises the backlog (Linux).
  if (impl_->listen_socket >= 0) ::listen(impl_->listen_socket, SOMAXCONN);
  impl_->port = port;
  return port;
}

int Server::port() const { return impl_->port; }

void Server::Run() {
  if (impl_->port < 0) throw OptionError("Server::Run needs Bind() first");
  impl_->http.listen_after_bind();
}

void Server::Stop() { impl_->http.stop(); }

}  // namespace genre
