// The program's side of the gRPC remote target: fetchGrpcModel and
// makeGrpcTarget load the module libpolyinfer_bench_grpc.so
// (remote_grpc_module.hpp says why it is one) on first use and call it.
#include <dlfcn.h>

#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "polyinfer/error.hpp"
#include "polyinfer/thread_budget.hpp"
#include "polyinfer/version.hpp"
#include "remote_grpc_module.hpp"

namespace polyinfer::bench::remote {
namespace {

namespace fs = std::filesystem;

/// <directory of libpolyinfer.so>/POLYINFER_BENCH_GRPC_MODULE: the module
/// sits there in the install and in the build tree alike.
fs::path modulePath() {
  Dl_info core{};
  if (::dladdr(reinterpret_cast<void*>(&ThreadBudget::detect), &core) == 0 ||
      core.dli_fname == nullptr)
    return POLYINFER_BENCH_GRPC_MODULE;  // left to the loader's search path
  std::error_code ec;
  const fs::path library = fs::canonical(core.dli_fname, ec);
  return (ec ? fs::path(core.dli_fname) : library).parent_path() / POLYINFER_BENCH_GRPC_MODULE;
}

const GrpcRemoteModule& load() {
  const fs::path path = modulePath();
  const auto refuse = [&path](const std::string& why) {
    return Error(ErrorCode::Unavailable,
                 fmt::format("grpc:// needs the bench's gRPC module '{}', which {} (benchmark the "
                             "server over http:// instead)",
                             path.string(), why));
  };
  // RTLD_LOCAL: the module's protobuf must stay out of the global scope.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = ::dlerror();
    throw refuse(fmt::format("cannot be loaded: {}", reason ? reason : "no reason given"));
  }
  const auto entry = reinterpret_cast<const GrpcRemoteModule* (*)()>(
      ::dlsym(handle, POLYINFER_BENCH_GRPC_ENTRY_SYMBOL));
  const GrpcRemoteModule* module = entry == nullptr ? nullptr : entry();
  std::string why;
  if (module == nullptr)
    why = fmt::format("does not export {}()", POLYINFER_BENCH_GRPC_ENTRY_SYMBOL);
  else if (module->abiVersion != kGrpcRemoteModuleAbi ||
           std::string_view(module->polyinferVersion) != POLYINFER_VERSION)
    why = fmt::format("was built for module ABI {} of polyinfer {}, expected ABI {} of polyinfer {}",
                      module->abiVersion, module->polyinferVersion, kGrpcRemoteModuleAbi,
                      POLYINFER_VERSION);
  if (!why.empty()) {
    ::dlclose(handle);
    throw refuse(why);
  }
  return *module;  // never closed: the targets it made run its code
}

const GrpcRemoteModule& grpcModule() {
  // Loaded once (thread-safe); a failure throws, and the next call tries again.
  static const GrpcRemoteModule& module = load();
  return module;
}

}  // namespace

RemoteModel fetchGrpcModel(const Url& url, const RemoteEndpoint& endpoint) {
  return grpcModule().fetchModel(url, endpoint);
}

std::unique_ptr<Target> makeGrpcTarget(Url url, RemoteEndpoint endpoint, RemoteModel model,
                                       Tensors inputs, std::vector<ConfigValue> extra) {
  return grpcModule().makeTarget(std::move(url), std::move(endpoint), std::move(model),
                                 std::move(inputs), std::move(extra));
}

}  // namespace polyinfer::bench::remote
