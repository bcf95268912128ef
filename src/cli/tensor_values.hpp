// Reading tensor elements as numbers and text, for summaries and comparisons.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "polyinfer/tensor.hpp"

namespace polyinfer::cli {

/// IEEE half <-> float (round to nearest even), bfloat16 <-> float.
float halfToFloat(uint16_t bits) noexcept;
uint16_t floatToHalf(float value) noexcept;
float bfloat16ToFloat(uint16_t bits) noexcept;
uint16_t floatToBfloat16(float value) noexcept;

/// True for dtypes whose elements valueAt() can read: bool, the integer
/// types, float16/bfloat16/float32/float64.
bool isNumeric(DataType type) noexcept;
/// True for bool and the integer types (compared exactly).
bool isExact(DataType type) noexcept;

/// Element `index` (flat, C order) as a double. Requires isNumeric(dtype).
double valueAt(const Tensor& tensor, int64_t index);

/// Element `index` as text: numbers with up to 6 significant digits, bools
/// as true/false, strings quoted.
std::string formatElement(const Tensor& tensor, int64_t index);

/// Flat index (C order) -> per-dimension index for the given shape.
std::vector<int64_t> unravelIndex(const Shape& shape, int64_t flat);
/// Flat index -> "[i,j,k]" for the given shape ("[]" for a scalar).
std::string multiIndex(const Shape& shape, int64_t flat);

/// A few numbers about a tensor, for printing.
struct Summary {
  std::optional<double> min, max, mean;  ///< numeric dtypes, over finite values
  int64_t nanCount = 0;
  int64_t infCount = 0;
  std::vector<std::string> first;  ///< the first few elements, formatted
  std::vector<double> firstValues; ///< the same as numbers (numeric dtypes)
  bool truncated = false;          ///< more elements than `first` holds
};
Summary summarize(const Tensor& tensor, std::size_t firstCount = 6);

}  // namespace polyinfer::cli
