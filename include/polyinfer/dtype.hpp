// Element types and shapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace polyinfer {

/// Element type of a tensor. Values are those of ONNX's TensorProto.DataType,
/// so every type ONNX has is representable (engines that reject one report
/// an Unsupported error naming it).
enum class DataType : int32_t {
  Undefined = 0,  ///< unknown (e.g. a TorchScript input, which declares no type)
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
  Float8E4M3FN = 17,
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
  UInt4 = 21,
  Int4 = 22,
  Float4E2M1 = 23,
  UInt2 = 24,
  Int2 = 25,
  Float8E8M0 = 26,
};

/// Lower-case numpy-style name: "float32", "int64", "bool", "bfloat16", ...
std::string_view toString(DataType type) noexcept;

/// Parses a name as printed by toString, plus common aliases ("float",
/// "double", "half", "long", "int", "f32", ...). Throws Error(InvalidArgument)
/// listing the accepted names.
DataType parseDataType(std::string_view name);

/// Bits one element takes in a dense buffer (4 for int4, 2 for int2, 8 for
/// bool); 0 for String and Undefined, whose elements have no fixed size.
std::size_t bitsPerElement(DataType type) noexcept;

/// Shape of a tensor. In a TensorInfo, -1 marks a dimension that is not fixed
/// (dynamic, or not declared by the model format).
using Shape = std::vector<int64_t>;

/// Number of elements; 1 for a scalar (empty shape). Throws
/// Error(InvalidArgument) on a negative dimension or on overflow.
int64_t elementCount(const Shape& shape);

/// "[1,3,224,224]", with "?" for -1.
std::string toString(const Shape& shape);

/// Parses "1,3,224,224", "(1,3,224,224)" or "[1,3,224,224]"; "?" or -1 for a
/// dynamic dim is accepted only when allowDynamic is true.
Shape parseShape(std::string_view text, bool allowDynamic = false);

/// Bytes a dense buffer of `count` elements of `type` takes (sub-byte types
/// are packed, rounded up to whole bytes). Throws for String/Undefined.
std::size_t denseByteSize(DataType type, int64_t count);

}  // namespace polyinfer
