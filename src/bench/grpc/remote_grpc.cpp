// The remote target over gRPC: KServe v2's inference.GRPCInferenceService
// through grpc++'s generated stub (src/kserve/grpc for the messages), one
// channel per worker, synchronous unary ModelInfer calls of one request
// message encoded once. Built as the module libpolyinfer_bench_grpc.so
// (remote_grpc_module.hpp says why).
//
// Telling overload from a dead server. gRPC reports both as UNAVAILABLE: a
// server that is up sends it for a full queue (polyinfer serve: "queue full:
// ..."; Triton too), and the client library makes it up itself when the
// connection cannot be made or breaks ("failed to connect to all addresses",
// "Socket closed", ...). The first is load shed, counted as rejected; the
// second must stop the run. The status does not say who set it, so a call's
// UNAVAILABLE counts as the server's refusal only when the worker's channel
// is still READY after it (a call the server answered leaves the connection
// up) and its message is none of gRPC's own transport errors (the channel's
// state is updated asynchronously, so right after a connection broke it may
// still read READY). A server that died is then caught at the latest by the
// next call, which finds no connection; one that shuts down may refuse a few
// calls first ("shutting down") and cancel some (CANCELLED, which the bench
// never asks for: reported as the server going away). RESOURCE_EXHAUSTED (a
// rate limit in front of the server) counts as a refusal too, except gRPC's
// own "message larger than max", which no retry fixes.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "grpc_codec.hpp"
#include "inference.grpc.pb.h"
#include "polyinfer/error.hpp"
#include "polyinfer/version.hpp"
#include "remote_grpc_module.hpp"

namespace polyinfer::bench::remote {
namespace {

using Stub = inference::GRPCInferenceService::Stub;

std::string_view codeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "an unknown status";
  }
}

std::string_view stateName(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE: return "IDLE";
    case GRPC_CHANNEL_CONNECTING: return "CONNECTING";
    case GRPC_CHANNEL_READY: return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE: return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN: return "SHUTDOWN";
  }
  return "unknown";
}

ErrorCode errorCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT: return ErrorCode::InvalidArgument;
    case grpc::StatusCode::NOT_FOUND: return ErrorCode::NotFound;
    case grpc::StatusCode::UNAVAILABLE: return ErrorCode::Unavailable;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return ErrorCode::ResourceExhausted;
    case grpc::StatusCode::UNIMPLEMENTED: return ErrorCode::Unsupported;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return ErrorCode::DeadlineExceeded;
    default: return ErrorCode::EngineFailure;
  }
}

bool containsNoCase(std::string_view text, std::string_view lowerNeedle) {
  return std::search(text.begin(), text.end(), lowerNeedle.begin(), lowerNeedle.end(),
                     [](char a, char b) {
                       return std::tolower(static_cast<unsigned char>(a)) == b;
                     }) != text.end();
}

/// Whether `message` is one of gRPC's own (core 1.3x-1.6x) for a connection
/// that could not be made or broke; a server's message is never one.
bool transportMessage(std::string_view message) {
  static constexpr std::string_view kPhrases[] = {
      "failed to connect",  "connection refused", "socket closed",    "connection reset",
      "broken pipe",        "goaway",             "transport closed", "endpoint closing",
      "endpoint read failed", "keepalive watchdog", "connections to all backends failing",
      "dns resolution failed", "empty address list"};
  return std::any_of(std::begin(kPhrases), std::end(kPhrases),
                     [message](std::string_view phrase) { return containsNoCase(message, phrase); });
}

/// Whether a failed call never got an answer from the server (see the top
/// of this file).
bool connectionFailed(grpc::Channel& channel, const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  return channel.GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY ||
         transportMessage(status.error_message());
}

/// A refusal for overload from a server that is up.
bool refusedAsOverloaded(grpc::Channel& channel, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
    return !containsNoCase(status.error_message(), "larger than max");
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         !connectionFailed(channel, status);
}

/// "<server's message> (gRPC CODE from <request>)".
std::string statusText(const grpc::Status& status, const std::string& request) {
  return fmt::format("{} (gRPC {} from {})",
                     status.error_message().empty() ? "no message" : status.error_message(),
                     codeName(status.error_code()), request);
}

/// A failed call as an Error: the connection's failure as Unavailable, or
/// the server's status with its message. The bench cancels no call, so a
/// CANCELLED one was ended by the server or the connection (a server that
/// shuts down cancels the calls it has not started): Unavailable too.
Error callError(grpc::Channel& channel, const grpc::Status& status, const std::string& request) {
  const std::string_view state = stateName(channel.GetState(/*try_to_connect=*/false));
  if (connectionFailed(channel, status))
    return Error(ErrorCode::Unavailable,
                 fmt::format("{}: {} (the connection failed; channel {})", request,
                             status.error_message(), state));
  if (status.error_code() == grpc::StatusCode::CANCELLED)
    return Error(ErrorCode::Unavailable,
                 fmt::format("{}: {} (gRPC CANCELLED: the server or the connection cancelled the "
                             "call, as a server that shuts down does; channel {})",
                             request, status.error_message(), state));
  return Error(errorCode(status.error_code()), statusText(status, request));
}

std::chrono::system_clock::time_point in(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

std::shared_ptr<grpc::Channel> makeChannel(const Url& url) {
  grpc::ChannelArguments args;
  // A subchannel of its own, hence a TCP connection of its own: channels
  // with equal arguments otherwise share one from the process-wide pool, and
  // every worker's calls would be multiplexed on one HTTP/2 connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Straight to the server, as the HTTP target goes (gRPC would otherwise
  // follow http_proxy and the like from the environment).
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // Outputs are as large as the model makes them (gRPC's default cap on a
  // received message is 4 MiB).
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(url.hostPort(), grpc::InsecureChannelCredentials(), args);
}

/// Connects `channel`, waiting at most kConnectTimeoutSeconds. A refused
/// connection returns at once (TRANSIENT_FAILURE): the next call fails fast
/// with gRPC's reason, which callers report.
void connect(grpc::Channel& channel, const Url& url) {
  const auto deadline = in(kConnectTimeoutSeconds);
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_TRANSIENT_FAILURE) {
    if (!channel.WaitForStateChange(state, deadline))
      throw Error(ErrorCode::Unavailable,
                  fmt::format("cannot reach {}: no connection within {} s (channel {})", url.base,
                              kConnectTimeoutSeconds, stateName(state)));
    state = channel.GetState(/*try_to_connect=*/true);
  }
}

/// A call made before timing (metadata, readiness): a failed connection as
/// "cannot reach <url>", else as callError; busy servers are not refusing
/// load here, so UNAVAILABLE stays Unavailable.
void checkSetupCall(grpc::Channel& channel, const grpc::Status& status, const Url& url,
                    const std::string& request) {
  if (status.ok()) return;
  if (connectionFailed(channel, status))
    throw Error(ErrorCode::Unavailable, fmt::format("cannot reach {}: {} (gRPC {} from {})",
                                                    url.base, status.error_message(),
                                                    codeName(status.error_code()), request));
  throw callError(channel, status, request);
}

/// "NAME grpc://host:port model 'm'[ version 'v']", for messages.
std::string requestText(std::string_view call, const Url& url, const RemoteEndpoint& endpoint) {
  return fmt::format("{} {} model '{}'{}", call, url.base, endpoint.model,
                     endpoint.version.empty() ? "" : " version '" + endpoint.version + "'");
}

/// What all workers share, read-only.
struct Shared {
  Url url;
  RemoteEndpoint endpoint;
  std::string inferRequest;  ///< "ModelInfer grpc://... model 'm'", for messages
  /// Encoded once; every call serializes it (protobuf's const methods are
  /// safe from many threads).
  inference::ModelInferRequest request;
};

class GrpcWorker final : public Worker {
 public:
  explicit GrpcWorker(std::shared_ptr<const Shared> shared)
      : shared_(std::move(shared)),
        channel_(makeChannel(shared_->url)),
        stub_(inference::GRPCInferenceService::NewStub(channel_)) {
    // Connects this worker's channel before any clock starts, and checks
    // that the model is ready to serve.
    connect(*channel_, shared_->url);
    inference::ModelReadyRequest request;
    request.set_name(shared_->endpoint.model);
    request.set_version(shared_->endpoint.version);
    inference::ModelReadyResponse response;
    grpc::ClientContext context;
    context.set_deadline(in(kCallTimeoutSeconds));
    const std::string what = requestText("ModelReady", shared_->url, shared_->endpoint);
    checkSetupCall(*channel_, stub_->ModelReady(&context, request, &response), shared_->url, what);
    if (!response.ready())
      throw Error(ErrorCode::Unavailable,
                  fmt::format("{}: the server says the model is not ready, expected ready", what));
  }

 private:
  CallResult call() override {
    grpc::ClientContext context;
    context.set_deadline(in(kCallTimeoutSeconds));
    inference::ModelInferResponse response;
    const grpc::Status status = stub_->ModelInfer(&context, shared_->request, &response);
    if (status.ok()) return {kserve::decodeInferResponse(response), {}};
    if (refusedAsOverloaded(*channel_, status))
      return {std::nullopt, statusText(status, shared_->inferRequest)};
    throw callError(*channel_, status, shared_->inferRequest);
  }

  std::shared_ptr<const Shared> shared_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
};

class GrpcTarget final : public TargetBase {
 public:
  GrpcTarget(Url url, RemoteEndpoint endpoint, RemoteModel model, Tensors inputs,
             std::vector<ConfigValue> extra)
      : TargetBase(std::move(model), std::move(inputs), std::move(extra)) {
    if (!endpoint.binary)
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("{}: JSON tensors are an HTTP encoding; over gRPC tensors travel as "
                              "raw_input_contents (binary), expected binary",
                              url.base));
    auto shared = std::make_shared<Shared>();
    shared->inferRequest = requestText("ModelInfer", url, endpoint);
    // Encoded once, before any worker exists: the timed calls only send it.
    kserve::encodeInferRequest(endpoint.model, endpoint.version, "", this->inputs(),
                               /*rawInputs=*/true, {}, 0, shared->request);
    shared->url = std::move(url);
    shared->endpoint = std::move(endpoint);
    shared_ = std::move(shared);
  }

  std::unique_ptr<TargetWorker> newWorker() override {
    return std::make_unique<GrpcWorker>(shared_);
  }

  std::string timedRegion() const override {
    return fmt::format(
        "one gRPC {} (unary, synchronous, grpc++'s generated stub) of a request message encoded "
        "once before timing (raw_input_contents, shared read-only by all workers) on the "
        "worker's own channel and HTTP/2 connection, connected before timing: serializing and "
        "sending it (gRPC serializes the message on every call), the server's decoding, "
        "queueing, inference and encoding, the network both ways, and parsing the response and "
        "decoding its tensors (kserve::decodeInferResponse, as a real client would); not "
        "included: making and encoding the inputs, connecting (a reconnect after the server "
        "closed the connection would be timed)",
        shared_->inferRequest);
  }

 private:
  ProtocolReport report() const override {
    return {{"protocol", "KServe v2 gRPC", "explicit",
             fmt::format("inference.GRPCInferenceService/ModelInfer over HTTP/2, "
                         "raw_input_contents; request message {} bytes, encoded once; one "
                         "channel (its own connection) per worker",
                         shared_->request.ByteSizeLong())},
            "ServerMetadata",
            "not available over gRPC: KServe v2's gRPC service has no model config call (a "
            "server's HTTP port may offer GET .../config)",
            fmt::format("{} model {}{}", shared_->url.base, shared_->endpoint.model,
                        shared_->endpoint.version.empty()
                            ? ""
                            : " version " + shared_->endpoint.version)};
  }

  std::shared_ptr<const Shared> shared_;
};

std::vector<TensorInfo> tensorInfos(
    const google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>&
        tensors) {
  std::vector<TensorInfo> infos;
  for (const auto& tensor : tensors)
    infos.push_back(metadataTensor(tensor.name(), tensor.datatype(),
                                   std::vector<int64_t>(tensor.shape().begin(),
                                                        tensor.shape().end())));
  return infos;
}

RemoteModel fetchModel(const Url& url, const RemoteEndpoint& endpoint) {
  const std::shared_ptr<grpc::Channel> channel = makeChannel(url);
  const std::unique_ptr<Stub> stub = inference::GRPCInferenceService::NewStub(channel);
  connect(*channel, url);
  RemoteModel model;

  inference::ServerMetadataResponse server;
  {
    grpc::ClientContext context;
    context.set_deadline(in(kCallTimeoutSeconds));
    checkSetupCall(*channel, stub->ServerMetadata(&context, {}, &server), url,
                   "ServerMetadata " + url.base);
  }
  model.serverName = server.name();
  model.serverVersion = server.version();

  inference::ModelMetadataRequest request;
  request.set_name(endpoint.model);
  request.set_version(endpoint.version);
  inference::ModelMetadataResponse metadata;
  {
    grpc::ClientContext context;
    context.set_deadline(in(kCallTimeoutSeconds));
    checkSetupCall(*channel, stub->ModelMetadata(&context, request, &metadata), url,
                   requestText("ModelMetadata", url, endpoint));
  }
  model.name = metadata.name().empty() ? endpoint.model : metadata.name();
  model.platform = metadata.platform();
  model.versions.assign(metadata.versions().begin(), metadata.versions().end());
  model.inputs = tensorInfos(metadata.inputs());
  model.outputs = tensorInfos(metadata.outputs());
  return model;
}

std::unique_ptr<Target> makeTarget(Url url, RemoteEndpoint endpoint, RemoteModel model,
                                   Tensors inputs, std::vector<ConfigValue> extra) {
  return std::make_unique<GrpcTarget>(std::move(url), std::move(endpoint), std::move(model),
                                      std::move(inputs), std::move(extra));
}

}  // namespace
}  // namespace polyinfer::bench::remote

const polyinfer::bench::remote::GrpcRemoteModule* polyinfer_bench_grpc_module() {
  using namespace polyinfer::bench::remote;
  static const GrpcRemoteModule module{kGrpcRemoteModuleAbi, POLYINFER_VERSION, &fetchModel,
                                       &makeTarget};
  return &module;
}
