#include "tensor_values.hpp"

#include <bit>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace polyinfer::cli {

float halfToFloat(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F;
  const uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: value = mantissa * 2^-24
      const float value = std::ldexp(static_cast<float>(mantissa), -24);
      return sign ? -value : value;
    }
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t floatToHalf(float value) noexcept {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t absBits = bits & 0x7FFFFFFF;
  if (absBits >= 0x7F800000u)  // inf or nan (keep nan a nan)
    return sign | 0x7C00 | (absBits > 0x7F800000u ? 0x200 : 0);
  if (absBits >= 0x477FF000u) return sign | 0x7C00;  // rounds to >= 65520: inf
  if (absBits < 0x38800000u) {                        // below the smallest normal half
    // Subnormal half: value / 2^-24, rounded to nearest even.
    const float scaled = std::bit_cast<float>(absBits) * 16777216.0f;  // exact
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  // Normal: re-bias the exponent, round the 13 dropped mantissa bits to nearest even.
  uint32_t h = ((absBits >> 13) - (112u << 10));
  const uint32_t dropped = absBits & 0x1FFF;
  if (dropped > 0x1000 || (dropped == 0x1000 && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

float bfloat16ToFloat(uint16_t bits) noexcept {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

uint16_t floatToBfloat16(float value) noexcept {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7FFFFFFF) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  const uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

bool isExact(DataType type) noexcept {
  switch (type) {
    case DataType::Bool:
    case DataType::Int8:
    case DataType::UInt8:
    case DataType::Int16:
    case DataType::UInt16:
    case DataType::Int32:
    case DataType::UInt32:
    case DataType::Int64:
    case DataType::UInt64: return true;
    default: return false;
  }
}

bool isNumeric(DataType type) noexcept {
  switch (type) {
    case DataType::Float16:
    case DataType::BFloat16:
    case DataType::Float32:
    case DataType::Float64: return true;
    default: return isExact(type);
  }
}

namespace {
template <typename T>
T load(const Tensor& tensor, int64_t index) {
  T value;
  std::memcpy(&value, static_cast<const char*>(tensor.rawData()) + index * sizeof(T), sizeof(T));
  return value;
}
}  // namespace

double valueAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::Float32: return load<float>(t, i);
    case DataType::Float64: return load<double>(t, i);
    case DataType::Float16: return halfToFloat(load<uint16_t>(t, i));
    case DataType::BFloat16: return bfloat16ToFloat(load<uint16_t>(t, i));
    case DataType::Bool: return load<uint8_t>(t, i) != 0 ? 1.0 : 0.0;
    case DataType::Int8: return load<int8_t>(t, i);
    case DataType::UInt8: return load<uint8_t>(t, i);
    case DataType::Int16: return load<int16_t>(t, i);
    case DataType::UInt16: return load<uint16_t>(t, i);
    case DataType::Int32: return load<int32_t>(t, i);
    case DataType::UInt32: return load<uint32_t>(t, i);
    case DataType::Int64: return static_cast<double>(load<int64_t>(t, i));
    case DataType::UInt64: return static_cast<double>(load<uint64_t>(t, i));
    default:
      throw Error(ErrorCode::Unsupported,
                  "cannot read " + std::string(toString(t.dtype())) + " elements as numbers");
  }
}

std::string formatElement(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::String: return "\"" + t.strings()[static_cast<std::size_t>(i)] + "\"";
    case DataType::Bool: return load<uint8_t>(t, i) ? "true" : "false";
    case DataType::Int64: return std::to_string(load<int64_t>(t, i));
    case DataType::UInt64: return std::to_string(load<uint64_t>(t, i));
    default:
      if (isExact(t.dtype())) return fmt::format("{}", static_cast<int64_t>(valueAt(t, i)));
      if (isNumeric(t.dtype())) return fmt::format("{:.6g}", valueAt(t, i));
      return "?";
  }
}

std::vector<int64_t> unravelIndex(const Shape& shape, int64_t flat) {
  std::vector<int64_t> index(shape.size(), 0);
  for (std::size_t d = shape.size(); d-- > 0;) {
    if (shape[d] > 0) {
      index[d] = flat % shape[d];
      flat /= shape[d];
    }
  }
  return index;
}

std::string multiIndex(const Shape& shape, int64_t flat) {
  const std::vector<int64_t> index = unravelIndex(shape, flat);
  std::string text = "[";
  for (std::size_t d = 0; d < index.size(); ++d) {
    if (d) text += ',';
    text += std::to_string(index[d]);
  }
  return text + "]";
}

Summary summarize(const Tensor& t, std::size_t firstCount) {
  Summary s;
  const int64_t n = t.elementCount();
  const bool canFormat = isNumeric(t.dtype()) || t.dtype() == DataType::String;
  if (canFormat) {
    for (int64_t i = 0; i < n && s.first.size() < firstCount; ++i) {
      s.first.push_back(formatElement(t, i));
      if (isNumeric(t.dtype())) s.firstValues.push_back(valueAt(t, i));
    }
    s.truncated = n > static_cast<int64_t>(s.first.size());
  }
  if (!isNumeric(t.dtype())) return s;
  double lo = 0, hi = 0, sum = 0;
  int64_t finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = valueAt(t, i);
    if (std::isnan(v)) {
      ++s.nanCount;
      continue;
    }
    if (std::isinf(v)) {
      ++s.infCount;
      continue;
    }
    if (finite == 0 || v < lo) lo = v;
    if (finite == 0 || v > hi) hi = v;
    sum += v;
    ++finite;
  }
  if (finite > 0) {
    s.min = lo;
    s.max = hi;
    s.mean = sum / static_cast<double>(finite);
  }
  return s;
}

}  // namespace polyinfer::cli
