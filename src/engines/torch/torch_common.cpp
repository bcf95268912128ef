// The LibTorch dtype table and exception translation (torch_common.hpp).
#include "torch_common.hpp"

#include <c10/util/Exception.h>
#include <torch/csrc/jit/runtime/jit_exception.h>

#include <exception>
#include <new>

namespace polyinfer::torch_engine {

const plugin::DTypeTable<at::ScalarType>& torchDTypes() {
  static const plugin::DTypeTable<at::ScalarType> table{
      {DataType::Float32, at::kFloat},          {DataType::Float64, at::kDouble},
      {DataType::Float16, at::kHalf},           {DataType::BFloat16, at::kBFloat16},
      {DataType::Int8, at::kChar},              {DataType::Int16, at::kShort},
      {DataType::Int32, at::kInt},              {DataType::Int64, at::kLong},
      {DataType::UInt8, at::kByte},             {DataType::Bool, at::kBool},
      {DataType::Complex64, at::kComplexFloat}, {DataType::Complex128, at::kComplexDouble},
  };
  return table;
}

std::string torchMessage(const c10::Error& e) {
  return summarizeTorchMessage(e.what_without_backtrace());
}

std::optional<plugin::TranslatedError> translateTorchException(ErrorCode code) {
  try {
    throw;
  } catch (const Error&) {
    return std::nullopt;  // ours: passes unchanged
  } catch (const std::bad_alloc&) {
    return std::nullopt;  // the kit's "out of memory"
  } catch (const c10::OutOfMemoryError& e) {
    return plugin::TranslatedError{ErrorCode::ResourceExhausted, "out of memory: " + torchMessage(e)};
  } catch (const c10::NotImplementedError& e) {
    return plugin::TranslatedError{ErrorCode::Unsupported, torchMessage(e)};
  } catch (const c10::Error& e) {
    return plugin::TranslatedError{code, torchMessage(e)};
  } catch (const torch::jit::JITException& e) {
    // A `raise` in the TorchScript code itself: "ValueError: <its message>".
    std::string kind = e.getPythonClassName().value_or("");
    if (const std::size_t dot = kind.rfind('.'); dot != std::string::npos) kind.erase(0, dot + 1);
    return plugin::TranslatedError{code, (kind.empty() ? "" : kind + ": ") +
                                             summarizeTorchMessage(e.getOriginalMsg().value_or(e.what()))};
  } catch (const std::exception& e) {
    // LibTorch's other exceptions (torch::jit::ErrorReport, with a source
    // excerpt) are as long as its own: summarised too.
    return plugin::TranslatedError{code, summarizeTorchMessage(e.what())};
  } catch (...) {
    return std::nullopt;
  }
}

void rethrowTorchError(std::string_view context, ErrorCode code) {
  plugin::rethrowAsError(kEngineName, context, code, &translateTorchException);
}

std::string currentExceptionMessage() {
  if (std::optional<plugin::TranslatedError> translated =
          translateTorchException(ErrorCode::EngineFailure))
    return translated->message;
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace polyinfer::torch_engine
