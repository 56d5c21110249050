// genre-serve: a web page and a JSON API that name the genre of an uploaded song.
//
//   genre-serve                          # http://127.0.0.1:8080/, the bundled model
//   genre-serve -m my.gmdl --port 9000 -j 4
//   curl --data-binary @song.flac http://127.0.0.1:8080/api/classify
//
// Exit codes: 0 stopped by SIGINT or SIGTERM (answers in flight finished); 2 usage error or
// invalid option; 3 model problem; 4 cannot listen on the address (in use, not this
// machine's, privileged port). Requests never end the server: each failure is its answer.
#include <pthread.h>
#include <signal.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli_common.h"
#include "genre/error.h"
#include "genre/infer/network.h"
#include "genre/serve/server.h"

namespace {

constexpr int kExitListen = genre::kExitOutput;

int Run(int argc, char** argv) {
  CLI::App app{"Serve a page and a JSON API that name the genre of an uploaded song.", "genre-serve"};
  app.set_version_flag("--version", GENRE_VERSION);
  genre::ServeOptions o;
  std::string model_path;
  bool quiet = false;
  app.add_option("-m,--model", model_path, "Model file (default: $GENRE_MODEL, then the bundled model)");
  app.add_option("--host", o.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  app.add_option("--port", o.port, "TCP port (0: any free port, printed at start)")->capture_default_str();
  app.add_option("-j,--jobs", o.jobs, "Songs classified at once (0: all cores)")->capture_default_str();
  app.add_option("--max-upload-mb", o.max_upload_mb, "Largest upload accepted, MiB")->capture_default_str();
  app.add_option("--max-duration", o.max_duration_s, "Seconds of audio analysed per upload at most (its start)")
      ->capture_default_str();
  app.add_option("--queue", o.queue, "Uploads that may wait for a worker; more are told 503")->capture_default_str();
  app.add_option("--read-timeout", o.read_timeout_s, "Seconds a client may stay silent while sending")
      ->capture_default_str();
  app.add_option("--request-timeout", o.request_timeout_s, "Seconds an upload may take to arrive whole")
      ->capture_default_str();
  app.add_option("--write-timeout", o.write_timeout_s, "Seconds a client may stay silent while receiving")
      ->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "No request log on stderr");
  app.footer(
      "API: POST /api/classify (raw body or multipart field 'file'; ?top=&offset=&duration=&timeline=1&picture=1)\n"
      "     answers genre-guess --format json's record; GET /api/model; GET /healthz. Errors: JSON {error, status}.\n"
      "The first line on stdout is 'genre-serve: listening on http://HOST:PORT'; one log line per request on stderr.\n"
      "Exit codes: 0 stopped by SIGINT/SIGTERM; 2 usage error or invalid option; 3 model problem;\n"
      "            4 cannot listen on the address.");
  if (const int status = genre_cli::Parse(app, argc, argv, "genre-serve", genre::kExitUsage); status >= 0)
    return status;
  try {
    o.Validate();
  } catch (const genre::Error& e) {
    std::cerr << "genre-serve: " << e.what() << "\n";
    return genre::kExitUsage;
  }

  std::vector<std::string> looked;
  const std::string found = genre_cli::FindModel(model_path, looked);
  if (found.empty()) {
    std::cerr << "genre-serve: no model: give --model PATH or set GENRE_MODEL (no default model at "
              << genre_cli::Joined(looked) << ")\n";
    return genre::kExitModel;
  }
  std::shared_ptr<const genre::Network> model;
  try {
    model = genre::Network::Load(found);
  } catch (const genre::Error& e) {
    std::cerr << "genre-serve: " << e.what() << "\n";
    return genre::ExitCodeFor(e);
  }

  // SIGINT / SIGTERM are taken by one thread (sigwait), which stops the server; blocked
  // before any other thread starts, so every thread inherits the mask. A client that
  // hangs up mid-answer must not end the process: SIGPIPE is ignored.
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  genre::Server server(model, o, quiet ? nullptr : &std::cerr);
  int port = 0;
  try {
    port = server.Bind();
  } catch (const genre::Error& e) {
    std::cerr << "genre-serve: " << e.what() << "\n";
    return kExitListen;
  }
  const std::string shown_host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
  std::cout << "genre-serve: listening on http://" << shown_host << ":" << port << " (model " << model->card().name
            << ")" << std::endl;

  std::atomic<int> caught{0};
  std::thread waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    caught = signal_number;
    server.Stop();
  });
  server.Run();
  if (caught == 0) {  // Run ended by itself (the listening socket failed): wake the waiter
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    std::cerr << "genre-serve: the listening socket failed\n";
    return kExitListen;
  }
  waiter.join();
  std::cerr << "genre-serve: stopped (" << (caught == SIGINT ? "SIGINT" : "SIGTERM") << ")\n";
  return genre::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return genre_cli::Guarded("genre-serve", [&] { return Run(argc, argv); });
}
