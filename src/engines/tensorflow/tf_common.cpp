#include "tf_common.hpp"

#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::tf {

namespace {

const plugin::DTypeTable<TF_DataType>& dtypeTable() {
  static const plugin::DTypeTable<TF_DataType> table{
      {DataType::Float32, TF_FLOAT},       {DataType::Float64, TF_DOUBLE},
      {DataType::Float16, TF_HALF},        {DataType::BFloat16, TF_BFLOAT16},
      {DataType::Int8, TF_INT8},           {DataType::Int16, TF_INT16},
      {DataType::Int32, TF_INT32},         {DataType::Int64, TF_INT64},
      {DataType::UInt8, TF_UINT8},         {DataType::UInt16, TF_UINT16},
      {DataType::UInt32, TF_UINT32},       {DataType::UInt64, TF_UINT64},
      {DataType::Bool, TF_BOOL},           {DataType::String, TF_STRING},
      {DataType::Complex64, TF_COMPLEX64}, {DataType::Complex128, TF_COMPLEX128},
  };
  return table;
}

}  // namespace

std::string tfTypeName(int type) {
  // tensorflow/core/framework/types.proto's names for the types a signature
  // may declare.
  static constexpr const char* kNames[] = {
      "DT_INVALID", "DT_FLOAT",   "DT_DOUBLE",   "DT_INT32",      "DT_UINT8",   "DT_INT16",
      "DT_INT8",    "DT_STRING",  "DT_COMPLEX64", "DT_INT64",     "DT_BOOL",    "DT_QINT8",
      "DT_QUINT8",  "DT_QINT32",  "DT_BFLOAT16", "DT_QINT16",     "DT_QUINT16", "DT_UINT16",
      "DT_COMPLEX128", "DT_HALF", "DT_RESOURCE", "DT_VARIANT",    "DT_UINT32",  "DT_UINT64",
      "DT_FLOAT8_E5M2", "DT_FLOAT8_E4M3FN", "DT_FLOAT8_E4M3FNUZ", "DT_FLOAT8_E4M3B11FNUZ",
      "DT_FLOAT8_E5M2FNUZ", "DT_INT4", "DT_UINT4"};
  if (type >= 0 && type < static_cast<int>(std::size(kNames))) return kNames[type];
  return "TensorFlow dtype " + std::to_string(type);
}

DataType fromTf(TF_DataType type, std::string_view what) {
  const DataType ours = dtypeTable().fromEngine(type);
  if (ours == DataType::Undefined)
    throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": " + std::string(what) +
                                            ": " + tfTypeName(type) +
                                            " is not supported by polyinfer's tensorflow engine");
  return ours;
}

ErrorCode errorCodeFor(TF_Code code) noexcept {
  switch (code) {
    case TF_INVALID_ARGUMENT:
    case TF_OUT_OF_RANGE:
      return ErrorCode::InvalidArgument;
    case TF_NOT_FOUND:
      return ErrorCode::NotFound;
    case TF_UNIMPLEMENTED:
      return ErrorCode::Unsupported;
    case TF_RESOURCE_EXHAUSTED:
      return ErrorCode::ResourceExhausted;
    case TF_UNAVAILABLE:
      return ErrorCode::Unavailable;
    default:
      return ErrorCode::EngineFailure;
  }
}

void Status::throwIfError(const std::string& context) const {
  const TF_Code code = api().TF_GetCode(status_);
  if (code == TF_OK) return;
  throw Error(errorCodeFor(code),
              std::string(kEngineName) + ": " + context + ": " + api().TF_Message(status_));
}

}  // namespace polyinfer::tf
