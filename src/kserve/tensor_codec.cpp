// Tensors in KServe v2 bodies: JSON "data" (flat or nested) and the binary tensor extension,
// both ways, plus the JSON text helpers the codecs share.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "codec_detail.hpp"
#include "datatype.hpp"

namespace polyinfer::kserve::detail {

static_assert(std::endian::native == std::endian::little,
              "the binary tensor extension is little-endian; this code copies bytes as they are");

namespace {

// Deeper nesting than any real tensor has; bounds the recursion over "data".
constexpr int kMaxDataNesting = 64;

// ---------------------------------------------------------------------------------------
// JSON text in

// Triton writes NaN and infinities as bare tokens (rapidjson's kWriteNanAndInfFlag), which
// strict parsers refuse. Quote them so that they parse as strings, which float elements
// accept. Returns nullopt when there is nothing to rewrite.
std::optional<std::string> quoteNonFiniteTokens(std::string_view text) {
  std::string out;
  bool rewritten = false;
  bool inString = false;
  std::size_t copied = 0;  // text[copied, i) is still to be copied to out
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (c == '\\') ++i;  // skip the escaped character
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
      continue;
    }
    std::string_view token;
    for (std::string_view candidate : {"-Infinity", "Infinity", "NaN"})
      if (text.substr(i, candidate.size()) == candidate) {
        token = candidate;
        break;
      }
    if (token.empty()) continue;
    if (!rewritten) out.reserve(text.size() + 64);
    rewritten = true;
    out.append(text.substr(copied, i - copied));
    out += '"';
    out += token;
    out += '"';
    i += token.size() - 1;
    copied = i + 1;
  }
  if (!rewritten) return std::nullopt;
  out.append(text.substr(copied));
  return out;
}

// "syntax error while parsing value - invalid literal; ..." out of nlohmann's what(), which
// starts "[json.exception.parse_error.101] parse error at line 1, column 12: ".
std::string parseErrorReason(const char* what) {
  const std::string_view text(what);
  const std::size_t column = text.find("column ");
  const std::size_t colon = column == std::string_view::npos ? column : text.find(": ", column);
  if (colon == std::string_view::npos) return std::string(text);
  return std::string(text.substr(colon + 2));
}

// ---------------------------------------------------------------------------------------
// Tensor specs: what a tensor object in "inputs" / "outputs" says about itself

struct TensorSpec {
  std::string name;
  std::string what;  // "input 'x'", for messages
  DataType dtype = DataType::Undefined;
  Shape shape;
  int64_t count = 0;
  const json* data = nullptr;            // JSON "data", when given
  std::optional<uint64_t> binarySize;    // parameters.binary_data_size, when given
};

const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// The text of a datatype name for the "X needs N" messages: "FP32 [2,3]".
std::string typeAndShape(const TensorSpec& spec) {
  return std::string(v2Datatype(spec.dtype)) + " " + toString(spec.shape);
}

TensorSpec readSpec(const json& item, std::string_view role, std::size_t index) {
  TensorSpec spec;
  const std::string where = std::string(role) + " " + std::to_string(index);
  if (!item.is_object())
    throw invalid(where + ": expected an object, got " + describeJson(item));

  const json* name = member(item, "name");
  if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty())
    throw invalid(where + ": expected a non-empty 'name' string, got " +
                  (name ? describeJson(*name) : std::string("none")));
  spec.name = name->get<std::string>();
  spec.what = std::string(role) + " " + inQuotes(spec.name);

  const json* datatype = member(item, "datatype");
  if (datatype == nullptr || !datatype->is_string())
    throw invalid(spec.what + ": expected a 'datatype' string, got " +
                  (datatype ? describeJson(*datatype) : std::string("none")));
  try {
    spec.dtype = parseV2Datatype(datatype->get_ref<const std::string&>());
  } catch (const Error& e) {
    throw Error(e.code(), spec.what + ": " + e.what());
  }

  const json* shape = member(item, "shape");
  if (shape == nullptr || !shape->is_array())
    throw invalid(spec.what + ": expected a 'shape' array, got " +
                  (shape ? describeJson(*shape) : std::string("none")));
  spec.shape.reserve(shape->size());
  for (const json& dim : shape->get_ref<const json::array_t&>()) {
    // Non-negative integers parse as unsigned; a negative one, or one beyond int64, is refused.
    if (!dim.is_number_unsigned() || dim.get<uint64_t>() > uint64_t(INT64_MAX))
      throw invalid(spec.what + ": 'shape' must be an array of non-negative integers, got " +
                    describeJson(*shape));
    spec.shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
  }
  try {
    spec.count = elementCount(spec.shape);
  } catch (const Error& e) {
    throw invalid(spec.what + ": " + e.what());
  }

  if (const json* parameters = member(item, "parameters")) {
    if (!parameters->is_object())
      throw invalid(spec.what + ": expected 'parameters' to be an object, got " +
                    describeJson(*parameters));
    if (member(*parameters, "shared_memory_region"))
      throw Error(ErrorCode::Unsupported,
                  spec.what + ": the shared-memory extension (parameters.shared_memory_region) "
                              "is not supported; send the data in the body");
    if (const json* size = member(*parameters, "binary_data_size")) {
      if (!size->is_number_unsigned() || size->get<uint64_t>() > uint64_t(INT64_MAX))
        throw invalid(spec.what + ": binary_data_size must be a non-negative integer, got " +
                      describeJson(*size));
      spec.binarySize = size->get<uint64_t>();
    }
  }
  spec.data = member(item, "data");
  if (spec.data && spec.binarySize)
    throw invalid(spec.what + ": has both 'data' and parameters.binary_data_size; expected one");
  if (!spec.data && !spec.binarySize)
    throw invalid(spec.what + ": expected 'data' or parameters.binary_data_size, got neither");
  return spec;
}

// Decimal text of a 128-bit count, for sizes that overflow 64 bits.
std::string toDecimal(unsigned __int128 value) {
  if (value == 0) return "0";
  std::string digits;
  while (value) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return digits;
}

// Checks a binary tensor's binary_data_size against its datatype and shape, before anything
// is allocated for it.
void checkBinarySize(const TensorSpec& spec) {
  const uint64_t size = *spec.binarySize;
  if (spec.dtype == DataType::String) {
    // Each element takes at least its 4-byte length.
    const unsigned __int128 least = static_cast<unsigned __int128>(spec.count) * 4;
    if (size < least)
      throw invalid(spec.what + ": binary_data_size is " + std::to_string(size) + ", " +
                    typeAndShape(spec) + " needs at least " + toDecimal(least) +
                    " (a 4-byte length per element)");
    return;
  }
  const unsigned __int128 needed =
      static_cast<unsigned __int128>(spec.count) * (bitsPerElement(spec.dtype) / 8);
  if (size != needed)
    throw invalid(spec.what + ": binary_data_size is " + std::to_string(size) + ", " +
                  typeAndShape(spec) + " needs " + toDecimal(needed));
}

// ---------------------------------------------------------------------------------------
// JSON data -> tensor

// Calls leaf(value) for every element of `data` that is not an array, in row-major order.
template <typename Leaf>
void forEachLeaf(const json& data, Leaf& leaf, int depth, const TensorSpec& spec) {
  if (!data.is_array()) {
    leaf(data);
    return;
  }
  if (depth >= kMaxDataNesting)
    throw invalid(spec.what + ": 'data' is nested deeper than " + std::to_string(kMaxDataNesting) +
                  " levels");
  for (const json& element : data.get_ref<const json::array_t&>()) {
    if (element.is_array())
      forEachLeaf(element, leaf, depth + 1, spec);
    else
      leaf(element);
  }
}

int64_t countLeaves(const TensorSpec& spec) {
  int64_t count = 0;
  auto leaf = [&count](const json&) { ++count; };
  forEachLeaf(*spec.data, leaf, 0, spec);
  return count;
}

[[noreturn]] void badElement(const TensorSpec& spec, int64_t index, const json& value,
                             std::string_view expected) {
  throw invalid(spec.what + ": element " + std::to_string(index) + " is " + describeJson(value) +
                ", " + std::string(expected));
}

[[noreturn]] void outOfRange(const TensorSpec& spec, int64_t index, const json& value) {
  badElement(spec, index, value, "out of range for " + std::string(v2Datatype(spec.dtype)));
}

template <typename T>
T integerElement(const json& value, int64_t index, const TensorSpec& spec) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (!std::in_range<T>(v)) outOfRange(spec, index, value);
    return static_cast<T>(v);
  }
  if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    if (!std::in_range<T>(v)) outOfRange(spec, index, value);
    return static_cast<T>(v);
  }
  badElement(spec, index, value, "expected an integer for " + std::string(v2Datatype(spec.dtype)));
}

uint8_t boolElement(const json& value, int64_t index, const TensorSpec& spec) {
  if (value.is_boolean()) return value.get<bool>() ? 1 : 0;
  if (value.is_number_integer()) {
    // is_number_integer covers unsigned values too; 0 and 1 are the integers a bool can be.
    if (value.is_number_unsigned() && value.get<uint64_t>() <= 1)
      return static_cast<uint8_t>(value.get<uint64_t>());
    if (!value.is_number_unsigned() && value.get<int64_t>() == 0) return 0;
  }
  badElement(spec, index, value, "expected true, false, 0 or 1 for BOOL");
}

// A float element as a double: numbers, null (NaN, as we write it) and the names of the
// non-finite values.
double floatElement(const json& value, int64_t index, const TensorSpec& spec) {
  if (value.is_number()) return value.get<double>();
  if (value.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  badElement(spec, index, value, "expected a number for " + std::string(v2Datatype(spec.dtype)));
}

float float32Element(const json& value, int64_t index, const TensorSpec& spec) {
  const double v = floatElement(value, index, spec);
  // Beyond half an ulp above FLT_MAX a finite double rounds to no float (and the cast would
  // be undefined behaviour).
  if (std::isfinite(v) && std::fabs(v) >= 0x1.ffffffp127) outOfRange(spec, index, value);
  return static_cast<float>(v);
}

// FP16 / BF16 bits; infinityBits: the type's +infinity.
template <uint16_t (*Convert)(double) noexcept, uint16_t infinityBits>
uint16_t narrowFloatElement(const json& value, int64_t index, const TensorSpec& spec) {
  const double v = floatElement(value, index, spec);
  const uint16_t bits = Convert(v);
  // An infinity out of a finite value: beyond the type's range.
  if ((bits & 0x7fffu) == infinityBits && std::isfinite(v)) outOfRange(spec, index, value);
  return bits;
}

template <typename T, typename Convert>
Tensor denseFromJson(const TensorSpec& spec, Convert convert) {
  Tensor tensor = Tensor::allocate(spec.dtype, spec.shape);
  T* out = static_cast<T*>(tensor.mutableRawData());
  int64_t index = 0;
  auto leaf = [&](const json& value) {
    out[index] = convert(value, index, spec);
    ++index;
  };
  forEachLeaf(*spec.data, leaf, 0, spec);
  return tensor;
}

Tensor stringsFromJson(const TensorSpec& spec) {
  std::vector<std::string> values;
  values.reserve(static_cast<std::size_t>(spec.count));
  auto leaf = [&](const json& value) {
    if (!value.is_string())
      badElement(spec, static_cast<int64_t>(values.size()), value, "expected a string for BYTES");
    values.push_back(value.get<std::string>());
  };
  forEachLeaf(*spec.data, leaf, 0, spec);
  return Tensor::fromStrings(spec.shape, std::move(values));
}

Tensor tensorFromJson(const TensorSpec& spec) {
  // Count first: the shape may claim far more elements than the JSON holds, and nothing may
  // be allocated for a claim the body cannot back.
  const int64_t leaves = countLeaves(spec);
  if (leaves != spec.count)
    throw invalid(spec.what + ": 'data' has " + std::to_string(leaves) + " elements, shape " +
                  toString(spec.shape) + " needs " + std::to_string(spec.count));
  switch (spec.dtype) {
    case DataType::Bool: return denseFromJson<uint8_t>(spec, boolElement);
    case DataType::UInt8: return denseFromJson<uint8_t>(spec, integerElement<uint8_t>);
    case DataType::UInt16: return denseFromJson<uint16_t>(spec, integerElement<uint16_t>);
    case DataType::UInt32: return denseFromJson<uint32_t>(spec, integerElement<uint32_t>);
    case DataType::UInt64: return denseFromJson<uint64_t>(spec, integerElement<uint64_t>);
    case DataType::Int8: return denseFromJson<int8_t>(spec, integerElement<int8_t>);
    case DataType::Int16: return denseFromJson<int16_t>(spec, integerElement<int16_t>);
    case DataType::Int32: return denseFromJson<int32_t>(spec, integerElement<int32_t>);
    case DataType::Int64: return denseFromJson<int64_t>(spec, integerElement<int64_t>);
    case DataType::Float16:
      return denseFromJson<uint16_t>(spec, narrowFloatElement<toFloat16Bits, 0x7c00>);
    case DataType::BFloat16:
      return denseFromJson<uint16_t>(spec, narrowFloatElement<toBFloat16Bits, 0x7f80>);
    case DataType::Float32: return denseFromJson<float>(spec, float32Element);
    case DataType::Float64: return denseFromJson<double>(spec, floatElement);
    case DataType::String: return stringsFromJson(spec);
    default: break;
  }
  throw Error(ErrorCode::Internal, spec.what + ": no JSON decoding for " +
                                       std::string(toString(spec.dtype)));
}

// ---------------------------------------------------------------------------------------
// Binary data -> tensor

Tensor stringsFromBinary(const TensorSpec& spec, const char* data, std::size_t size) {
  std::vector<std::string> values;
  values.reserve(static_cast<std::size_t>(spec.count));  // checkBinarySize: count * 4 <= size
  std::size_t offset = 0;
  for (int64_t i = 0; i < spec.count; ++i) {
    const std::size_t remaining = size - offset;
    if (remaining < 4)
      throw invalid(spec.what + ": element " + std::to_string(i) + " needs a 4-byte length, " +
                    std::to_string(remaining) + " bytes remain");
    uint32_t length = 0;
    std::memcpy(&length, data + offset, 4);
    offset += 4;
    if (length > remaining - 4)
      throw invalid(spec.what + ": element " + std::to_string(i) + " claims " +
                    std::to_string(length) + " bytes, " + std::to_string(remaining - 4) +
                    " remain");
    values.emplace_back(data + offset, length);
    offset += length;
  }
  if (offset != size)
    throw invalid(spec.what + ": binary_data_size is " + std::to_string(size) + ", its " +
                  std::to_string(spec.count) + " elements take " + std::to_string(offset));
  return Tensor::fromStrings(spec.shape, std::move(values));
}

Tensor tensorFromBinary(const TensorSpec& spec, const char* data,
                        const std::shared_ptr<const void>& holder) {
  const std::size_t size = static_cast<std::size_t>(*spec.binarySize);
  if (spec.dtype == DataType::String) return stringsFromBinary(spec, data, size);
  if (spec.dtype == DataType::Bool)
    for (std::size_t i = 0; i < size; ++i)
      if (static_cast<unsigned char>(data[i]) > 1)
        throw invalid(spec.what + ": element " + std::to_string(i) + " is " +
                      std::to_string(static_cast<unsigned char>(data[i])) +
                      ", expected 0 or 1 for BOOL");
  const std::size_t alignment = bitsPerElement(spec.dtype) / 8;
  if (holder && reinterpret_cast<std::uintptr_t>(data) % alignment == 0)
    // The tensor keeps the bytes alive; it is read-only by contract (they are const).
    return Tensor::view(spec.dtype, spec.shape, const_cast<char*>(data), size, holder);
  Tensor copy = Tensor::allocate(spec.dtype, spec.shape);
  if (size) std::memcpy(copy.mutableRawData(), data, size);
  return copy;
}

// ---------------------------------------------------------------------------------------
// JSON text out

// Length of the UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF), or 0 when there is none.
std::size_t utf8SequenceLength(const unsigned char* p, std::size_t remaining) {
  const unsigned char c = p[0];
  auto continuation = [&](std::size_t i, unsigned char low = 0x80, unsigned char high = 0xBF) {
    return i < remaining && p[i] >= low && p[i] <= high;
  };
  if (c >= 0xC2 && c <= 0xDF) return continuation(1) ? 2 : 0;
  if (c == 0xE0) return continuation(1, 0xA0) && continuation(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
    return continuation(1) && continuation(2) ? 3 : 0;
  if (c == 0xED) return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0;
  if (c == 0xF0) return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3)
    return continuation(1) && continuation(2) && continuation(3) ? 4 : 0;
  if (c == 0xF4) return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0;
  return 0;
}

// Formats numbers through a stack buffer, appended to `out` in chunks: no allocation per
// element, and no over-reservation of `out`.
class NumberWriter {
 public:
  explicit NumberWriter(std::string& out) : out_(out) {}
  // Room for one element of at most kMaxElement characters plus a separator.
  static constexpr std::size_t kMaxElement = 32;
  char* room() {
    if (used_ + kMaxElement + 1 > sizeof(buffer_)) flush();
    return buffer_ + used_;
  }
  void commit(char* end) { used_ = static_cast<std::size_t>(end - buffer_); }
  void flush() {
    out_.append(buffer_, used_);
    used_ = 0;
  }

 private:
  std::string& out_;
  char buffer_[8192];
  std::size_t used_ = 0;
};

// Appends elements "[a,b,c" minus the brackets: format(element, cursor) -> end.
template <typename Format>
void appendElements(std::string& out, int64_t count, Format format) {
  NumberWriter writer(out);
  for (int64_t i = 0; i < count; ++i) {
    char* cursor = writer.room();
    if (i) *cursor++ = ',';
    writer.commit(format(i, cursor));
  }
  writer.flush();
}

template <typename T>
T load(const void* base, int64_t index) {
  // memcpy: views handed to us need not be aligned for T.
  T value;
  std::memcpy(&value, static_cast<const char*>(base) + index * sizeof(T), sizeof(T));
  return value;
}

template <typename T>
void appendIntegers(std::string& out, const Tensor& tensor) {
  const void* base = tensor.rawData();
  appendElements(out, tensor.elementCount(), [base](int64_t i, char* cursor) {
    return std::to_chars(cursor, cursor + NumberWriter::kMaxElement, load<T>(base, i)).ptr;
  });
}

template <typename F>
char* writeFloat(char* cursor, F value) {
  if (!std::isfinite(value)) {
    std::memcpy(cursor, "null", 4);
    return cursor + 4;
  }
  // "-0" would read back as the integer 0, losing the sign.
  if (value == 0 && std::signbit(value)) {
    std::memcpy(cursor, "-0.0", 4);
    return cursor + 4;
  }
  // Shortest text that reads back as the same value of type F.
  return std::to_chars(cursor, cursor + NumberWriter::kMaxElement, value).ptr;
}

template <typename T, typename ToFloat>
void appendFloats(std::string& out, const Tensor& tensor, ToFloat toFloat) {
  const void* base = tensor.rawData();
  appendElements(out, tensor.elementCount(), [base, toFloat](int64_t i, char* cursor) {
    return writeFloat(cursor, toFloat(load<T>(base, i)));
  });
}

}  // namespace

std::string inQuotes(std::string_view text) {
  // Appended rather than "'" + string: GCC 12 warns falsely (-Wrestrict) about the latter.
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

json parseJson(std::string_view text) {
  std::optional<std::string> quotedTokens;
  if (text.find("NaN") != std::string_view::npos || text.find("Infinity") != std::string_view::npos)
    if ((quotedTokens = quoteNonFiniteTokens(text))) text = *quotedTokens;
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    throw invalid("malformed JSON at byte " + std::to_string(e.byte) + ": " +
                  parseErrorReason(e.what()));
  } catch (const json::exception& e) {  // e.g. a number too large for a double
    throw invalid("malformed JSON: " + parseErrorReason(e.what()));
  }
}

json parseBody(const std::shared_ptr<const std::string>& body,
               std::optional<std::size_t> jsonLength, std::size_t& binaryOffset) {
  if (!body) throw invalid("body: expected JSON, got no body");
  const std::size_t length = jsonLength.value_or(body->size());
  if (length > body->size())
    throw invalid("Inference-Header-Content-Length is " + std::to_string(length) +
                  ", the body has only " + std::to_string(body->size()) + " bytes");
  binaryOffset = length;
  return parseJson(std::string_view(body->data(), length));
}

std::string describeJson(const json& value) {
  switch (value.type()) {
    case json::value_t::array:
      if (value.size() <= 16) {
        bool flat = true;
        for (const json& element : value) flat = flat && element.is_primitive();
        if (flat) return value.dump(-1, ' ', false, json::error_handler_t::replace);
      }
      return "an array of " + std::to_string(value.size()) + " elements";
    case json::value_t::object: return "an object";
    case json::value_t::string: {
      const std::string& text = value.get_ref<const std::string&>();
      if (text.size() > 40) return json(text.substr(0, 37) + "...").dump(-1, ' ', false, json::error_handler_t::replace);
      return value.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    default: return value.dump();
  }
}

Tensors decodeTensorList(const json& list, std::string_view role,
                         const std::shared_ptr<const std::string>& body, std::size_t binaryOffset,
                         bool lengthGiven) {
  const std::string plural = std::string(role) + "s";
  if (!list.is_array())
    throw invalid("'" + plural + "': expected an array, got " + describeJson(list));
  const auto& items = list.get_ref<const json::array_t&>();

  // Read and check every tensor's description before decoding any data.
  std::vector<TensorSpec> specs;
  specs.reserve(items.size());
  uint64_t binaryTotal = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    TensorSpec spec = readSpec(items[i], role, i);
    for (const TensorSpec& earlier : specs)
      if (earlier.name == spec.name)
        throw invalid(spec.what + ": given twice; each " + std::string(role) +
                      " may appear once");
    if (spec.binarySize) {
      checkBinarySize(spec);
      // Each size is below 2^63: saturate rather than wrap on a sum of several.
      binaryTotal = binaryTotal > UINT64_MAX - *spec.binarySize ? UINT64_MAX
                                                                : binaryTotal + *spec.binarySize;
    }
    specs.push_back(std::move(spec));
  }
  const std::size_t available = body->size() - binaryOffset;
  if (binaryTotal != available)
    throw invalid("binary data: the " + plural + "' binary_data_size add up to " +
                  std::to_string(binaryTotal) + " bytes, the body has " +
                  std::to_string(available) + " after the JSON" +
                  (lengthGiven ? "" : " (no Inference-Header-Content-Length was given)"));

  std::vector<NamedTensor> tensors;
  tensors.reserve(specs.size());
  std::size_t offset = binaryOffset;
  for (TensorSpec& spec : specs) {
    Tensor tensor;
    if (spec.binarySize) {
      tensor = tensorFromBinary(spec, body->data() + offset, body);
      offset += static_cast<std::size_t>(*spec.binarySize);
    } else {
      tensor = tensorFromJson(spec);
    }
    tensors.push_back({std::move(spec.name), std::move(tensor)});
  }
  return Tensors(std::move(tensors));
}

Tensor tensorFromBinaryBytes(std::string_view what, DataType dtype, const Shape& shape,
                              const char* data, std::size_t size,
                              const std::shared_ptr<const void>& holder) {
  TensorSpec spec;
  spec.what = std::string(what);
  spec.dtype = dtype;
  spec.shape = shape;
  try {
    spec.count = elementCount(shape);
  } catch (const Error& e) {
    throw invalid(spec.what + ": " + e.what());
  }
  spec.binarySize = size;
  checkBinarySize(spec);
  return tensorFromBinary(spec, data, holder);
}

bool appendJsonString(std::string& out, std::string_view text, InvalidUtf8 mode) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  out.reserve(out.size() + size + 2);
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet appended
  std::size_t i = 0;
  while (i < size) {
    const unsigned char c = bytes[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t length = utf8SequenceLength(bytes + i, size - i)) {
        i += length;
        continue;
      }
      if (mode == InvalidUtf8::Refuse) return false;
      out.append(text.substr(run, i - run));
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      run = ++i;
      continue;
    }
    out.append(text.substr(run, i - run));
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escape, sizeof(escape));
      }
    }
    run = ++i;
  }
  out.append(text.substr(run));
  out += '"';
  return true;
}

void appendShape(std::string& out, const Shape& shape) {
  out += '[';
  char buffer[24];
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ',';
    out.append(buffer, std::to_chars(buffer, buffer + sizeof(buffer), shape[i]).ptr);
  }
  out += ']';
}

void appendJsonData(std::string& out, const Tensor& tensor, std::string_view what) {
  out += '[';
  switch (tensor.dtype()) {
    case DataType::Bool: {
      const auto* base = static_cast<const uint8_t*>(tensor.rawData());
      appendElements(out, tensor.elementCount(), [base](int64_t i, char* cursor) {
        const bool value = base[i] != 0;
        std::memcpy(cursor, value ? "true" : "false", value ? 4 : 5);
        return cursor + (value ? 4 : 5);
      });
      break;
    }
    case DataType::UInt8: appendIntegers<uint8_t>(out, tensor); break;
    case DataType::UInt16: appendIntegers<uint16_t>(out, tensor); break;
    case DataType::UInt32: appendIntegers<uint32_t>(out, tensor); break;
    case DataType::UInt64: appendIntegers<uint64_t>(out, tensor); break;
    case DataType::Int8: appendIntegers<int8_t>(out, tensor); break;
    case DataType::Int16: appendIntegers<int16_t>(out, tensor); break;
    case DataType::Int32: appendIntegers<int32_t>(out, tensor); break;
    case DataType::Int64: appendIntegers<int64_t>(out, tensor); break;
    case DataType::Float16: appendFloats<uint16_t>(out, tensor, fromFloat16Bits); break;
    case DataType::BFloat16: appendFloats<uint16_t>(out, tensor, fromBFloat16Bits); break;
    case DataType::Float32: appendFloats<float>(out, tensor, [](float v) { return v; }); break;
    case DataType::Float64: appendFloats<double>(out, tensor, [](double v) { return v; }); break;
    case DataType::String: {
      const std::vector<std::string>& values = tensor.strings();
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        if (!appendJsonString(out, values[i], InvalidUtf8::Refuse))
          throw invalid(std::string(what) + ": element " + std::to_string(i) +
                        " is not UTF-8, which a JSON string cannot carry; request the output "
                        "as binary data (parameters.binary_data)");
      }
      break;
    }
    default:
      throw Error(ErrorCode::Unsupported, std::string(what) + ": KServe v2 has no datatype for " +
                                              std::string(toString(tensor.dtype())));
  }
  out += ']';
}

std::size_t binaryDataSize(const Tensor& tensor, std::string_view what) {
  if (tensor.dtype() != DataType::String) return tensor.byteSize();
  std::size_t total = 0;
  const std::vector<std::string>& values = tensor.strings();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i].size() > UINT32_MAX)
      throw invalid(std::string(what) + ": element " + std::to_string(i) + " has " +
                    std::to_string(values[i].size()) +
                    " bytes; the binary form's 4-byte length allows at most 4294967295");
    total += 4 + values[i].size();
  }
  return total;
}

void appendBinaryData(std::string& out, const Tensor& tensor) {
  if (tensor.dtype() == DataType::String) {
    for (const std::string& value : tensor.strings()) {
      const auto length = static_cast<uint32_t>(value.size());
      char prefix[4];
      std::memcpy(prefix, &length, 4);
      out.append(prefix, 4);
      out.append(value);
    }
    return;
  }
  const auto* data = static_cast<const char*>(tensor.rawData());
  const std::size_t start = out.size();
  out.append(data, tensor.byteSize());
  if (tensor.dtype() == DataType::Bool)  // the extension's BOOL is exactly 0 or 1
    for (std::size_t i = start; i < out.size(); ++i) out[i] = out[i] != 0 ? 1 : 0;
}

std::size_t estimatedJsonSize(const Tensor& tensor) {
  const auto count = static_cast<std::size_t>(tensor.elementCount());
  switch (tensor.dtype()) {
    case DataType::Bool: return count * 6 + 2;
    case DataType::UInt8: case DataType::Int8: return count * 4 + 2;
    case DataType::Float16: case DataType::BFloat16: return count * 10 + 2;
    case DataType::Float32: return count * 14 + 2;
    case DataType::Float64: return count * 22 + 2;
    case DataType::String: {
      std::size_t total = 2;
      for (const std::string& value : tensor.strings()) total += value.size() + 3;
      return total;
    }
    default: return count * 8 + 2;
  }
}

}  // namespace polyinfer::kserve::detail
