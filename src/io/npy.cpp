// numpy .npy reader and writer, written from the format's specification
// (numpy/lib/format.py): magic "\x93NUMPY", major and minor version bytes, a
// little-endian header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0), then a
// Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}
// padded with spaces and ended by '\n', then the data.
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "io_util.hpp"
#include "polyinfer/tensor_io.hpp"

namespace polyinfer::io {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr const char* kWhat = "npy file";

// --------------------------------------------------------------------- descr

enum class ByteOrder { Little, Big, NotApplicable };

struct Descr {
  DataType type = DataType::Undefined;
  ByteOrder order = ByteOrder::NotApplicable;
  std::size_t itemSize = 0;  // bytes per element in the file
  std::size_t swapUnit = 0;  // bytes per byte-swapped unit (a complex swaps its halves)
  bool isUnicode = false;    // 'U': UTF-32 code units (strings)
};

/// Parses a numpy dtype string such as "<f4", "|b1", ">i8", "|S5", "<U3".
std::optional<Descr> parseDescr(std::string_view text, std::string& why) {
  Descr d;
  std::string_view body = text;
  char orderChar = '=';
  if (!body.empty() && (body[0] == '<' || body[0] == '>' || body[0] == '|' || body[0] == '=')) {
    orderChar = body[0];
    body.remove_prefix(1);
  }
  if (body.empty()) {
    why = "empty dtype";
    return std::nullopt;
  }
  const char kind = body[0];
  std::string_view sizeText = body.substr(1);
  std::size_t size = 0;
  if (kind == '?' && sizeText.empty()) {
    size = 1;
  } else {
    if (sizeText.empty()) {
      why = "dtype '" + detail::clipped(text) + "' has no item size";
      return std::nullopt;
    }
    for (char c : sizeText) {
      // At most 9 digits: a 'U' item size times 4 stays far from overflow.
      if (!std::isdigit(static_cast<unsigned char>(c)) || size > 99999999) {
        why = "unsupported dtype '" + detail::clipped(text) + "'";
        return std::nullopt;
      }
      size = size * 10 + static_cast<std::size_t>(c - '0');
    }
  }
  if (size == 0) {
    // numpy has no zero-width dtype ('S0' becomes 'S1' in an array); an item
    // size of 0 would let any element count pass the check against the file.
    why = "dtype '" + detail::clipped(text) + "' has item size 0; expected at least 1 byte";
    return std::nullopt;
  }
  d.itemSize = size;
  d.swapUnit = size;
  auto pick = [&](std::initializer_list<std::pair<std::size_t, DataType>> table) {
    for (const auto& [bytes, type] : table)
      if (bytes == size) d.type = type;
  };
  switch (kind) {
    case 'f': pick({{2, DataType::Float16}, {4, DataType::Float32}, {8, DataType::Float64}}); break;
    case 'i':
      pick({{1, DataType::Int8}, {2, DataType::Int16}, {4, DataType::Int32}, {8, DataType::Int64}});
      break;
    case 'u':
      pick({{1, DataType::UInt8}, {2, DataType::UInt16}, {4, DataType::UInt32},
            {8, DataType::UInt64}});
      break;
    case 'b':
    case '?': pick({{1, DataType::Bool}}); break;
    case 'c':
      pick({{8, DataType::Complex64}, {16, DataType::Complex128}});
      d.swapUnit = size / 2;
      break;
    case 'S':
    case 'a':
      d.type = DataType::String;
      d.swapUnit = 1;
      break;
    case 'U':
      d.type = DataType::String;
      d.isUnicode = true;
      d.itemSize = size * 4;
      d.swapUnit = 4;
      break;
    case 'O':
      why = "object arrays (dtype 'O') are not supported; save a numeric array";
      return std::nullopt;
    default: break;
  }
  if (d.type == DataType::Undefined) {
    why = "unsupported dtype '" + detail::clipped(text) +
          "'; expected a bool, integer, float, complex or string dtype";
    return std::nullopt;
  }
  if (orderChar == '<') d.order = ByteOrder::Little;
  else if (orderChar == '>') d.order = ByteOrder::Big;
  else if (orderChar == '=') d.order = detail::kLittleEndianHost ? ByteOrder::Little : ByteOrder::Big;
  else d.order = ByteOrder::NotApplicable;
  if (d.order == ByteOrder::NotApplicable && d.swapUnit > 1) {
    why = "dtype '" + detail::clipped(text) + "' has no byte order";
    return std::nullopt;
  }
  return d;
}

// ------------------------------------------------------------ header literal

/// The subset of Python literals a .npy header dict uses.
struct PyValue {
  enum class Kind { String, Bool, Tuple, Other } kind = Kind::Other;
  std::string text;            // String
  bool flag = false;           // Bool
  std::vector<int64_t> items;  // Tuple of integers
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const fs::path& file) : s_(text), file_(file) {}

  std::vector<std::pair<std::string, PyValue>> parseDict() {
    std::vector<std::pair<std::string, PyValue>> entries;
    skipSpace();
    expect('{');
    while (true) {
      skipSpace();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      PyValue key = parseValue();
      if (key.kind != PyValue::Kind::String) fail("expected a string key");
      skipSpace();
      expect(':');
      PyValue value = parseValue();
      entries.emplace_back(key.text, std::move(value));
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skipSpace();
      expect('}');
      break;
    }
    skipSpace();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    return entries;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    detail::malformed(file_, kWhat,
                      "malformed header (" + what + " at offset " + std::to_string(pos_) +
                          "): " + std::string(s_.substr(0, 200)));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool consumeWord(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  PyValue parseValue() {
    skipSpace();
    PyValue v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = PyValue::Kind::String;
      ++pos_;
      while (true) {
        if (pos_ >= s_.size()) fail("unterminated string");
        char ch = s_[pos_++];
        if (ch == c) break;
        if (ch == '\\' && pos_ < s_.size()) ch = s_[pos_++];
        v.text += ch;
      }
    } else if (consumeWord("True")) {
      v.kind = PyValue::Kind::Bool;
      v.flag = true;
    } else if (consumeWord("False")) {
      v.kind = PyValue::Kind::Bool;
      v.flag = false;
    } else if (c == '(') {
      v.kind = PyValue::Kind::Tuple;
      ++pos_;
      while (true) {
        skipSpace();
        if (peek() == ')') {
          ++pos_;
          break;
        }
        v.items.push_back(parseInt());
        skipSpace();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(')');
        break;
      }
    } else if (c == '[' || c == '{') {
      // A structured dtype's field list (or a nested dict): skip it whole.
      skipBracketed();
    } else {
      fail("unexpected value");
    }
    return v;
  }

  int64_t parseInt() {
    skipSpace();
    const std::size_t start = pos_;
    int64_t value = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      const int digit = s_[pos_] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("dimension too large");
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) fail("expected a non-negative integer");
    if (peek() == 'L') ++pos_;  // Python 2 long, written by old numpy versions
    return value;
  }

  void skipBracketed() {
    int depth = 0;
    while (pos_ < s_.size()) {
      const char ch = s_[pos_++];
      if (ch == '\'' || ch == '"') {
        while (pos_ < s_.size() && s_[pos_] != ch) pos_ += (s_[pos_] == '\\') ? 2 : 1;
        ++pos_;
      } else if (ch == '[' || ch == '{' || ch == '(') {
        ++depth;
      } else if (ch == ']' || ch == '}' || ch == ')') {
        if (--depth == 0) return;
      }
    }
    fail("unbalanced brackets");
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const fs::path& file_;
};

uint32_t readLittle32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// numpy's descr for writing each dtype, or empty when numpy has none.
std::string descrFor(DataType type) {
  switch (type) {
    case DataType::Float32: return "<f4";
    case DataType::Float64: return "<f8";
    case DataType::Float16: return "<f2";
    case DataType::BFloat16: return "<u2";  // numpy has no bfloat16: the raw bits
    case DataType::Int8: return "|i1";
    case DataType::UInt8: return "|u1";
    case DataType::Int16: return "<i2";
    case DataType::UInt16: return "<u2";
    case DataType::Int32: return "<i4";
    case DataType::UInt32: return "<u4";
    case DataType::Int64: return "<i8";
    case DataType::UInt64: return "<u8";
    case DataType::Bool: return "|b1";
    case DataType::Complex64: return "<c8";
    case DataType::Complex128: return "<c16";
    case DataType::Float8E4M3FN:
    case DataType::Float8E4M3FNUZ:
    case DataType::Float8E5M2:
    case DataType::Float8E5M2FNUZ:
    case DataType::Float8E8M0: return "|u1";  // numpy has no float8: the raw bits
    default: return {};
  }
}

std::string shapeLiteral(const Shape& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

}  // namespace

Tensor readNpy(const fs::path& file) {
  return detail::readNpyBytes(detail::readWholeFile(file, kWhat), file);
}

Tensor detail::readNpyBytes(std::string_view bytes, const fs::path& file) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kMagic.size() + 2 || bytes.substr(0, kMagic.size()) != kMagic)
    detail::malformed(file, kWhat, "not a numpy file (no \\x93NUMPY magic)");
  const int major = u[6];
  const int minor = u[7];
  std::size_t headerLength = 0;
  std::size_t headerStart = 0;
  if (major == 1) {
    if (bytes.size() < 10) detail::malformed(file, kWhat, "truncated header");
    headerLength = static_cast<std::size_t>(u[8]) | (static_cast<std::size_t>(u[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) detail::malformed(file, kWhat, "truncated header");
    headerLength = readLittle32(u + 8);
    headerStart = 12;
  } else {
    detail::malformed(file, kWhat,
                      "unsupported format version " + std::to_string(major) + "." +
                          std::to_string(minor) + "; expected 1.0, 2.0 or 3.0");
  }
  if (bytes.size() - headerStart < headerLength)
    detail::malformed(file, kWhat,
                      "truncated header: expected " + std::to_string(headerLength) +
                          " header bytes, got " + std::to_string(bytes.size() - headerStart));
  const std::string_view header(bytes.data() + headerStart, headerLength);
  const std::size_t dataStart = headerStart + headerLength;

  HeaderParser parser(header, file);
  std::optional<PyValue> descrValue, fortranValue, shapeValue;
  for (auto& [key, value] : parser.parseDict()) {
    if (key == "descr") descrValue = std::move(value);
    else if (key == "fortran_order") fortranValue = std::move(value);
    else if (key == "shape") shapeValue = std::move(value);
    else detail::malformed(file, kWhat, "unexpected header key '" + detail::clipped(key) + "'");
  }
  if (!descrValue || !fortranValue || !shapeValue)
    detail::malformed(file, kWhat, "header lacks one of 'descr', 'fortran_order', 'shape'");
  if (descrValue->kind != PyValue::Kind::String)
    detail::malformed(file, kWhat, "structured dtypes are not supported; expected a plain dtype");
  if (fortranValue->kind != PyValue::Kind::Bool)
    detail::malformed(file, kWhat, "'fortran_order' must be True or False");
  if (fortranValue->flag)
    detail::malformed(file, kWhat,
                      "Fortran-order arrays are not supported; save with "
                      "numpy.ascontiguousarray(a) (C order)");
  if (shapeValue->kind != PyValue::Kind::Tuple)
    detail::malformed(file, kWhat, "'shape' must be a tuple of integers");

  std::string why;
  const std::optional<Descr> descr = parseDescr(descrValue->text, why);
  if (!descr) detail::malformed(file, kWhat, why);
  const Shape shape = shapeValue->items;
  // What the header declares, checked against what the file holds before
  // anything is allocated (dims are non-negative: parseInt reads no sign).
  const std::size_t available = bytes.size() - dataStart;
  const std::string declared = "shape " + detail::clipped(shapeLiteral(shape)) + " of dtype '" +
                               detail::clipped(descrValue->text) + "'";
  const std::optional<int64_t> elements = detail::checkedElementCount(shape);
  if (!elements || static_cast<uint64_t>(*elements) >
                       std::numeric_limits<std::size_t>::max() / descr->itemSize)
    detail::malformed(file, kWhat,
                      "the header declares " + declared +
                          (elements ? ", more than 2^64 bytes of data"
                                    : ", more than 2^63 elements") +
                          "; the file holds " + std::to_string(available) + " bytes of data");
  const int64_t count = *elements;
  const std::size_t needed = static_cast<std::size_t>(count) * descr->itemSize;
  if (available < needed)
    detail::malformed(file, kWhat,
                      "truncated data: expected " + std::to_string(needed) +
                          " bytes of data for the " + declared +
                          " the header declares, the file holds " + std::to_string(available));
  const char* data = bytes.data() + dataStart;
  const bool swap = (descr->order == ByteOrder::Big) == detail::kLittleEndianHost &&
                    descr->order != ByteOrder::NotApplicable;

  if (descr->type == DataType::String) {
    std::vector<std::string> values;
    values.reserve(static_cast<std::size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      const char* item = data + static_cast<std::size_t>(i) * descr->itemSize;
      std::string value;
      if (descr->isUnicode) {
        for (std::size_t k = 0; k < descr->itemSize; k += 4) {
          unsigned char unit[4];
          std::memcpy(unit, item + k, 4);
          if (descr->order == ByteOrder::Big) std::reverse(unit, unit + 4);
          const uint32_t cp = readLittle32(unit);
          if (cp > 0x10FFFF) detail::malformed(file, kWhat, "invalid code point in a 'U' string");
          appendUtf8(value, cp);
        }
      } else {
        value.assign(item, descr->itemSize);
      }
      // numpy strips trailing NULs from fixed-width strings.
      while (!value.empty() && value.back() == '\0') value.pop_back();
      values.push_back(std::move(value));
    }
    return Tensor::fromStrings(shape, std::move(values));
  }

  Tensor tensor = Tensor::allocate(descr->type, shape);
  if (tensor.byteSize() != needed)
    detail::malformed(file, kWhat, "internal size mismatch for dtype " + descrValue->text);
  if (needed) std::memcpy(tensor.mutableRawData(), data, needed);
  if (swap) detail::swapBytes(tensor.mutableRawData(), needed / descr->swapUnit, descr->swapUnit);
  if (descr->type == DataType::Bool) {
    auto* b = static_cast<uint8_t*>(tensor.mutableRawData());
    for (int64_t i = 0; i < count; ++i) b[i] = b[i] != 0;
  }
  return tensor;
}

void writeNpy(const fs::path& file, const Tensor& tensor) {
  if (!tensor.valid())
    throw Error(ErrorCode::InvalidArgument,
                "npy file " + detail::quoted(file) + ": cannot write an empty (undefined) tensor");
  std::string descr;
  std::string payload;
  if (tensor.dtype() == DataType::String) {
    // Fixed-width byte strings ('|S<n>', numpy's bytes_), n the longest element.
    std::size_t width = 1;
    for (const std::string& s : tensor.strings()) width = std::max(width, s.size());
    descr = "|S" + std::to_string(width);
    payload.reserve(width * tensor.strings().size());
    for (const std::string& s : tensor.strings()) {
      payload += s;
      payload.append(width - s.size(), '\0');
    }
  } else {
    descr = descrFor(tensor.dtype());
    if (descr.empty())
      throw Error(ErrorCode::Unsupported,
                  "npy file " + detail::quoted(file) + ": numpy has no dtype for " +
                      std::string(toString(tensor.dtype())) + "; write it as .pb instead");
    payload.assign(static_cast<const char*>(tensor.rawData()), tensor.byteSize());
    if constexpr (!detail::kLittleEndianHost) {
      const std::size_t unit = tensor.dtype() == DataType::Complex64    ? 4
                               : tensor.dtype() == DataType::Complex128 ? 8
                                   : bitsPerElement(tensor.dtype()) / 8;
      detail::swapBytes(payload.data(), payload.size() / unit, unit);
    }
  }

  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                       shapeLiteral(tensor.shape()) + ", }";
  // Pad with spaces so that magic + version + length + header is a multiple of
  // 64 bytes, and end with '\n'.
  std::size_t prefix = kMagic.size() + 2 + 2;
  int major = 1;
  auto padded = [&](std::size_t pre) { return (64 - (pre + header.size() + 1) % 64) % 64; };
  if (header.size() + 1 + padded(prefix) > 0xFFFF) {
    major = 2;
    prefix = kMagic.size() + 2 + 4;
  }
  header.append(padded(prefix), ' ');
  header += '\n';

  std::string out(kMagic);
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t length = header.size();
  out += static_cast<char>(length & 0xFF);
  out += static_cast<char>((length >> 8) & 0xFF);
  if (major == 2) {
    out += static_cast<char>((length >> 16) & 0xFF);
    out += static_cast<char>((length >> 24) & 0xFF);
  }
  out += header;
  out += payload;
  detail::writeWholeFile(file, kWhat, out);
}

}  // namespace polyinfer::io
