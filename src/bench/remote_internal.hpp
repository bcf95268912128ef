// What the remote target's protocols share (remote_common.cpp): the URL, the
// model name check, the metadata's tensors, the refusal-for-overload mapping
// of the timed call, and the report. Each protocol (remote_http.cpp; the
// module grpc/remote_grpc.cpp, loaded by remote_grpc_loader.cpp) adds its
// transport, its status mapping and its words.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec.hpp"
#include "remote_target.hpp"

namespace polyinfer::bench::remote {

// A connection that cannot be made within this is an unreachable server.
constexpr int kConnectTimeoutSeconds = 10;
// A call may wait in the server's queue behind many others (32 workers on a
// slow model): generous, so that a slow answer is measured, not cut off.
constexpr int kCallTimeoutSeconds = 120;

/// scheme://host[:port][/prefix], taken apart.
struct Url {
  RemoteProtocol protocol = RemoteProtocol::Http;
  std::string host;    ///< without brackets for IPv6
  int port = 80;
  std::string prefix;  ///< HTTP: "" or "/prefix" (no trailing slash); gRPC: ""
  std::string base;    ///< "http://host:port/prefix", "grpc://host:port", for messages
  /// "host:port" ("[::1]:port" for IPv6), as gRPC names a target.
  std::string hostPort() const;
};

/// Throws Error(InvalidArgument) naming the URL, why, and the expected forms.
Url parseUrl(const std::string& url);

/// Throws Error(InvalidArgument) when the endpoint names no model.
void requireModelName(const Url& url, const RemoteEndpoint& endpoint);

/// A tensor of a model's metadata. A datatype v2 cannot carry (or polyinfer's
/// "UNDEFINED") becomes DataType::Undefined: the inputs then have to come from
/// -i or -s. Dims below 0 are -1 (dynamic); no shape: rank unknown.
TensorInfo metadataTensor(std::string name, const std::string& datatype,
                          const std::optional<std::vector<int64_t>>& shape);

/// What a timed call came to.
struct CallResult {
  std::optional<kserve::InferResponse> response;  ///< the decoded answer, or:
  std::string refusal;  ///< the server refused it as overloaded: its message, the request named
};

/// A worker of either protocol: the refusal mapping of the runner's calls.
class Worker : public TargetWorker {
 public:
  void infer() final;
  CallOutcome tryInfer() final;
  std::string lastRejection() const final { return lastRejection_; }
  Tensors inferWithOutputs() final;

 protected:
  /// One inference request of the shared encoded inputs and the decoding of
  /// its answer. A refusal for overload comes back as CallResult::refusal;
  /// every other failure throws Error (the protocol's status mapping).
  virtual CallResult call() = 0;

 private:
  /// The answer of call(); a refusal as Error(ResourceExhausted).
  kserve::InferResponse answered();

  std::string lastRejection_;
};

/// How a protocol shows in the report.
struct ProtocolReport {
  ConfigValue protocol;       ///< the "protocol" entry
  std::string serverRequest;  ///< where the server's name came from: "GET /v2", "ServerMetadata"
  std::string noConfig;       ///< why there is no server config, when model.config is empty
  std::string model;          ///< TargetInfo::model: the model's address
};

/// A target of either protocol: the report. Owns what info() needs.
class TargetBase : public Target {
 public:
  TargetBase(RemoteModel model, Tensors inputs, std::vector<ConfigValue> extra)
      : model_(std::move(model)), inputs_(std::move(inputs)), extra_(std::move(extra)) {}
  TargetInfo info() const final;

 protected:
  virtual ProtocolReport report() const = 0;
  const Tensors& inputs() const noexcept { return inputs_; }

 private:
  RemoteModel model_;
  Tensors inputs_;
  std::vector<ConfigValue> extra_;
};

// The protocols: fetchRemoteModel and makeRemoteTarget for a parsed URL. The
// gRPC ones load the module on first use: Error(Unavailable) naming it when
// it cannot be loaded.
RemoteModel fetchHttpModel(const Url& url, const RemoteEndpoint& endpoint);
std::unique_ptr<Target> makeHttpTarget(Url url, RemoteEndpoint endpoint, RemoteModel model,
                                       Tensors inputs, std::vector<ConfigValue> extra);
RemoteModel fetchGrpcModel(const Url& url, const RemoteEndpoint& endpoint);
std::unique_ptr<Target> makeGrpcTarget(Url url, RemoteEndpoint endpoint, RemoteModel model,
                                       Tensors inputs, std::vector<ConfigValue> extra);

}  // namespace polyinfer::bench::remote
