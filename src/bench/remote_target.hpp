// The remote target: a model served by a KServe v2 / Open Inference Protocol
// server (polyinfer serve, Triton, KServe, MLServer) over HTTP or gRPC, driven
// through the same Target interface as an in-process model, so the runner,
// the statistics and the reports are the same. The URL's scheme picks the
// protocol: http:// (remote_http.cpp) or grpc:// (remote_grpc.cpp). Depends on
// the KServe v2 encoding (src/kserve) and the protocols' client libraries only,
// never on the server library.
//
// Each worker has its own connection (HTTP/1.1 keep-alive with TCP_NODELAY,
// or a gRPC channel of its own: one HTTP/2 connection), opened before the
// clock starts. The request is encoded once and shared read-only by all
// workers; a timed call is one inference request of it and the decoding of the
// response, as a real client would do. Connecting may take 10 s, an answer
// 120 s, before a call fails. Writing to an HTTP connection the server closed
// raises SIGPIPE: fetchRemoteModel and makeRemoteTarget set it to be ignored
// unless the program handles it already (gRPC never raises it).
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
  /// http://host[:port][/prefix] (port 80) or grpc://host[:port] (port 8001); no TLS.
  std::string url;
  std::string model;    ///< the served model's name
  std::string version;  ///< "" = the server's choice
  /// HTTP: tensors in the binary tensor data extension; false: JSON "data".
  /// gRPC always sends raw_input_contents, and refuses false.
  bool binary = true;
};

/// The protocol a remote URL's scheme names.
enum class RemoteProtocol { Http, Grpc };

/// The protocol of `url`; throws Error(InvalidArgument) for a URL the remote
/// target does not take (https:// and grpcs:// are refused as TLS, other
/// schemes as unknown, each with the expected forms).
RemoteProtocol remoteProtocol(const std::string& url);

/// What the server says about itself and the model.
struct RemoteModel {
  std::string serverName;     ///< GET /v2 or ServerMetadata "name" ("polyinfer", "triton")
  std::string serverVersion;  ///< its "version"
  std::string name;           ///< the model's metadata "name"
  std::vector<std::string> versions;  ///< metadata "versions" (may be empty)
  std::string platform;               ///< metadata "platform" ("onnxruntime", "onnxruntime_onnx")
  /// From the metadata: dtype by kserve::parseV2Datatype (Undefined for a name it
  /// refuses, e.g. polyinfer's "UNDEFINED"), -1 dims dynamic.
  std::vector<TensorInfo> inputs, outputs;
  /// The server's effective model configuration, from GET .../config when the
  /// server offers it over HTTP (polyinfer serve and Triton do), flattened to
  /// dotted keys ("dynamic_batching.max_queue_delay_microseconds"), source
  /// "server". Empty when the server has no config endpoint, and over gRPC
  /// (KServe v2's gRPC service has no config call): the report then says so.
  std::vector<ConfigValue> config;
};

/// Reads the server's metadata (HTTP: GET /v2; gRPC: ServerMetadata), the
/// model's (GET /v2/models/{m}[/versions/{v}]; ModelMetadata) and, over HTTP,
/// its configuration (GET .../config, when offered). Throws Error:
/// InvalidArgument for a URL remoteProtocol refuses; Unavailable "cannot reach
/// <url>: <reason>" when no connection can be made; NotFound with the
/// server's message for an unknown model or version (HTTP 404, gRPC
/// NOT_FOUND); another failure: an Error with the server's message (HTTP 400
/// or gRPC INVALID_ARGUMENT: InvalidArgument; 503 or UNAVAILABLE: Unavailable;
/// else EngineFailure), naming the request.
RemoteModel fetchRemoteModel(const RemoteEndpoint& endpoint);

/// The target: `inputs` (named; made by the caller, e.g. from the metadata's
/// shapes) are encoded once here. Every worker opens its connection when it is
/// made (and checks that the model is ready: GET .../ready, ModelReady).
/// infer() throws Error mapped from the answer, always with the server's
/// message and the request named: HTTP 400 or gRPC INVALID_ARGUMENT:
/// InvalidArgument; 404 or NOT_FOUND: NotFound; a refusal for overload (HTTP
/// 503 or 429, with the Retry-After it sent; gRPC UNAVAILABLE or
/// RESOURCE_EXHAUSTED sent by a server that is up): ResourceExhausted; gRPC
/// UNIMPLEMENTED: Unsupported; DEADLINE_EXCEEDED: DeadlineExceeded; anything
/// else: EngineFailure; a connection that fails (refused, closed, reset — the
/// server is gone): Unavailable. tryInfer() (the runner's timed call) answers
/// Rejected for a refusal for overload instead, lastRejection() holding its
/// message, and throws the rest, so a dead server stops the run.
/// `extraConfig` is appended to the reported configuration.
std::unique_ptr<Target> makeRemoteTarget(RemoteEndpoint endpoint, RemoteModel model,
                                         Tensors inputs,
                                         std::vector<ConfigValue> extraConfig = {});

}  // namespace polyinfer::bench
