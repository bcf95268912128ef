// The remote target: a model served by a KServe v2 / Open Inference Protocol
// HTTP server (polyinfer serve, Triton, KServe, MLServer), driven through the
// same Target interface as an in-process model, so the runner, the statistics
// and the reports are the same. Depends on the KServe v2 encoding
// (src/kserve) and an HTTP client only, never on the server library.
//
// Each worker has its own HTTP/1.1 keep-alive connection (TCP_NODELAY),
// opened before the clock starts. The request body is encoded once and shared
// read-only by all workers; a timed call is one POST .../infer of it and the
// decoding of the response, as a real client would do. Connecting may take
// 10 s, an answer 120 s, before a call fails with Unavailable. Writing to a
// connection the server closed raises SIGPIPE: fetchRemoteModel and
// makeRemoteTarget set it to be ignored unless the program handles it already.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "polyinfer/model.hpp"
#include "polyinfer/tensor.hpp"
#include "target.hpp"

namespace polyinfer::bench {

/// Where the model is served.
struct RemoteEndpoint {
  std::string url;      ///< http://host:port (plain HTTP only; a path prefix is allowed)
  std::string model;    ///< the served model's name
  std::string version;  ///< "" = the server's choice
  bool binary = true;   ///< tensors in the binary tensor data extension; false: JSON "data"
};

/// What the server says about itself and the model.
struct RemoteModel {
  std::string serverName;     ///< GET /v2 "name" ("polyinfer", "triton")
  std::string serverVersion;  ///< GET /v2 "version"
  std::string name;           ///< the model's metadata "name"
  std::vector<std::string> versions;  ///< metadata "versions" (may be empty)
  std::string platform;               ///< metadata "platform" ("onnxruntime", "onnxruntime_onnx")
  /// From the metadata: dtype by kserve::parseV2Datatype (Undefined for a name it
  /// refuses, e.g. polyinfer's "UNDEFINED"), -1 dims dynamic.
  std::vector<TensorInfo> inputs, outputs;
  /// The server's effective model configuration, from GET .../config when the
  /// server offers it (polyinfer serve and Triton do), flattened to dotted keys
  /// ("dynamic_batching.max_queue_delay_microseconds"), source "server".
  /// Empty when the server has no config endpoint.
  std::vector<ConfigValue> config;
};

/// Reads the server's metadata (GET /v2), the model's (GET
/// /v2/models/{m}[/versions/{v}]) and its configuration (GET .../config, when
/// offered). Throws Error: InvalidArgument for a URL that is not
/// http://host[:port][/prefix] (https is refused with a clear message);
/// Unavailable "cannot reach http://...: <reason>" when no connection can be
/// made; NotFound with the server's message for a 404 (unknown model or
/// version); another status: an Error with the server's {"error"} message
/// (400: InvalidArgument, 503: Unavailable, else EngineFailure).
RemoteModel fetchRemoteModel(const RemoteEndpoint& endpoint);

/// The target: `inputs` (named; made by the caller, e.g. from the metadata's
/// shapes) are encoded once here. Every worker opens its connection when it is
/// made (and checks GET .../ready). infer() throws Error mapped from the HTTP
/// status, always with the server's message: 400 InvalidArgument, 404
/// NotFound, 503 ResourceExhausted (with the Retry-After it sent), 500 and
/// any other EngineFailure; a connection that fails: Unavailable.
/// `extraConfig` is appended to the reported configuration.
std::unique_ptr<Target> makeRemoteTarget(RemoteEndpoint endpoint, RemoteModel model,
                                         Tensors inputs,
                                         std::vector<ConfigValue> extraConfig = {});

}  // namespace polyinfer::bench
