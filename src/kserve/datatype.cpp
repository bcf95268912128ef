#include "datatype.hpp"

#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>

#include "polyinfer/error.hpp"

namespace polyinfer::kserve {
namespace {

struct V2Name {
  DataType type;
  std::string_view name;
};

// The order of the protocol's own table, which error messages list.
constexpr std::array<V2Name, 14> kV2Names{{
    {DataType::Bool, "BOOL"},
    {DataType::UInt8, "UINT8"},
    {DataType::UInt16, "UINT16"},
    {DataType::UInt32, "UINT32"},
    {DataType::UInt64, "UINT64"},
    {DataType::Int8, "INT8"},
    {DataType::Int16, "INT16"},
    {DataType::Int32, "INT32"},
    {DataType::Int64, "INT64"},
    {DataType::Float16, "FP16"},
    {DataType::Float32, "FP32"},
    {DataType::Float64, "FP64"},
    {DataType::BFloat16, "BF16"},
    {DataType::String, "BYTES"},
}};

const V2Name* findV2Name(DataType type) noexcept {
  for (const V2Name& row : kV2Names)
    if (row.type == type) return &row;
  return nullptr;
}

std::string v2NameList() {
  std::string list;
  for (const V2Name& row : kV2Names) {
    if (!list.empty()) list += ", ";
    list += row.name;
  }
  return list;
}

// IEEE-style binary float with `fractionBits` stored fraction bits and exponent bias `bias`
// (half: 10, 15; bfloat16: 7, 127), at most 16 bits wide. Every step is exact in double
// except the one rounding, done by nearbyint in the default (to nearest, ties to even) mode.
uint16_t roundToNarrowFloat(double value, int fractionBits, int bias) noexcept {
  const uint32_t infinityField = static_cast<uint32_t>(2 * bias + 1);
  const uint32_t sign = std::signbit(value) ? 0x8000u : 0u;
  const uint32_t infinity = sign | (infinityField << fractionBits);
  if (std::isnan(value)) return static_cast<uint16_t>(infinity | (1u << (fractionBits - 1)));
  const double magnitude = std::fabs(value);
  if (std::isinf(magnitude)) return static_cast<uint16_t>(infinity);
  if (magnitude == 0) return static_cast<uint16_t>(sign);
  int exponent = 0;
  std::frexp(magnitude, &exponent);
  int unbiased = exponent - 1;  // magnitude is in [2^unbiased, 2^(unbiased+1))
  const int minNormal = 1 - bias;
  if (unbiased < minNormal) {
    // Subnormal: a multiple of 2^(minNormal - fractionBits). Rounding up to 2^fractionBits
    // yields exactly the bits of the smallest normal number.
    const double steps = std::nearbyint(std::ldexp(magnitude, fractionBits - minNormal));
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(steps));
  }
  double significand = std::nearbyint(std::ldexp(magnitude, fractionBits - unbiased));
  if (significand == std::ldexp(1.0, fractionBits + 1)) {  // rounded up to the next binade
    significand /= 2;
    ++unbiased;
  }
  const int field = unbiased + bias;
  if (field >= static_cast<int>(infinityField)) return static_cast<uint16_t>(infinity);
  const uint32_t fraction = static_cast<uint32_t>(significand) - (1u << fractionBits);
  return static_cast<uint16_t>(sign | (static_cast<uint32_t>(field) << fractionBits) | fraction);
}

}  // namespace

std::string_view v2Datatype(DataType type) {
  if (const V2Name* row = findV2Name(type)) return row->name;
  throw Error(ErrorCode::Unsupported, "KServe v2 has no datatype for " +
                                          std::string(toString(type)) + "; it has " + v2NameList());
}

DataType parseV2Datatype(std::string_view name) {
  for (const V2Name& row : kV2Names)
    if (row.name == name) return row.type;
  throw Error(ErrorCode::InvalidArgument,
              "unknown datatype '" + std::string(name) + "'; expected one of " + v2NameList());
}

std::string_view metadataDatatype(DataType type) noexcept {
  if (const V2Name* row = findV2Name(type)) return row->name;
  // Upper-cased polyinfer names, made once; DataType values are small and dense.
  static const std::array<std::string, 64> upper = [] {
    std::array<std::string, 64> names;
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::string name(toString(static_cast<DataType>(i)));
      for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      names[i] = std::move(name);
    }
    return names;
  }();
  const auto index = static_cast<std::size_t>(type);
  return index < upper.size() ? std::string_view(upper[index]) : std::string_view("INVALID");
}

uint16_t toFloat16Bits(double value) noexcept { return roundToNarrowFloat(value, 10, 15); }

float fromFloat16Bits(uint16_t bits) noexcept {
  const bool negative = (bits & 0x8000u) != 0;
  const int field = (bits >> 10) & 0x1f;
  const int fraction = bits & 0x3ff;
  float magnitude;
  if (field == 0x1f)
    magnitude = fraction ? std::numeric_limits<float>::quiet_NaN()
                         : std::numeric_limits<float>::infinity();
  else if (field == 0)
    magnitude = std::ldexp(static_cast<float>(fraction), -24);
  else
    magnitude = std::ldexp(static_cast<float>(fraction + 0x400), field - 25);
  return negative ? -magnitude : magnitude;
}

uint16_t toBFloat16Bits(double value) noexcept { return roundToNarrowFloat(value, 7, 127); }

float fromBFloat16Bits(uint16_t bits) noexcept {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

}  // namespace polyinfer::kserve
