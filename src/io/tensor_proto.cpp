// onnx.TensorProto reader and writer, with Debian's generated classes
// (libonnx-dev, built with ONNX_ML=1 and ONNX_NAMESPACE=onnx). This file is
// the module libpolyinfer_io_tensorproto.so, which libpolyinfer_io loads at
// run time (tensor_proto_module.hpp says why); it exports only its entry point.
// The conversion itself (tensorFromProto, tensorToProto) is declared in
// tensor_proto_convert.hpp, for the other readers inside the module.
//
// Where each dtype lives when raw_data is not used (onnx.proto):
//   float_data   FLOAT, COMPLEX64 (real, imaginary pairs)
//   int32_data   INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16 and BFLOAT16
//                (their bits), FLOAT8* (bits), and the sub-byte types (one packed
//                byte per entry)
//   int64_data   INT64
//   double_data  DOUBLE, COMPLEX128 (pairs)
//   uint64_data  UINT32, UINT64
//   string_data  STRING
// raw_data holds the dense little-endian bytes of every non-string dtype; with
// data_location EXTERNAL the same bytes lie in another file (external_data).
#include <onnx/onnx_pb.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>

#include "io_util.hpp"
#include "polyinfer/version.hpp"
#include "tensor_proto_convert.hpp"
#include "value_proto.hpp"
#include "tensor_proto_module.hpp"

namespace polyinfer::io {
namespace fs = std::filesystem;

namespace {

constexpr const char* kWhat = "TensorProto file";

bool knownType(int32_t value) {
  if (value == static_cast<int32_t>(DataType::String)) return true;
  return value > 0 && bitsPerElement(static_cast<DataType>(value)) > 0;
}

/// Copies a typed repeated field into dense storage: each entry becomes one
/// element of `Element` (truncating, as ONNX stores int8/uint16/float16/... in
/// int32: the low bits are the element's).
template <typename Element, typename Field>
void copyField(const Field& field, void* storage) {
  auto* out = static_cast<Element*>(storage);
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Element>(field.Get(i));
}

/// Element unit that byte order applies to (a complex number swaps each half).
[[maybe_unused]] std::size_t swapUnit(DataType type) {
  if (type == DataType::Complex64) return 4;
  if (type == DataType::Complex128) return 8;
  const std::size_t bits = bitsPerElement(type);
  return bits % 8 == 0 ? bits / 8 : 0;
}

/// Dense little-endian bytes (raw_data, external data) as this host wants them:
/// byte order, and bools as 0/1.
void fromLittleEndian(Tensor& tensor) {
  if constexpr (!detail::kLittleEndianHost) {
    const std::size_t unit = swapUnit(tensor.dtype());
    if (unit > 1) detail::swapBytes(tensor.mutableRawData(), tensor.byteSize() / unit, unit);
  }
  if (tensor.dtype() == DataType::Bool) {
    auto* b = static_cast<uint8_t*>(tensor.mutableRawData());
    for (std::size_t i = 0; i < tensor.byteSize(); ++i) b[i] = b[i] != 0;
  }
}

std::optional<uint64_t> parseUnsigned(const std::string& text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

/// Where external data lies: checked to be a regular file in (or below) the
/// directory of the .pb, with offset + length inside it.
struct ExternalSpan {
  fs::path path;
  std::string shown;  // "external data location 'w.bin'" for messages
  uint64_t offset = 0;
  uint64_t length = 0;
};

class Converter {
 public:
  Converter(const onnx::TensorProto& proto, const fs::path& file) : proto_(proto), file_(file) {
    if (!proto.name().empty()) label_ = "tensor '" + detail::clipped(proto.name()) + "': ";
  }

  Tensor convert() {
    if (proto_.has_segment())
      throw Error(ErrorCode::Unsupported,
                  std::string(kWhat) + " " + detail::quoted(file_) + ": " + label_ +
                      "the tensor is one 'segment' (begin " +
                      std::to_string(proto_.segment().begin()) + ", end " +
                      std::to_string(proto_.segment().end()) +
                      ") of a larger tensor; segmented TensorProtos are not supported, "
                      "expected the whole tensor in one TensorProto");
    const int32_t typeValue = proto_.data_type();
    if (!knownType(typeValue))
      fail(typeValue == 0 ? std::string("data_type is UNDEFINED (0); is this a TensorProto?")
                          : "unknown data_type " + std::to_string(typeValue));
    type_ = static_cast<DataType>(typeValue);
    shape_.assign(proto_.dims().begin(), proto_.dims().end());
    for (int64_t d : shape_)
      if (d < 0) fail("negative dimension in dims " + detail::clipped(toString(shape_)));
    what_ = detail::clipped(detail::describe(type_, shape_));
    const std::optional<int64_t> elements = detail::checkedElementCount(shape_);
    if (!elements) fail("dims " + what_ + " declare more than 2^63 elements");
    count_ = *elements;
    const bool external = proto_.data_location() == onnx::TensorProto::EXTERNAL;
    if (!external && proto_.external_data_size() > 0)
      fail("external_data is set but data_location is DEFAULT; expected data_location EXTERNAL "
           "with external_data, or the data in the file");

    if (type_ == DataType::String) {
      if (external)
        fail("a string tensor cannot have external data (its values belong in string_data)");
      requireOnly("string_data");
      requireCount("string_data", proto_.string_data_size(), static_cast<uint64_t>(count_));
      std::vector<std::string> values(proto_.string_data().begin(), proto_.string_data().end());
      return Tensor::fromStrings(shape_, std::move(values));
    }

    const std::optional<std::size_t> bytes = detail::checkedDenseBytes(type_, count_);
    if (!bytes) fail("dims " + what_ + " declare more than 2^64 bytes of data");
    bytes_ = *bytes;
    if (external) return fromExternal();
    const bool anyTyped = proto_.float_data_size() > 0 || proto_.int32_data_size() > 0 ||
                          proto_.int64_data_size() > 0 || proto_.double_data_size() > 0 ||
                          proto_.uint64_data_size() > 0 || proto_.string_data_size() > 0;
    if (proto_.has_raw_data() && (!proto_.raw_data().empty() || !anyTyped)) return fromRaw();
    return fromTyped();
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    detail::malformed(file_, kWhat, label_ + reason);
  }

  void requireCount(const char* field, int have, uint64_t want) const {
    if (have < 0 || static_cast<uint64_t>(have) != want)
      fail(std::string(field) + " has " + std::to_string(have) + " entries, expected " +
           std::to_string(want) + " for " + what_);
  }

  /// Fields that must be empty for this dtype: data there means a broken file.
  /// `allowed` is the one field that may hold data ("" for none: external).
  void requireOnly(const char* allowed) const {
    const std::pair<const char*, int> sizes[] = {
        {"float_data", proto_.float_data_size()},   {"int32_data", proto_.int32_data_size()},
        {"int64_data", proto_.int64_data_size()},   {"double_data", proto_.double_data_size()},
        {"uint64_data", proto_.uint64_data_size()}, {"string_data", proto_.string_data_size()},
        {"raw_data", proto_.has_raw_data() && !proto_.raw_data().empty() ? 1 : 0}};
    for (const auto& [name, size] : sizes)
      if (size > 0 && std::strcmp(name, allowed) != 0)
        fail(std::string("a ") + std::string(toString(type_)) + " tensor cannot have " + name +
             (allowed[0] ? std::string(" (its values belong in ") + allowed + ")"
                         : std::string(" when its data is external (data_location EXTERNAL)")));
  }

  Tensor fromRaw() const {
    requireOnly("raw_data");
    if (proto_.raw_data().size() != bytes_)
      fail("raw_data has " + std::to_string(proto_.raw_data().size()) + " bytes, expected " +
           std::to_string(bytes_) + " for " + what_);
    Tensor tensor = Tensor::allocate(type_, shape_);
    if (bytes_) std::memcpy(tensor.mutableRawData(), proto_.raw_data().data(), bytes_);
    fromLittleEndian(tensor);
    return tensor;
  }

  Tensor fromTyped() const {
    const auto n = static_cast<uint64_t>(count_);
    // Checked (field and entry count) before the tensor is allocated.
    auto checked = [&](const char* field, int have, uint64_t want) {
      requireOnly(field);
      requireCount(field, have, want);
      return Tensor::allocate(type_, shape_);
    };
    Tensor tensor;
    switch (type_) {
      case DataType::Float32:
        tensor = checked("float_data", proto_.float_data_size(), n);
        copyField<float>(proto_.float_data(), tensor.mutableRawData());
        break;
      case DataType::Complex64:  // count < 2^63: 2 * count fits
        tensor = checked("float_data", proto_.float_data_size(), 2 * n);
        copyField<float>(proto_.float_data(), tensor.mutableRawData());
        break;
      case DataType::Float64:
        tensor = checked("double_data", proto_.double_data_size(), n);
        copyField<double>(proto_.double_data(), tensor.mutableRawData());
        break;
      case DataType::Complex128:
        tensor = checked("double_data", proto_.double_data_size(), 2 * n);
        copyField<double>(proto_.double_data(), tensor.mutableRawData());
        break;
      case DataType::Int64:
        tensor = checked("int64_data", proto_.int64_data_size(), n);
        copyField<int64_t>(proto_.int64_data(), tensor.mutableRawData());
        break;
      case DataType::UInt32:
        tensor = checked("uint64_data", proto_.uint64_data_size(), n);
        copyField<uint32_t>(proto_.uint64_data(), tensor.mutableRawData());
        break;
      case DataType::UInt64:
        tensor = checked("uint64_data", proto_.uint64_data_size(), n);
        copyField<uint64_t>(proto_.uint64_data(), tensor.mutableRawData());
        break;
      case DataType::Int32:
        tensor = checked("int32_data", proto_.int32_data_size(), n);
        copyField<int32_t>(proto_.int32_data(), tensor.mutableRawData());
        break;
      case DataType::Int16:
      case DataType::UInt16:
      case DataType::Float16:
      case DataType::BFloat16:
        // One element per entry: its low 16 bits (float16/bfloat16: the bits).
        tensor = checked("int32_data", proto_.int32_data_size(), n);
        copyField<uint16_t>(proto_.int32_data(), tensor.mutableRawData());
        break;
      case DataType::Bool: {
        tensor = checked("int32_data", proto_.int32_data_size(), n);
        auto* out = static_cast<uint8_t*>(tensor.mutableRawData());
        for (int i = 0; i < proto_.int32_data_size(); ++i) out[i] = proto_.int32_data(i) != 0;
        break;
      }
      default:
        // int8, uint8, the float8 types (one element per entry, its low 8
        // bits) and the sub-byte types (one packed byte per entry).
        tensor = checked("int32_data", proto_.int32_data_size(), bytes_);
        copyField<uint8_t>(proto_.int32_data(), tensor.mutableRawData());
        break;
    }
    return tensor;
  }

  Tensor fromExternal() const {
    requireOnly("");
    const ExternalSpan span = locateExternal();
    if (span.length != bytes_)
      fail(span.shown + ": " + std::to_string(span.length) + " bytes at offset " +
           std::to_string(span.offset) + " of " + detail::quoted(span.path) + ", expected " +
           std::to_string(bytes_) + " for " + what_);
    Tensor tensor = Tensor::allocate(type_, shape_);
    if (bytes_) {
      std::ifstream in(span.path, std::ios::binary);
      if (!in) fail(span.shown + ": cannot open " + detail::quoted(span.path) + ": " + std::strerror(errno));
      in.seekg(static_cast<std::streamoff>(span.offset));
      in.read(static_cast<char*>(tensor.mutableRawData()), static_cast<std::streamsize>(bytes_));
      if (static_cast<uint64_t>(in.gcount()) != bytes_)
        fail(span.shown + ": read " + std::to_string(in.gcount()) + " of " +
             std::to_string(bytes_) + " bytes from " + detail::quoted(span.path) +
             " (did the file change?)");
    }
    fromLittleEndian(tensor);
    return tensor;
  }

  /// external_data's location, offset and length, checked: a relative path
  /// without '..' that resolves inside the directory of the .pb, a regular
  /// file, and offset + length within it. "checksum" (a SHA-1 of the whole
  /// file) and unknown keys are ignored, as ONNX's own loader does.
  ExternalSpan locateExternal() const {
    const std::string* location = nullptr;
    const std::string* offset = nullptr;
    const std::string* length = nullptr;
    for (const onnx::StringStringEntryProto& entry : proto_.external_data()) {
      if (entry.key() == "location") location = &entry.value();
      else if (entry.key() == "offset") offset = &entry.value();
      else if (entry.key() == "length") length = &entry.value();
    }
    if (location == nullptr || location->empty())
      fail("data_location is EXTERNAL but external_data has no \"location\"; expected the "
           "data file's path relative to the .pb file");
    ExternalSpan span;
    span.shown = "external data location '" + detail::clipped(*location) + "'";
    if (location->find('\0') != std::string::npos) fail(span.shown + ": contains a NUL byte");
    const fs::path relative(*location);
    if (relative.is_absolute() || relative.has_root_name() || relative.has_root_directory())
      fail(span.shown + ": expected a path relative to the directory of the .pb file, got an "
                        "absolute path");
    for (const fs::path& part : relative)
      if (part == "..")
        fail(span.shown + ": expected a file in the directory of the .pb file (or below it), "
                          "got a path with '..'");
    const fs::path base = file_.parent_path().empty() ? fs::path(".") : file_.parent_path();
    span.path = base / relative;
    std::error_code ec;
    const fs::file_status status = fs::status(span.path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
      fail(span.shown + ": cannot access " + detail::quoted(span.path) + ": " + ec.message());
    if (!fs::exists(status))
      throw Error(ErrorCode::NotFound, std::string(kWhat) + " " + detail::quoted(file_) + ": " +
                                           label_ + span.shown + ": no such file " +
                                           detail::quoted(span.path));
    if (!fs::is_regular_file(status))
      fail(span.shown + ": " + detail::quoted(span.path) + " is not a regular file");
    // A symbolic link beside the .pb may point anywhere: what it resolves to
    // must lie in the directory as well.
    const fs::path realBase = fs::canonical(base, ec);
    const fs::path realFile = ec ? fs::path() : fs::canonical(span.path, ec);
    if (ec) fail(span.shown + ": cannot resolve " + detail::quoted(span.path) + ": " + ec.message());
    const fs::path inside = realFile.lexically_relative(realBase);
    if (inside.empty() || *inside.begin() == "..")
      fail(span.shown + ": resolves to " + detail::quoted(realFile) + ", outside the directory " +
           detail::quoted(realBase) + " of the .pb file (a symbolic link?)");
    const uintmax_t size = fs::file_size(span.path, ec);
    if (ec) fail(span.shown + ": cannot read the size of " + detail::quoted(span.path) + ": " + ec.message());
    if (offset) {
      const std::optional<uint64_t> value = parseUnsigned(*offset);
      if (!value)
        fail(span.shown + ": \"offset\" '" + detail::clipped(*offset) +
             "': expected a non-negative integer");
      span.offset = *value;
    }
    if (span.offset > size)
      fail(span.shown + ": offset " + std::to_string(span.offset) + " is past the end of " +
           detail::quoted(span.path) + ", which holds " + std::to_string(size) + " bytes");
    span.length = size - span.offset;
    if (length) {
      const std::optional<uint64_t> value = parseUnsigned(*length);
      if (!value)
        fail(span.shown + ": \"length\" '" + detail::clipped(*length) +
             "': expected a non-negative integer");
      if (*value > size - span.offset)
        fail(span.shown + ": offset " + std::to_string(span.offset) + " + length " +
             std::to_string(*value) + " is past the end of " + detail::quoted(span.path) +
             ", which holds " + std::to_string(size) + " bytes");
      span.length = *value;
    }
    return span;
  }

  const onnx::TensorProto& proto_;
  const fs::path& file_;
  std::string label_;  // "tensor 'name': " or empty
  DataType type_ = DataType::Undefined;
  Shape shape_;
  std::string what_;  // "float32[2,3]"
  int64_t count_ = 0;
  std::size_t bytes_ = 0;
};

NamedTensor readTensorProto(const fs::path& file) {
  // protobuf parses messages of up to 2 GiB; larger tensors need external data.
  const std::uintmax_t size = detail::regularFileSize(file, kWhat);
  if (size > static_cast<std::uintmax_t>(INT_MAX))
    detail::malformed(file, kWhat,
                      "the file holds " + std::to_string(size) +
                          " bytes; a serialized TensorProto is at most 2 GiB (larger tensors "
                          "keep their data in an external file)");
  const std::string bytes = detail::readWholeFile(file, kWhat);
  if (bytes.empty()) detail::malformed(file, kWhat, "empty file");
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes))
    detail::malformed(file, kWhat, "not a serialized onnx.TensorProto (protobuf parse failed)");
  Tensor tensor = detail::tensorFromProto(proto, file);
  return {proto.name(), std::move(tensor)};
}

void writeTensorProto(const fs::path& file, const std::string& name, const Tensor& tensor) {
  if (!tensor.valid())
    throw Error(ErrorCode::InvalidArgument, std::string(kWhat) + " " + detail::quoted(file) +
                                                ": cannot write an empty (undefined) tensor");
  onnx::TensorProto proto;
  detail::tensorToProto(tensor, name, proto);
  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    throw Error(ErrorCode::Internal, std::string(kWhat) + " " + detail::quoted(file) +
                                         ": protobuf serialization failed (tensor over 2 GiB?)");
  detail::writeWholeFile(file, kWhat, bytes);
}

}  // namespace

Tensor detail::tensorFromProto(const onnx::TensorProto& proto, const fs::path& file) {
  return Converter(proto, file).convert();
}

void detail::tensorToProto(const Tensor& tensor, const std::string& name, onnx::TensorProto& proto) {
  if (!tensor.valid())
    throw Error(ErrorCode::InvalidArgument,
                "TensorProto '" + detail::clipped(name) + "': cannot convert an empty (undefined) tensor");
  proto.Clear();
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
}

}  // namespace polyinfer::io

extern "C" const polyinfer::io::detail::TensorProtoModule* polyinfer_io_tensorproto_module() {
  static constexpr polyinfer::io::detail::TensorProtoModule module{
      polyinfer::io::detail::kTensorProtoModuleAbi, POLYINFER_VERSION,
      &polyinfer::io::readTensorProto, &polyinfer::io::writeTensorProto,
      &polyinfer::io::detail::readValueProto, &polyinfer::io::detail::writeValueProto};
  return &module;
}
