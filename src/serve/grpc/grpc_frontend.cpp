// The gRPC front end (inference.GRPCInferenceService, src/kserve/grpc/inference.proto), built
// as the module libpolyinfer_serve_grpc.so (grpc_module.hpp says why). grpc++'s callback API:
// a ModelInfer call is queued on the model's BatchingPredictor and finished by the worker that
// ran it, so no thread waits per request (as with the HTTP server's suspended connections). A
// client that cancels, or whose deadline passes, has its queued work withdrawn.
#include <algorithm>
#include <chrono>
#include <mutex>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "grpc_codec.hpp"
#include "inference.grpc.pb.h"
#include "polyinfer/version.hpp"
#include "grpc_module.hpp"

namespace polyinfer::serve {

namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;
using grpc::Status;
using grpc::StatusCode;

// A library error as a gRPC status. A full queue is UNAVAILABLE, as Triton answers it: the
// code clients retry on (RESOURCE_EXHAUSTED is gRPC's own for a message over the limit).
StatusCode grpcCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return StatusCode::INVALID_ARGUMENT;
    case ErrorCode::NotFound: return StatusCode::NOT_FOUND;
    case ErrorCode::ResourceExhausted:
    case ErrorCode::Unavailable: return StatusCode::UNAVAILABLE;
    case ErrorCode::DeadlineExceeded: return StatusCode::DEADLINE_EXCEEDED;
    case ErrorCode::Cancelled: return StatusCode::CANCELLED;
    case ErrorCode::Unsupported: return StatusCode::UNIMPLEMENTED;
    default: return StatusCode::INTERNAL;
  }
}

Status statusOf(const Error& e) { return Status(grpcCode(e.code()), e.what()); }

// An error about a request's contents: its model was found, so a NotFound here names an input
// or output (the library's code for an unknown tensor name), which is the caller's mistake.
StatusCode requestCode(ErrorCode code) {
  return code == ErrorCode::NotFound ? StatusCode::INVALID_ARGUMENT : grpcCode(code);
}

// Finishes a unary call at once.
ServerUnaryReactor* finishNow(CallbackServerContext* context, Status status) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

std::optional<std::string_view> versionOf(const std::string& version) {
  if (version.empty()) return std::nullopt;  // the server's choice
  return std::string_view(version);
}

// One ModelInfer call: queued on the model's batcher, finished by the worker that ran it or
// by a cancel. Deletes itself when gRPC is done with the call.
class InferReactor final : public ServerUnaryReactor {
 public:
  InferReactor(ServingCore& state, std::shared_ptr<InferCall> call)
      : state_(state), call_(std::move(call)) {}

  // After submit: from here on a cancel withdraws the request.
  void queued(uint64_t ticket) {
    bool cancelNow = false;
    {
      std::lock_guard lock(mutex_);
      ticket_ = ticket;
      cancelNow = cancelled_;
    }
    if (cancelNow) call_->served->batcher->cancel(ticket);
  }

  // status: the metrics' category (statusFor); timing: nullptr when no worker saw it.
  void finish(Status status, int accountedAs, const RequestTiming* timing, std::size_t bytesOut) {
    state_.account(*call_, accountedAs, timing, bytesOut);
    Finish(std::move(status));
  }

  void OnCancel() override {
    std::optional<uint64_t> ticket;
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
      ticket = ticket_;
    }
    // Answers a still-queued request with Error(Cancelled) before it returns; a request
    // already running finishes normally (gRPC drops that answer).
    if (ticket) call_->served->batcher->cancel(*ticket);
  }

  void OnDone() override { delete this; }

 private:
  ServingCore& state_;
  std::shared_ptr<InferCall> call_;
  std::mutex mutex_;
  std::optional<uint64_t> ticket_;
  bool cancelled_ = false;
};

class Service final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit Service(ServingCore& state) : state_(state) {}

  ServerUnaryReactor* ServerLive(CallbackServerContext* context, const inference::ServerLiveRequest*,
                                 inference::ServerLiveResponse* response) override {
    response->set_live(true);
    return finishNow(context, Status::OK);
  }

  ServerUnaryReactor* ServerReady(CallbackServerContext* context,
                                  const inference::ServerReadyRequest*,
                                  inference::ServerReadyResponse* response) override {
    response->set_ready(state_.isReady());
    return finishNow(context, Status::OK);
  }

  // An unknown model or version is "not ready" rather than an error, as the HTTP client
  // libraries report a 404 on .../ready.
  ServerUnaryReactor* ModelReady(CallbackServerContext* context,
                                 const inference::ModelReadyRequest* request,
                                 inference::ModelReadyResponse* response) override {
    bool ready = false;
    try {
      state_.find(request->name(), versionOf(request->version()));
      ready = !state_.isStopping();
    } catch (const Error&) {
    }
    response->set_ready(ready);
    return finishNow(context, Status::OK);
  }

  ServerUnaryReactor* ServerMetadata(CallbackServerContext* context,
                                     const inference::ServerMetadataRequest*,
                                     inference::ServerMetadataResponse* response) override {
    response->set_name("polyinfer");
    response->set_version(std::string(kVersion));
    for (const std::string& extension : serverExtensions()) response->add_extensions(extension);
    return finishNow(context, Status::OK);
  }

  ServerUnaryReactor* ModelMetadata(CallbackServerContext* context,
                                    const inference::ModelMetadataRequest* request,
                                    inference::ModelMetadataResponse* response) override {
    try {
      std::vector<std::shared_ptr<ServedVersion>> versions;
      if (request->version().empty())
        versions = state_.versionsOf(request->name());
      else
        versions = {state_.find(request->name(), request->version())};
      std::vector<std::string> texts;
      for (const auto& served : versions) texts.push_back(served->versionText);
      const Model& model = *versions.back()->model;
      kserve::fillModelMetadata(request->name(), texts, model.engineName(), model.inputs(),
                                model.outputs(), *response);
      return finishNow(context, Status::OK);
    } catch (const Error& e) {
      return finishNow(context, statusOf(e));
    }
  }

  ServerUnaryReactor* ModelInfer(CallbackServerContext* context,
                                 const inference::ModelInferRequest* request,
                                 inference::ModelInferResponse* response) override {
    std::shared_ptr<ServedVersion> served;
    try {
      served = state_.find(request->model_name(), versionOf(request->model_version()));
    } catch (const Error& e) {
      return finishNow(context, statusOf(e));
    }
    auto call = std::make_shared<InferCall>();
    call->served = served;
    call->protocol = "grpc";
    call->start = std::chrono::steady_clock::now();
    call->peer = context->peer();
    // Sizes only for the access log: ByteSizeLong walks the whole message.
    const bool accessLog = state_.options().accessLog;
    call->bytesIn = accessLog ? request->ByteSizeLong() : 0;
    call->id = request->id();
    auto* reactor = new InferReactor(state_, call);

    std::optional<kserve::InferRequest> decoded;
    try {
      // Raw inputs are views of the request message, which gRPC keeps until the call is
      // finished, and a worker reads them only before it finishes the call: an owner-less
      // holder, so no copy.
      const std::shared_ptr<const void> requestBytes(std::shared_ptr<const void>(), request);
      decoded = kserve::decodeInferRequest(*request, requestBytes);
      kserve::checkRequestedOutputs(decoded->outputs, served->model->outputs());
    } catch (const Error& e) {
      reactor->finish(Status(requestCode(e.code()), e.what()), 400, nullptr, 0);
      return reactor;
    }
    call->outputs = std::move(decoded->outputs);
    call->rows = batchRows(*served, decoded->inputs);
    // The earlier of the request's timeout parameter and the call's gRPC deadline.
    auto deadline = deadlineOf(call->start, decoded->timeoutMicroseconds);
    const auto grpcDeadline = context->deadline();
    if (grpcDeadline != std::chrono::system_clock::time_point::max())
      deadline = std::min(deadline, std::chrono::steady_clock::now() +
                                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                            grpcDeadline - std::chrono::system_clock::now()));
    try {
      const uint64_t ticket = state_.submit(
          call, std::move(decoded->inputs), deadline,
          [reactor, call, response, accessLog](BatchingPredictor::Result&& result) {
            if (result.error) {
              const auto [code, message] = describe(result.error);
              return reactor->finish(Status(requestCode(code), message), statusFor(code),
                                     &result.timing, 0);
            }
            try {
              const ServedVersion& sv = *call->served;
              kserve::encodeInferResponse(sv.name, sv.versionText, call->id, result.outputs,
                                          call->outputs, *response);
              reactor->finish(Status::OK, 200, &result.timing,
                              accessLog ? response->ByteSizeLong() : 0);
            } catch (const Error& e) {
              response->Clear();
              reactor->finish(Status(requestCode(e.code()), e.what()), statusFor(e.code()),
                              &result.timing, 0);
            }
          });
      reactor->queued(ticket);
    } catch (const Error& e) {
      reactor->finish(Status(requestCode(e.code()), e.what()), statusFor(e.code()), nullptr, 0);
    }
    return reactor;
  }

  ServerUnaryReactor* RepositoryIndex(CallbackServerContext* context,
                                      const inference::RepositoryIndexRequest* request,
                                      inference::RepositoryIndexResponse* response) override {
    if (Status refused = checkRepositoryName(request->repository_name()); !refused.ok())
      return finishNow(context, refused);
    for (const IndexEntry& entry : state_.index()) {
      if (request->ready() && entry.state != "READY") continue;
      auto& model = *response->add_models();
      model.set_name(entry.name);
      model.set_version(entry.version);
      model.set_state(entry.state);
      model.set_reason(entry.reason);
    }
    return finishNow(context, Status::OK);
  }

  ServerUnaryReactor* RepositoryModelLoad(CallbackServerContext* context,
                                          const inference::RepositoryModelLoadRequest* request,
                                          inference::RepositoryModelLoadResponse*) override {
    if (Status refused = checkModelControl(request->repository_name()); !refused.ok())
      return finishNow(context, refused);
    if (!request->parameters().empty())
      return finishNow(context, Status(StatusCode::UNIMPLEMENTED,
                                       fmt::format("load parameters ({}) are not supported: "
                                                   "polyinfer loads a model as its repository "
                                                   "holds it",
                                                   request->parameters().begin()->first)));
    ServerUnaryReactor* reactor = context->DefaultReactor();
    state_.loadModelInBackground(request->model_name(), [reactor](std::exception_ptr error) {
      if (!error) return reactor->Finish(Status::OK);
      const auto [code, message] = describe(error);
      reactor->Finish(Status(code == ErrorCode::NotFound ? StatusCode::NOT_FOUND
                                                         : StatusCode::INVALID_ARGUMENT,
                             message));
    });
    return reactor;
  }

  ServerUnaryReactor* RepositoryModelUnload(CallbackServerContext* context,
                                            const inference::RepositoryModelUnloadRequest* request,
                                            inference::RepositoryModelUnloadResponse*) override {
    if (Status refused = checkModelControl(request->repository_name()); !refused.ok())
      return finishNow(context, refused);
    // Triton's clients always send unload_dependents; polyinfer has no ensembles, so there
    // are no dependents.
    for (const auto& [key, value] : request->parameters())
      if (key != "unload_dependents")
        return finishNow(context, Status(StatusCode::UNIMPLEMENTED,
                                         fmt::format("unload parameter '{}' is not supported", key)));
    try {
      state_.unloadModel(request->model_name());
      return finishNow(context, Status::OK);
    } catch (const Error& e) {
      return finishNow(context, statusOf(e));
    }
  }

 private:
  // The server has one repository: "" or its directory's name.
  Status checkRepositoryName(const std::string& name) const {
    const std::string own = state_.options().repository.filename().string();
    if (name.empty() || name == own) return Status::OK;
    return Status(StatusCode::NOT_FOUND,
                  fmt::format("unknown repository '{}'; this server has one, '{}' (or pass \"\")",
                              name, own));
  }

  Status checkModelControl(const std::string& repositoryName) const {
    if (state_.options().modelControlMode != "explicit")
      return Status(StatusCode::FAILED_PRECONDITION,
                    "model control is off: start the server with --model-control-mode explicit "
                    "to load and unload models");
    return checkRepositoryName(repositoryName);
  }

  ServingCore& state_;
};

class Frontend final : public GrpcFrontend {
 public:
  Frontend(const ServerOptions& options, ServingCore& core) : service_(core) {
    const std::string address = fmt::format("{}:{}", options.http.host, options.grpcPort);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<std::size_t>(options.http.maxBodyBytes, INT32_MAX)));
    builder.SetMaxSendMessageSize(-1);  // outputs are as large as the model makes them
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0)
      throw Error(ErrorCode::Unavailable,
                  fmt::format("gRPC: cannot listen on {} (in use, or not an address of this host)",
                              address));
  }

  ~Frontend() override { stop(10); }

  int port() const noexcept override { return port_; }

  void stop(int graceSeconds) override {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(graceSeconds));
    server_->Wait();
    server_.reset();
  }

 private:
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

std::unique_ptr<GrpcFrontend> start(const ServerOptions& options, ServingCore& core) {
  return std::make_unique<Frontend>(options, core);
}

}  // namespace
}  // namespace polyinfer::serve

extern "C" const polyinfer::serve::GrpcModule* polyinfer_serve_grpc_module() {
  static const polyinfer::serve::GrpcModule module{polyinfer::serve::kGrpcModuleAbi,
                                                   POLYINFER_VERSION, &polyinfer::serve::start};
  return &module;
}
