#include "mx_common.hpp"

#include "mx_api.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::mx {

namespace {

// mshadow::TypeFlag. The types MXNet 1.x's operators compute in: its int16,
// uint16, uint32, uint64 and bool codes exist, but few operators take them.
const plugin::DTypeTable<int>& dtypeTable() {
  static const plugin::DTypeTable<int> table{
      {DataType::Float32, 0}, {DataType::Float64, 1}, {DataType::Float16, 2},
      {DataType::UInt8, 3},   {DataType::Int32, 4},   {DataType::Int8, 5},
      {DataType::Int64, 6},
  };
  return table;
}

}  // namespace

int toMx(DataType type) noexcept { return dtypeTable().toEngine(type).value_or(-1); }

DataType fromMx(int code) noexcept { return dtypeTable().fromEngine(code); }

int requireMx(DataType type, std::string_view what) {
  return dtypeTable().require(type, kEngineName, what, kLibraryName);
}

std::string mxTypeName(int code) {
  static constexpr const char* kNames[] = {"float32", "float64", "float16", "uint8",
                                           "int32",   "int8",    "int64",   "bool",
                                           "int16",   "uint16",  "uint32",  "uint64",
                                           "bfloat16"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return "MXNet dtype " + std::to_string(code);
}

void check(int status, std::string_view context, ErrorCode code) {
  if (status == 0) return;
  throw Error(code, std::string(kEngineName) + ": " + std::string(context) + ": " + lastError());
}

std::mutex& graphBuildMutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace polyinfer::mx
