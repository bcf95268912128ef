// KServe v2 / Open Inference Protocol datatype names, and the 16-bit float
// conversions the JSON form of FP16 and BF16 tensors needs.
#pragma once

#include <cstdint>
#include <string_view>

#include "polyinfer/dtype.hpp"

namespace polyinfer::kserve {

/// v2 datatype name of a DataType: BOOL UINT8 UINT16 UINT32 UINT64 INT8 INT16 INT32 INT64 FP16
/// FP32 FP64 BF16 BYTES (String). Throws Error(Unsupported) naming the type for types v2 has no
/// name for (complex, float8, int4 ..., undefined).
std::string_view v2Datatype(DataType type);

/// Inverse of v2Datatype; names are matched exactly (upper case, as the protocol spells them).
/// Throws Error(InvalidArgument) "unknown datatype 'X'; expected one of BOOL, UINT8, ...".
DataType parseV2Datatype(std::string_view name);

/// The datatype shown in model metadata: v2Datatype where v2 has a name, else the polyinfer
/// name in upper case ("UNDEFINED" for a type the model does not declare, "COMPLEX64", ...),
/// which clients print but parseV2Datatype refuses. Never throws.
std::string_view metadataDatatype(DataType type) noexcept;

/// IEEE binary16 bits of `value`, rounded to nearest, ties to even; values beyond the largest
/// half round to infinity, NaN stays NaN (sign kept).
uint16_t toFloat16Bits(double value) noexcept;
/// The value of IEEE binary16 bits (exact: every half is a float).
float fromFloat16Bits(uint16_t bits) noexcept;
/// bfloat16 bits of `value` (the top 16 bits of a float32), rounded to nearest, ties to even;
/// overflow gives infinity, NaN stays NaN.
uint16_t toBFloat16Bits(double value) noexcept;
/// The value of bfloat16 bits (exact).
float fromBFloat16Bits(uint16_t bits) noexcept;

}  // namespace polyinfer::kserve
