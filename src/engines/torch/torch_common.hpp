// Shared helpers of the LibTorch plugin: the engine's name, the dtype table,
// and the translation of LibTorch's exceptions (and long messages) into
// polyinfer::Error. Light: only c10's ScalarType, no <torch/script.h>.
#pragma once

#include <c10/core/ScalarType.h>
#include <torch/version.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace c10 {
class Error;
}  // namespace c10

namespace polyinfer::torch_engine {

/// The engine's name, as in the plugin's file name and manifest.
inline constexpr const char* kEngineName = "torch";
/// The library, as messages name it: "LibTorch 1.13.1".
inline constexpr const char* kLibraryName = "LibTorch " TORCH_VERSION;

/// DataType <-> at::ScalarType. Types polyinfer has no name for (quantized
/// types, ...) are absent: fromEngine gives DataType::Undefined.
const plugin::DTypeTable<at::ScalarType>& torchDTypes();

/// The useful part of a LibTorch error message, one line: the first non-empty
/// line, or for a TorchScript interpreter error ("The following operation
/// failed in the TorchScript interpreter. Traceback...") the last
/// "<Kind>Error: ..." line that names the actual failure. Capped at `maxLength`
/// characters. (torch_messages.cpp)
std::string summarizeTorchMessage(std::string_view message, std::size_t maxLength = 400);

/// A c10::Error's message without its backtrace, summarised.
std::string torchMessage(const c10::Error& e);

/// The plugin kit's ExceptionTranslator for LibTorch: c10::OutOfMemoryError ->
/// ResourceExhausted ("out of memory: ..."), c10::NotImplementedError ->
/// Unsupported, other c10::Error and torch::jit::JITException (a `raise` in
/// TorchScript: "ValueError: ...") -> `code`, each summarised; any other
/// std::exception (a TorchScript parser's ErrorReport, ...) -> `code` with its
/// message summarised. polyinfer::Error and std::bad_alloc are left to the kit.
std::optional<plugin::TranslatedError> translateTorchException(ErrorCode code);

/// plugin::rethrowAsError for this engine: "torch: <context>: <message>".
/// Call only inside a catch block.
[[noreturn]] void rethrowTorchError(std::string_view context, ErrorCode code);

/// The message of the exception being handled, summarised, for a detail text
/// (a fallback that is reported rather than thrown). Call only inside a catch
/// block.
std::string currentExceptionMessage();

}  // namespace polyinfer::torch_engine
