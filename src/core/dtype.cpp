#include "polyinfer/dtype.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

#include "polyinfer/error.hpp"
#include "strings.hpp"

namespace polyinfer {
namespace {

struct TypeRow {
  DataType type;
  std::string_view name;
  std::size_t bits;
};

constexpr std::array<TypeRow, 27> kTypes{{
    {DataType::Undefined, "undefined", 0},
    {DataType::Float32, "float32", 32},
    {DataType::UInt8, "uint8", 8},
    {DataType::Int8, "int8", 8},
    {DataType::UInt16, "uint16", 16},
    {DataType::Int16, "int16", 16},
    {DataType::Int32, "int32", 32},
    {DataType::Int64, "int64", 64},
    {DataType::String, "string", 0},
    {DataType::Bool, "bool", 8},
    {DataType::Float16, "float16", 16},
    {DataType::Float64, "float64", 64},
    {DataType::UInt32, "uint32", 32},
    {DataType::UInt64, "uint64", 64},
    {DataType::Complex64, "complex64", 64},
    {DataType::Complex128, "complex128", 128},
    {DataType::BFloat16, "bfloat16", 16},
    {DataType::Float8E4M3FN, "float8e4m3fn", 8},
    {DataType::Float8E4M3FNUZ, "float8e4m3fnuz", 8},
    {DataType::Float8E5M2, "float8e5m2", 8},
    {DataType::Float8E5M2FNUZ, "float8e5m2fnuz", 8},
    {DataType::UInt4, "uint4", 4},
    {DataType::Int4, "int4", 4},
    {DataType::Float4E2M1, "float4e2m1", 4},
    {DataType::UInt2, "uint2", 2},
    {DataType::Int2, "int2", 2},
    {DataType::Float8E8M0, "float8e8m0", 8},
}};

const TypeRow* rowOf(DataType type) {
  auto index = static_cast<std::size_t>(type);
  if (index < kTypes.size() && kTypes[index].type == type) return &kTypes[index];
  return nullptr;
}

struct Alias {
  std::string_view alias;
  DataType type;
};

constexpr std::array<Alias, 14> kAliases{{
    {"float", DataType::Float32},   {"f32", DataType::Float32},
    {"double", DataType::Float64},  {"f64", DataType::Float64},
    {"half", DataType::Float16},    {"f16", DataType::Float16},
    {"bf16", DataType::BFloat16},   {"long", DataType::Int64},
    {"int", DataType::Int32},       {"i32", DataType::Int32},
    {"i64", DataType::Int64},       {"byte", DataType::Int8},
    {"boolean", DataType::Bool},    {"str", DataType::String},
}};

}  // namespace

std::string_view toString(DataType type) noexcept {
  const TypeRow* row = rowOf(type);
  return row ? row->name : std::string_view("invalid");
}

DataType parseDataType(std::string_view name) {
  const std::string lower = detail::toLower(detail::trim(name));
  for (const TypeRow& row : kTypes)
    if (row.type != DataType::Undefined && row.name == lower) return row.type;
  for (const Alias& alias : kAliases)
    if (alias.alias == lower) return alias.type;
  std::string valid;
  for (const TypeRow& row : kTypes) {
    if (row.type == DataType::Undefined) continue;
    if (!valid.empty()) valid += ", ";
    valid += row.name;
  }
  throw Error(ErrorCode::InvalidArgument,
              "unknown data type '" + std::string(name) + "'; expected one of: " + valid);
}

std::size_t bitsPerElement(DataType type) noexcept {
  const TypeRow* row = rowOf(type);
  return row ? row->bits : 0;
}

int64_t elementCount(const Shape& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      throw Error(ErrorCode::InvalidArgument,
                  "shape " + toString(shape) + ": expected non-negative dimensions, got " +
                      std::to_string(dim));
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim)
      throw Error(ErrorCode::InvalidArgument, "shape " + toString(shape) + ": element count overflows");
    count *= dim;
  }
  return count;
}

std::string toString(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ',';
    text += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return text + "]";
}

Shape parseShape(std::string_view text, bool allowDynamic) {
  std::string_view body = detail::trim(text);
  if (body.size() >= 2 && ((body.front() == '(' && body.back() == ')') ||
                           (body.front() == '[' && body.back() == ']')))
    body = detail::trim(body.substr(1, body.size() - 2));
  Shape shape;
  if (body.empty()) return shape;  // a scalar: "()" or "[]"
  std::vector<std::string_view> parts = detail::split(body, ',');
  for (std::string_view& part : parts) {
    part = detail::trim(part);
    // Python's one-element tuple "(5,)" ends with a comma: skip that part.
    if (part.empty() && &part == &parts.back() && parts.size() > 1) continue;
    if (part == "?" || part == "-1") {
      if (!allowDynamic)
        throw Error(ErrorCode::InvalidArgument,
                    "shape '" + std::string(text) + "': expected fixed dimensions, got '" +
                        std::string(part) + "'");
      shape.push_back(-1);
      continue;
    }
    int64_t dim = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), dim);
    if (ec != std::errc() || end != part.data() + part.size() || dim < 0)
      throw Error(ErrorCode::InvalidArgument,
                  "shape '" + std::string(text) +
                      "': expected comma-separated non-negative integers, got '" +
                      std::string(part) + "'");
    shape.push_back(dim);
  }
  return shape;
}

std::size_t denseByteSize(DataType type, int64_t count) {
  const std::size_t bits = bitsPerElement(type);
  if (bits == 0)
    throw Error(ErrorCode::InvalidArgument,
                "data type " + std::string(toString(type)) + " has no dense byte size");
  // Checked: a wrapped size would make an allocation smaller than the
  // element count that is then written into it.
  const auto n = static_cast<std::size_t>(count);
  if (count < 0 || (bits % 8 == 0 ? n > SIZE_MAX / (bits / 8) : n / 8 > SIZE_MAX / bits))
    throw Error(ErrorCode::InvalidArgument, std::to_string(count) + " elements of " +
                                                std::string(toString(type)) +
                                                " take more bytes than memory can address");
  if (bits % 8 == 0) return n * (bits / 8);
  return (n / 8) * bits + ((n % 8) * bits + 7) / 8;
}

}  // namespace polyinfer
