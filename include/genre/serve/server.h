// genre-serve's web server (cpp-httplib): the page that names the genre of an uploaded
// song and its JSON API, over one loaded model.
//
//   GET  /                the page (web/index.html; its files are compiled in)
//   GET  /how-it-works    how the model works, from its card
//   POST /api/classify    audio as the raw body or multipart/form-data field "file";
//                         query: top, offset, duration, timeline, picture. Answers the record
//                         of `genre-guess --format json` (genre/model/classification_json.h)
//   GET  /api/model       the card's public facts (PublicCard)
//   GET  /healthz         {"status": "ok", ...}
//
// Errors are JSON {error, status}: 400 unreadable audio (the message genre-guess prints) or
// a bad parameter, 404, 405 (with Allow), 408 an upload not received within the request
// timeout, 413 over the upload limit (refused from its Content-Length before the body is
// read), 415 a body labelled text or JSON, 503 with Retry-After when every worker is busy
// and the queue is full.
//
// Safety: no request names a file on the server (the page is in the binary; uploads are held
// in memory up to the limit, their client-given names only appear in messages); read and
// write timeouts; Content-Security-Policy default-src 'self' and X-Content-Type-Options
// nosniff on every answer; a hostile upload costs one 400, never the server.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>

#include "genre/infer/network.h"
#include "genre/model/card.h"

namespace genre {

struct ServeOptions {
  std::string host = "127.0.0.1";     // address to bind; 0.0.0.0 (all interfaces) only when asked
  int port = 8080;                    // TCP port, [0, 65535]; 0: any free port (Server::port tells)
  int jobs = 0;                       // songs classified at once, >= 0 (0: all cores)
  double max_upload_mb = 100;         // largest upload accepted, MiB, (0, 4096]
  int queue = 32;                     // requests that may wait for a worker, [0, 1024]; more get 503
  int read_timeout_s = 30;            // a client silent this long while sending is dropped, >= 1
  int write_timeout_s = 30;           // likewise while receiving the answer, >= 1
  int request_timeout_s = 120;        // an upload not received whole within this is refused (408), >= 1
  double max_duration_s = 3600;       // audio analysed per upload at most (a longer song: its start;
                                      // a compressed hour of silence must not cost a day), (0, 86400]
  std::size_t picture_columns = 600;  // width of the spectrogram picture (?picture=1), [1, 4096]

  std::size_t MaxUploadBytes() const;
  // Throws OptionError naming the field, its value and the allowed range.
  void Validate() const;
};

// The card's facts a page may show: name, genres, input, architecture, backbone provenance,
// the data it saw, the measured evaluations (each CV's candidates: pooled accuracy,
// macro-F1, confusion matrix) and which candidate this model is (evaluated_as).
nlohmann::json PublicCard(const ModelCard& card);

class Server {
 public:
  // `log` gets one line per request (method, path, status, bytes in and out, ms); may be null.
  Server(std::shared_ptr<const Network> model, ServeOptions options, std::ostream* log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port; throws IoError when it cannot. Returns the port bound.
  int Bind();
  int port() const;
  // Serves until Stop(); returns once in-flight requests are answered. Bind() first.
  void Run();
  // Stops accepting; thread-safe, not async-signal-safe (genre-serve calls it from a
  // signal-waiting thread).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace genre
