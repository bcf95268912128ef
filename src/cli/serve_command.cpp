// `polyinfer serve`: parses the flags, starts the server (src/serve), waits
// for SIGTERM or SIGINT, then stops gracefully: no new connections, every
// accepted request answered, exit 0.
#include <pthread.h>
#include <signal.h>

#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "server.hpp"

namespace polyinfer::cli {

CLI::App* addServeCommand(CLI::App& app, ServeArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the models of a model repository over HTTP and gRPC with the KServe v2 / Open "
      "Inference Protocol (the protocol of Triton, KServe and MLServer: their clients work "
      "unchanged). Repository layout: <repo>/<model>/<version>/<model file>, plus an "
      "optional <repo>/<model>/config.json (engine, parameters, max_batch_size, "
      "dynamic_batching, instance_count, intra_op_threads, max_queue_size, version_policy). "
      "Endpoints: /v2/health/live|ready, /v2, /v2/models/{m}[/versions/{v}][/ready|/config], "
      "POST .../infer (JSON and binary tensors), POST /v2/repository/index, "
      "/v2/repository/models/{m}/load|unload, GET /metrics (Prometheus, Triton's metric names). "
      "gRPC: inference.GRPCInferenceService's ServerLive, ServerReady, ModelReady, "
      "ServerMetadata, ModelMetadata, ModelInfer (raw or typed contents) and RepositoryIndex/"
      "ModelLoad/ModelUnload; other methods answer UNIMPLEMENTED. "
      "SIGTERM or SIGINT: stop accepting, answer every accepted request, exit 0.");
  cmd->add_option("--model-repository,-r", args.repository, "The model repository directory.")
      ->required();
  cmd->add_option("--load-model", args.loadModels,
                  "A model to load at start (repeatable). Default: every model of the repository "
                  "in mode 'none', none in mode 'explicit'.");
  cmd->add_option("--model-control-mode", args.modelControlMode,
                  "'none': load the repository's models at start, no loading or unloading later; "
                  "'explicit': load --load-model ones, and allow the repository API's "
                  "load/unload.")
      ->check(CLI::IsMember({"none", "explicit"}))
      ->capture_default_str();
  cmd->add_option("--host", args.host,
                  "IPv4 address to listen on; 127.0.0.1 for this machine only.")
      ->capture_default_str();
  cmd->add_option("--http-port", args.httpPort, "HTTP port; 0: any free port (printed).")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--grpc-port", args.grpcPort,
                  "gRPC port (inference.GRPCInferenceService, on --host); 0: any free port "
                  "(printed); -1: no gRPC.")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  cmd->add_option("--http-threads", args.httpThreads,
                  "Network threads (an epoll loop each; requests waiting for a worker hold no "
                  "thread).")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--max-connections", args.maxConnections,
                  "Open connections served; a request on one more gets 503 and the connection is "
                  "closed.")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--max-request-bytes", args.maxRequestBytes,
                  "Largest request body (HTTP; also the largest gRPC message); a larger one gets "
                  "413 before it is read (gRPC: RESOURCE_EXHAUSTED).")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--max-queue-size", args.maxQueueSize,
                  "Requests waiting per model version when its config.json sets no "
                  "max_queue_size; one more gets 503 with Retry-After.")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--idle-timeout", args.idleTimeoutSeconds,
                  "Seconds a connection may stay silent (also mid-request) before it is closed.")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_option("--log-level", args.logLevel,
                  "'info': start-up and errors; 'debug': also one access-log line per request.")
      ->check(CLI::IsMember({"info", "debug"}))
      ->capture_default_str();
  return cmd;
}

int runServe(const ServeArgs& args) {
  // Block the stop signals in every thread the server starts; this thread
  // takes them with sigwait.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  // A client that closes early must not kill the server with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  serve::ServerOptions options;
  options.repository = args.repository;
  options.loadModels = args.loadModels;
  options.modelControlMode = args.modelControlMode;
  options.http.host = args.host;
  options.http.port = args.httpPort;
  options.grpcPort = args.grpcPort;
  options.http.threads = args.httpThreads;
  options.http.maxConnections = args.maxConnections;
  options.http.maxBodyBytes = args.maxRequestBytes;
  options.http.idleTimeoutSeconds = static_cast<unsigned>(args.idleTimeoutSeconds);
  options.defaultMaxQueueSize = args.maxQueueSize;
  options.accessLog = args.logLevel == "debug";
  serve::Server server(std::move(options));
  std::cout << server.summary() << std::flush;

  int signal = 0;
  sigwait(&stopSignals, &signal);
  std::cerr << "polyinfer serve: " << (signal == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": no new connections; answering the accepted requests\n";
  server.shutdown();
  std::cerr << "polyinfer serve: stopped\n";
  return kExitOk;
}

}  // namespace polyinfer::cli
