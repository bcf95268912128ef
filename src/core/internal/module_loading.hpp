// Loading one of polyinfer's own modules: a shared library beside
// libpolyinfer (in <libdir>/polyinfer/) that a polyinfer library dlopen()s
// RTLD_LOCAL on first use, so that a dependency it carries (protobuf, gRPC)
// stays out of the program's global scope, where it would clash with an
// engine's own copy. A module exports one entry point that returns its table
// of functions, headed by the module ABI version and the polyinfer version it
// was built for; both must be the loader's.
//
// Header-only and not installed: the libraries that load modules (src/io,
// src/serve, src/bench) each compile their own copy, so that nothing joins
// libpolyinfer's exported API for it.
#pragma once

#include <dlfcn.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "polyinfer/error.hpp"
#include "polyinfer/version.hpp"

namespace polyinfer::detail {

/// The directory of the shared library that holds `address` (links
/// resolved), or empty when the dynamic loader cannot say. A module lives at
/// a fixed path below its loader's directory, in the install and the build
/// tree alike.
inline std::filesystem::path libraryDirectoryOf(const void* address) {
  Dl_info info{};
  if (::dladdr(address, &info) == 0 || info.dli_fname == nullptr) return {};
  std::error_code ec;
  const std::filesystem::path library = std::filesystem::canonical(info.dli_fname, ec);
  return (ec ? std::filesystem::path(info.dli_fname) : library).parent_path();
}

/// Opens the module at `path` (RTLD_NOW | RTLD_LOCAL), calls its entry point
/// `entrySymbol` (a `const Table* ()`; Table has `std::uint32_t abiVersion`
/// and `const char* polyinferVersion`) and checks both against `abi` and
/// this build's POLYINFER_VERSION. On failure throws the Error that
/// `refuse(reason)` returns, the caller choosing code and advice; `reason`
/// reads after the module's name: "cannot be loaded: <the loader's
/// message>", "does not export X()", "was built for module ABI 1 of
/// polyinfer 0.1.0, expected ABI 2 of polyinfer 0.1.0". The handle of a
/// module that loads is never closed: its code stays in use.
template <typename Table, typename Refuse>
const Table& loadModuleTable(const std::filesystem::path& path, const char* entrySymbol, std::uint32_t abi,
                             Refuse&& refuse) {
  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* message = ::dlerror();
    throw Error(refuse(std::string("cannot be loaded: ") + (message ? message : "no reason given")));
  }
  using EntryPoint = const Table* (*)();
  const auto entry = reinterpret_cast<EntryPoint>(::dlsym(handle, entrySymbol));
  const Table* table = entry ? entry() : nullptr;
  std::string problem;
  if (entry == nullptr) {
    problem = std::string("does not export ") + entrySymbol + "()";
  } else if (table == nullptr) {
    problem = std::string("returned no table from ") + entrySymbol + "()";
  } else {
    const std::string_view built = table->polyinferVersion ? table->polyinferVersion : "(unknown)";
    if (table->abiVersion != abi || built != POLYINFER_VERSION)
      problem = "was built for module ABI " + std::to_string(table->abiVersion) + " of polyinfer " +
                std::string(built) + ", expected ABI " + std::to_string(abi) + " of polyinfer " +
                POLYINFER_VERSION;
  }
  if (!problem.empty()) {
    ::dlclose(handle);
    throw Error(refuse(problem));
  }
  return *table;
}

}  // namespace polyinfer::detail
