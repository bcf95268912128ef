// Shared helpers of the TensorFlow plugin: names, the dtype table and
// TF_Status handling.
#pragma once

#include <string>
#include <string_view>

#include "polyinfer/dtype.hpp"
#include "polyinfer/error.hpp"
#include "tf_api.hpp"

namespace polyinfer::tf {

/// The engine's name, as in the plugin's file name.
inline constexpr const char* kEngineName = "tensorflow";

/// DataType for a TensorFlow type; Error(Unsupported) naming `what` and the
/// type for one polyinfer cannot carry (resource, variant, quantized, int4).
DataType fromTf(TF_DataType type, std::string_view what);
/// "DT_HALF"-style name of a TensorFlow type, for messages.
std::string tfTypeName(int type);

/// The ErrorCode a TensorFlow status code becomes.
ErrorCode errorCodeFor(TF_Code code) noexcept;

/// A TF_Status, deleted with its owner.
class Status {
 public:
  Status() : status_(api().TF_NewStatus()) {}
  ~Status() { api().TF_DeleteStatus(status_); }
  Status(const Status&) = delete;
  Status& operator=(const Status&) = delete;

  TF_Status* get() const noexcept { return status_; }
  bool ok() const { return api().TF_GetCode(status_) == TF_OK; }
  /// Throws Error("tensorflow: <context>: <TensorFlow's message>") with the
  /// code errorCodeFor() gives, unless the status is OK.
  void throwIfError(const std::string& context) const;

 private:
  TF_Status* status_;
};

}  // namespace polyinfer::tf
