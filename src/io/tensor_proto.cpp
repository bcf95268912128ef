// onnx.TensorProto reader and writer, with Debian's generated classes
// (libonnx-dev, built with ONNX_ML=1 and ONNX_NAMESPACE=onnx). This file is
// the module libpolyinfer_io_tensorproto.so, which libpolyinfer_io loads at
// run time (tensor_proto_module.hpp says why); it exports only its entry point.
//
// Where each dtype lives when raw_data is not used (onnx.proto):
//   float_data   FLOAT, COMPLEX64 (real, imaginary pairs)
//   int32_data   INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16 and BFLOAT16
//                (their bits), FLOAT8* (bits), and the sub-byte types (one packed
//                byte per entry)
//   int64_data   INT64
//   double_data  DOUBLE, COMPLEX128
//   uint64_data  UINT32, UINT64
//   string_data  STRING
// raw_data holds the dense little-endian bytes of every non-string dtype.
#include <onnx/onnx_pb.h>

#include <cstring>
#include <limits>

#include "io_util.hpp"
#include "polyinfer/version.hpp"
#include "tensor_proto_module.hpp"

namespace polyinfer::io {
namespace fs = std::filesystem;

namespace {

constexpr const char* kWhat = "TensorProto file";

bool knownType(int32_t value) {
  if (value == static_cast<int32_t>(DataType::String)) return true;
  return value > 0 && bitsPerElement(static_cast<DataType>(value)) > 0;
}

/// Bytes per element in dense storage, or 0 for sub-byte types.
std::size_t wholeBytes(DataType type) {
  const std::size_t bits = bitsPerElement(type);
  return bits % 8 == 0 ? bits / 8 : 0;
}

/// Copies a typed repeated field into dense storage: each entry becomes one
/// element of `Element` (truncating, as ONNX stores int8/uint16/... in int32).
template <typename Element, typename Field>
void copyField(const Field& field, Tensor& tensor) {
  auto* out = static_cast<Element*>(tensor.mutableRawData());
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Element>(field.Get(i));
}

/// Element unit that byte order applies to (a complex number swaps each half).
std::size_t swapUnit(DataType type) {
  if (type == DataType::Complex64) return 4;
  if (type == DataType::Complex128) return 8;
  return wholeBytes(type);
}

NamedTensor readTensorProto(const fs::path& file) {
  const std::string bytes = detail::readWholeFile(file, kWhat);
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes))
    detail::malformed(file, kWhat, "not a serialized onnx.TensorProto (protobuf parse failed)");
  if (bytes.empty()) detail::malformed(file, kWhat, "empty file");
  if (proto.data_location() == onnx::TensorProto::EXTERNAL || proto.external_data_size() > 0)
    throw Error(ErrorCode::Unsupported,
                std::string(kWhat) + " " + detail::quoted(file) +
                    ": tensor data stored in external files is not supported");
  if (proto.has_segment())
    throw Error(ErrorCode::Unsupported, std::string(kWhat) + " " + detail::quoted(file) +
                                            ": segmented tensors are not supported");
  const int32_t typeValue = proto.data_type();
  if (!knownType(typeValue))
    detail::malformed(file, kWhat,
                      typeValue == 0 ? std::string("data_type is UNDEFINED (0); is this a TensorProto?")
                                     : "unknown data_type " + std::to_string(typeValue));
  const auto type = static_cast<DataType>(typeValue);
  const std::string typeName(toString(type));
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0) detail::malformed(file, kWhat, "negative dimension in dims " + toString(shape));
  const int64_t count = elementCount(shape);
  NamedTensor result{proto.name(), Tensor()};
  const std::string what = typeName + toString(shape);

  auto requireCount = [&](const char* field, int64_t have, int64_t want) {
    if (have != want)
      detail::malformed(file, kWhat,
                        std::string(field) + " has " + std::to_string(have) + " entries, expected " +
                            std::to_string(want) + " for " + what);
  };
  // Fields that must be empty for this dtype: data there means a broken file.
  auto requireOnly = [&](const char* allowed) {
    const std::pair<const char*, int> sizes[] = {
        {"float_data", proto.float_data_size()},   {"int32_data", proto.int32_data_size()},
        {"int64_data", proto.int64_data_size()},   {"double_data", proto.double_data_size()},
        {"uint64_data", proto.uint64_data_size()}, {"string_data", proto.string_data_size()},
        {"raw_data", proto.has_raw_data() && !proto.raw_data().empty() ? 1 : 0}};
    for (const auto& [name, size] : sizes)
      if (size > 0 && std::strcmp(name, allowed) != 0)
        detail::malformed(file, kWhat,
                          std::string("a ") + typeName + " tensor cannot have " + name +
                              (allowed[0] ? std::string(" (its values belong in ") + allowed + ")"
                                          : std::string()));
  };

  if (type == DataType::String) {
    requireOnly("string_data");
    requireCount("string_data", proto.string_data_size(), count);
    std::vector<std::string> values(proto.string_data().begin(), proto.string_data().end());
    result.tensor = Tensor::fromStrings(std::move(shape), std::move(values));
    return result;
  }

  Tensor tensor = Tensor::allocate(type, shape);
  if (proto.has_raw_data() && !proto.raw_data().empty()) {
    requireOnly("raw_data");
    if (proto.raw_data().size() != tensor.byteSize())
      detail::malformed(file, kWhat,
                        "raw_data has " + std::to_string(proto.raw_data().size()) +
                            " bytes, expected " + std::to_string(tensor.byteSize()) + " for " +
                            what);
    std::memcpy(tensor.mutableRawData(), proto.raw_data().data(), tensor.byteSize());
    if constexpr (!detail::kLittleEndianHost) {
      const std::size_t unit = swapUnit(type);
      if (unit > 1) detail::swapBytes(tensor.mutableRawData(), tensor.byteSize() / unit, unit);
    }
  } else {
    switch (type) {
      case DataType::Float32:
        requireOnly("float_data");
        requireCount("float_data", proto.float_data_size(), count);
        copyField<float>(proto.float_data(), tensor);
        break;
      case DataType::Complex64:
        requireOnly("float_data");
        requireCount("float_data", proto.float_data_size(), 2 * count);
        copyField<float>(proto.float_data(), tensor);
        break;
      case DataType::Float64:
        requireOnly("double_data");
        requireCount("double_data", proto.double_data_size(), count);
        copyField<double>(proto.double_data(), tensor);
        break;
      case DataType::Complex128:
        requireOnly("double_data");
        requireCount("double_data", proto.double_data_size(), 2 * count);
        copyField<double>(proto.double_data(), tensor);
        break;
      case DataType::Int64:
        requireOnly("int64_data");
        requireCount("int64_data", proto.int64_data_size(), count);
        copyField<int64_t>(proto.int64_data(), tensor);
        break;
      case DataType::UInt32:
        requireOnly("uint64_data");
        requireCount("uint64_data", proto.uint64_data_size(), count);
        copyField<uint32_t>(proto.uint64_data(), tensor);
        break;
      case DataType::UInt64:
        requireOnly("uint64_data");
        requireCount("uint64_data", proto.uint64_data_size(), count);
        copyField<uint64_t>(proto.uint64_data(), tensor);
        break;
      case DataType::Int32:
        requireOnly("int32_data");
        requireCount("int32_data", proto.int32_data_size(), count);
        copyField<int32_t>(proto.int32_data(), tensor);
        break;
      case DataType::Int16:
      case DataType::UInt16:
      case DataType::Float16:
      case DataType::BFloat16:
        requireOnly("int32_data");
        requireCount("int32_data", proto.int32_data_size(), count);
        copyField<uint16_t>(proto.int32_data(), tensor);
        break;
      case DataType::Bool: {
        requireOnly("int32_data");
        requireCount("int32_data", proto.int32_data_size(), count);
        auto* out = static_cast<uint8_t*>(tensor.mutableRawData());
        for (int i = 0; i < proto.int32_data_size(); ++i) out[i] = proto.int32_data(i) != 0;
        break;
      }
      default:
        // int8, uint8, float8 variants (one element per entry) and the
        // sub-byte types (one packed byte per entry).
        requireOnly("int32_data");
        requireCount("int32_data", proto.int32_data_size(),
                     static_cast<int64_t>(tensor.byteSize()));
        copyField<uint8_t>(proto.int32_data(), tensor);
        break;
    }
  }
  result.tensor = std::move(tensor);
  return result;
}

void writeTensorProto(const fs::path& file, const std::string& name, const Tensor& tensor) {
  if (!tensor.valid())
    throw Error(ErrorCode::InvalidArgument, std::string(kWhat) + " " + detail::quoted(file) +
                                                ": cannot write an empty (undefined) tensor");
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  if (tensor.dtype() == DataType::String) {
    for (const std::string& s : tensor.strings()) proto.add_string_data(s);
  } else {
    std::string raw(static_cast<const char*>(tensor.rawData()), tensor.byteSize());
    if constexpr (!detail::kLittleEndianHost) {
      const std::size_t unit = swapUnit(tensor.dtype());
      if (unit > 1) detail::swapBytes(raw.data(), raw.size() / unit, unit);
    }
    proto.set_raw_data(std::move(raw));
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    throw Error(ErrorCode::Internal, std::string(kWhat) + " " + detail::quoted(file) +
                                         ": protobuf serialization failed (tensor over 2 GiB?)");
  detail::writeWholeFile(file, kWhat, bytes);
}

}  // namespace
}  // namespace polyinfer::io

extern "C" const polyinfer::io::detail::TensorProtoModule* polyinfer_io_tensorproto_module() {
  static constexpr polyinfer::io::detail::TensorProtoModule module{
      polyinfer::io::detail::kTensorProtoModuleAbi, POLYINFER_VERSION,
      &polyinfer::io::readTensorProto, &polyinfer::io::writeTensorProto};
  return &module;
}
