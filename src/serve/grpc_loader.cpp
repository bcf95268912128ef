// startGrpcFrontend: loads the gRPC module (grpc_module.hpp says why it is one) beside
// libpolyinfer, once, and starts the front end.
#include <dlfcn.h>

#include <filesystem>
#include <string>

#include "grpc_module.hpp"
#include "polyinfer/thread_budget.hpp"
#include "polyinfer/version.hpp"

namespace polyinfer::serve {
namespace fs = std::filesystem;

namespace {

// The directory libpolyinfer.so was loaded from: the module is in
// <that>/POLYINFER_SERVE_GRPC_MODULE, in the install and the build tree alike (as the engine
// plugins and libpolyinfer_io's module are).
fs::path coreLibraryDirectory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&ThreadBudget::detect), &info) == 0 || info.dli_fname == nullptr)
    return {};
  std::error_code ec;
  fs::path library = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path(info.dli_fname).parent_path() : library.parent_path();
}

[[noreturn]] void cannotLoad(const fs::path& module, const std::string& reason) {
  throw Error(ErrorCode::Internal, "polyinfer serve: cannot load the gRPC front end '" +
                                       module.string() + "': " + reason +
                                       " (start with --grpc-port -1 to serve HTTP only)");
}

const GrpcModule& loadModule() {
  const fs::path module = coreLibraryDirectory() / POLYINFER_SERVE_GRPC_MODULE;
  dlerror();
  // RTLD_LOCAL: the module's protobuf must stay out of the global scope.
  void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* message = dlerror();
    cannotLoad(module, message ? message : "unknown dynamic loader error");
  }
  using EntryPoint = const GrpcModule* (*)();
  auto entryPoint = reinterpret_cast<EntryPoint>(dlsym(handle, POLYINFER_SERVE_GRPC_ENTRY_SYMBOL));
  const GrpcModule* table = entryPoint ? entryPoint() : nullptr;
  std::string problem;
  if (table == nullptr)
    problem = std::string("it does not export ") + POLYINFER_SERVE_GRPC_ENTRY_SYMBOL + "()";
  else if (table->abiVersion != kGrpcModuleAbi ||
           std::string_view(table->polyinferVersion) != POLYINFER_VERSION)
    problem = "it was built for module ABI " + std::to_string(table->abiVersion) +
              " of polyinfer " + table->polyinferVersion + ", this program is ABI " +
              std::to_string(kGrpcModuleAbi) + " of polyinfer " + POLYINFER_VERSION;
  if (!problem.empty()) {
    dlclose(handle);
    cannotLoad(module, problem);
  }
  return *table;  // the handle is never closed: the module stays loaded
}

}  // namespace

std::unique_ptr<GrpcFrontend> startGrpcFrontend(const ServerOptions& options, ServingCore& core) {
  // Loaded once (thread-safe); a failure throws and the next call tries again.
  static const GrpcModule& module = loadModule();
  return module.start(options, core);
}

}  // namespace polyinfer::serve
