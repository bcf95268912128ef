// ONNX's value files inside the TensorProto module: SequenceProto, MapProto
// and OptionalProto (onnx-data.proto) beside TensorProto, read and written as
// polyinfer::Value.
//
// A .pb file does not say which message it holds, and the four overlap on
// the wire (a one-element SequenceProto and an OptionalProto holding a value
// are the same bytes). So a file is read as the kind the model declares, and
// strictly: every field must be one that kind has, elem_type must agree with
// the field that holds the values, and every tensor must convert. When that
// fails, the other kinds are tried only to name what the file holds instead
// ("expected a tensor, the file holds a sequence").
#include <onnx/onnx-data_pb.h>

#include <climits>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io_util.hpp"
#include "polyinfer/error.hpp"
#include "tensor_proto_convert.hpp"
#include "value_proto.hpp"

namespace polyinfer::io::detail {
namespace fs = std::filesystem;

namespace {

constexpr const char* kWhat = "ONNX value file";

std::string_view protoName(ValueKind kind) {
  switch (kind) {
    case ValueKind::Tensor: return "TensorProto";
    case ValueKind::Sequence: return "SequenceProto";
    case ValueKind::Map: return "MapProto";
    case ValueKind::Optional: return "OptionalProto";
  }
  return "?";
}

std::string_view kindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::Tensor: return "a tensor";
    case ValueKind::Sequence: return "a sequence";
    case ValueKind::Map: return "a map";
    case ValueKind::Optional: return "an optional";
  }
  return "?";
}

/// Converts parsed messages to Values; throws Error(InvalidArgument) naming
/// the file and the place inside it ("element 2's key 3").
class Reader {
 public:
  explicit Reader(const fs::path& file) : file_(file) {}

  Value tensor(const onnx::TensorProto& proto, const std::string& where, bool strict) {
    if (strict && !proto.unknown_fields().empty()) fail(where, "fields a TensorProto does not have");
    return tensorFromProto(proto, file_);
  }

  Value sequence(const onnx::SequenceProto& proto, const std::string& where, int depth) {
    checkDepth(where, depth);
    if (!proto.unknown_fields().empty()) fail(where, "fields a SequenceProto does not have");
    using P = onnx::SequenceProto;
    const int counts[] = {proto.tensor_values_size(), proto.sparse_tensor_values_size(),
                          proto.sequence_values_size(), proto.map_values_size(),
                          proto.optional_values_size()};
    const int elemType = proto.elem_type();
    int filled = 0;
    for (int c : counts) filled += c > 0 ? 1 : 0;
    if (filled > 1) fail(where, "values in more than one of its element fields");
    if (proto.sparse_tensor_values_size() > 0 || elemType == P::SPARSE_TENSOR)
      throw Error(ErrorCode::Unsupported, here(where) + "a sequence of sparse tensors; polyinfer has none");
    std::vector<Value> elements;
    const auto expectType = [&](int type, int count) {
      if (count > 0 && elemType != type)
        fail(where, "elem_type " + std::to_string(elemType) + " but values of type " + std::to_string(type));
    };
    expectType(P::TENSOR, proto.tensor_values_size());
    expectType(P::SEQUENCE, proto.sequence_values_size());
    expectType(P::MAP, proto.map_values_size());
    expectType(P::OPTIONAL, proto.optional_values_size());
    if (elemType < P::UNDEFINED || elemType > P::OPTIONAL)
      fail(where, "unknown elem_type " + std::to_string(elemType));
    for (int i = 0; i < proto.tensor_values_size(); ++i)
      elements.push_back(tensor(proto.tensor_values(i), element(where, i), true));
    for (int i = 0; i < proto.sequence_values_size(); ++i)
      elements.push_back(sequence(proto.sequence_values(i), element(where, i), depth + 1));
    for (int i = 0; i < proto.map_values_size(); ++i)
      elements.push_back(map(proto.map_values(i), element(where, i), depth + 1));
    for (int i = 0; i < proto.optional_values_size(); ++i)
      elements.push_back(optional(proto.optional_values(i), element(where, i), depth + 1));
    try {
      return Value::sequence(std::move(elements));
    } catch (const Error& e) {
      fail(where, e.what());
    }
  }

  Value map(const onnx::MapProto& proto, const std::string& where, int depth) {
    checkDepth(where, depth);
    if (!proto.unknown_fields().empty()) fail(where, "fields a MapProto does not have");
    const auto keyType = static_cast<DataType>(proto.key_type());
    const bool stringKeys = keyType == DataType::String;
    if (!isMapKeyType(keyType))
      fail(where, "key_type " + std::to_string(proto.key_type()) +
                      "; expected an integer type or string (ONNX map keys)");
    if (stringKeys ? proto.keys_size() > 0 : proto.string_keys_size() > 0)
      fail(where, std::string("key_type ") + std::string(toString(keyType)) + " but keys in " +
                      (stringKeys ? "keys (integers)" : "string_keys"));
    const int64_t count = stringKeys ? proto.string_keys_size() : proto.keys_size();
    const onnx::SequenceProto& values = proto.values();
    if (!values.unknown_fields().empty()) fail(where, "values with fields a SequenceProto does not have");
    if (values.tensor_values_size() != count || values.sequence_values_size() + values.map_values_size() +
                                                        values.optional_values_size() +
                                                        values.sparse_tensor_values_size() >
                                                    0)
      fail(where, std::to_string(count) + " keys and " +
                      std::to_string(values.tensor_values_size() + values.sequence_values_size() +
                                     values.map_values_size() + values.optional_values_size() +
                                     values.sparse_tensor_values_size()) +
                      " values; expected one scalar tensor value per key (polyinfer's maps hold "
                      "scalars, as ONNX Runtime's do)");

    Tensor keys;
    if (stringKeys) {
      std::vector<std::string> strings(proto.string_keys().begin(), proto.string_keys().end());
      keys = Tensor::fromStrings({count}, std::move(strings));
    } else {
      keys = Tensor::allocate(keyType, {count});
      const std::size_t size = bitsPerElement(keyType) / 8;
      auto* out = static_cast<unsigned char*>(keys.mutableRawData());
      for (int64_t i = 0; i < count; ++i) {
        const int64_t key = proto.keys(static_cast<int>(i));
        if (!fitsKey(keyType, key))
          fail(where, "key " + std::to_string(key) + " does not fit key_type " + std::string(toString(keyType)));
        // Little-endian host (io_util.hpp checks): the low bytes are the value.
        std::memcpy(out + static_cast<std::size_t>(i) * size, &key, size);
      }
    }

    // One scalar (or one-element) tensor per key, all of one dtype: packed
    // into one values tensor.
    DataType valueType = DataType::Undefined;
    std::vector<Tensor> parts;
    parts.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      Tensor part = tensor(values.tensor_values(i), where + " value " + std::to_string(i), true).tensor();
      if (part.elementCount() != 1)
        fail(where, "value " + std::to_string(i) + " is " + part.describe() +
                        "; expected a scalar (polyinfer's maps hold scalars, as ONNX Runtime's do)");
      if (i == 0) valueType = part.dtype();
      if (part.dtype() != valueType)
        fail(where, "value " + std::to_string(i) + " is " + part.describe() + ", value 0 " +
                        std::string(toString(valueType)) + "; expected one type");
      parts.push_back(std::move(part));
    }
    if (count == 0) {
      // No value to take the type from: values.elem_type says only "tensor".
      valueType = DataType::Float32;
    }
    Tensor packed;
    if (valueType == DataType::String) {
      std::vector<std::string> strings;
      strings.reserve(parts.size());
      for (const Tensor& part : parts) strings.push_back(part.strings().front());
      packed = Tensor::fromStrings({count}, std::move(strings));
    } else {
      if (bitsPerElement(valueType) % 8 != 0)
        fail(where, "values of " + std::string(toString(valueType)) + "; expected a whole-byte type");
      packed = Tensor::allocate(valueType, {count});
      const std::size_t size = bitsPerElement(valueType) / 8;
      auto* out = static_cast<unsigned char*>(packed.mutableRawData());
      for (std::size_t i = 0; i < parts.size(); ++i) std::memcpy(out + i * size, parts[i].rawData(), size);
    }
    try {
      return Value::map(std::move(keys), std::move(packed));
    } catch (const Error& e) {
      fail(where, e.what());
    }
  }

  Value optional(const onnx::OptionalProto& proto, const std::string& where, int depth) {
    checkDepth(where, depth);
    if (!proto.unknown_fields().empty()) fail(where, "fields an OptionalProto does not have");
    using P = onnx::OptionalProto;
    const int present = (proto.has_tensor_value() ? 1 : 0) + (proto.has_sparse_tensor_value() ? 1 : 0) +
                        (proto.has_sequence_value() ? 1 : 0) + (proto.has_map_value() ? 1 : 0) +
                        (proto.has_optional_value() ? 1 : 0);
    if (present > 1) fail(where, "more than one value");
    const int elemType = proto.elem_type();
    if (elemType < P::UNDEFINED || elemType > P::OPTIONAL)
      fail(where, "unknown elem_type " + std::to_string(elemType));
    if (present == 0) return Value::none();
    const auto expectType = [&](int type) {
      if (elemType != type)
        fail(where, "elem_type " + std::to_string(elemType) + " but a value of type " + std::to_string(type));
    };
    if (proto.has_sparse_tensor_value())
      throw Error(ErrorCode::Unsupported, here(where) + "an optional sparse tensor; polyinfer has none");
    if (proto.has_optional_value()) fail(where, "an optional inside an optional, which ONNX does not have");
    if (proto.has_tensor_value()) {
      expectType(P::TENSOR);
      return Value::optional(tensor(proto.tensor_value(), where, true));
    }
    if (proto.has_sequence_value()) {
      expectType(P::SEQUENCE);
      return Value::optional(sequence(proto.sequence_value(), where, depth + 1));
    }
    expectType(P::MAP);
    return Value::optional(map(proto.map_value(), where, depth + 1));
  }

  [[noreturn]] void fail(const std::string& where, const std::string& problem) const {
    throw Error(ErrorCode::InvalidArgument, here(where) + problem);
  }

 private:
  std::string here(const std::string& where) const {
    return std::string(kWhat) + " " + quoted(file_) + (where.empty() ? ": " : " (" + where + "): ");
  }

  static std::string element(const std::string& where, int i) {
    return (where.empty() ? std::string() : where + " ") + "element " + std::to_string(i);
  }

  /// Nesting beyond what any model declares: refused before the stack is.
  void checkDepth(const std::string& where, int depth) const {
    if (depth > 32) fail(where, "values nested deeper than 32 levels");
  }

  static bool fitsKey(DataType type, int64_t key) {
    switch (type) {
      case DataType::Int8: return key >= INT8_MIN && key <= INT8_MAX;
      case DataType::Int16: return key >= INT16_MIN && key <= INT16_MAX;
      case DataType::Int32: return key >= INT32_MIN && key <= INT32_MAX;
      case DataType::UInt8: return key >= 0 && key <= UINT8_MAX;
      case DataType::UInt16: return key >= 0 && key <= UINT16_MAX;
      case DataType::UInt32: return key >= 0 && key <= static_cast<int64_t>(UINT32_MAX);
      default: return true;  // int64; uint64 keys are stored in int64 bit for bit
    }
  }

  const fs::path& file_;
};

/// Parses `bytes` as the message of `kind` and converts it; throws Error.
NamedValue parseAs(std::string_view bytes, const fs::path& file, ValueKind kind) {
  Reader reader(file);
  const auto parse = [&](auto& message) {
    if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      reader.fail("", "not a serialized onnx." + std::string(protoName(kind)) + " (protobuf parse failed)");
  };
  switch (kind) {
    case ValueKind::Tensor: {
      onnx::TensorProto proto;
      parse(proto);
      return {proto.name(), reader.tensor(proto, "", false)};
    }
    case ValueKind::Sequence: {
      onnx::SequenceProto proto;
      parse(proto);
      return {proto.name(), reader.sequence(proto, "", 0)};
    }
    case ValueKind::Map: {
      onnx::MapProto proto;
      parse(proto);
      return {proto.name(), reader.map(proto, "", 0)};
    }
    case ValueKind::Optional: {
      onnx::OptionalProto proto;
      parse(proto);
      return {proto.name(), reader.optional(proto, "", 0)};
    }
  }
  throw Error(ErrorCode::Internal, "unknown value kind");
}

/// Whether `bytes` read strictly as `kind` (a TensorProto also without
/// unknown fields): used only to name what a file holds.
bool holds(std::string_view bytes, const fs::path& file, ValueKind kind) {
  try {
    if (kind == ValueKind::Tensor) {
      onnx::TensorProto proto;
      if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
      if (!proto.unknown_fields().empty() || !proto.has_data_type()) return false;
      tensorFromProto(proto, file);
      return true;
    }
    parseAs(bytes, file, kind);
    return true;
  } catch (const Error&) {
    return false;
  }
}

void toProto(const Value& value, const std::string& name, onnx::SequenceProto& proto);
void toProto(const Value& value, const std::string& name, onnx::MapProto& proto);
void toProto(const Value& value, const std::string& name, onnx::OptionalProto& proto);

void toProto(const Value& value, const std::string& name, onnx::SequenceProto& proto) {
  using P = onnx::SequenceProto;
  proto.set_name(name);
  const std::vector<Value>& elements = value.elements();
  // An empty sequence's element type is unknown; TENSOR is what ONNX's own
  // helpers write for seq(tensor), the common case.
  const ValueKind kind = elements.empty() ? ValueKind::Tensor : elements.front().kind();
  proto.set_elem_type(kind == ValueKind::Tensor     ? P::TENSOR
                      : kind == ValueKind::Sequence ? P::SEQUENCE
                      : kind == ValueKind::Map      ? P::MAP
                                                    : P::OPTIONAL);
  for (const Value& element : elements) {
    switch (element.kind()) {
      case ValueKind::Tensor: tensorToProto(element.tensor(), "", *proto.add_tensor_values()); break;
      case ValueKind::Sequence: toProto(element, "", *proto.add_sequence_values()); break;
      case ValueKind::Map: toProto(element, "", *proto.add_map_values()); break;
      case ValueKind::Optional: toProto(element, "", *proto.add_optional_values()); break;
    }
  }
}

void toProto(const Value& value, const std::string& name, onnx::MapProto& proto) {
  proto.set_name(name);
  const Tensor& keys = value.keys();
  const Tensor& values = value.values();
  proto.set_key_type(static_cast<int32_t>(keys.dtype()));
  const int64_t count = keys.elementCount();
  if (keys.dtype() == DataType::String) {
    for (const std::string& key : keys.strings()) proto.add_string_keys(key);
  } else {
    const std::size_t size = bitsPerElement(keys.dtype()) / 8;
    const auto* in = static_cast<const unsigned char*>(keys.rawData());
    const bool isSigned = keys.dtype() == DataType::Int8 || keys.dtype() == DataType::Int16 ||
                          keys.dtype() == DataType::Int32 || keys.dtype() == DataType::Int64;
    for (int64_t i = 0; i < count; ++i) {
      int64_t key = 0;
      std::memcpy(&key, in + static_cast<std::size_t>(i) * size, size);
      // Sign-extend narrow signed keys.
      if (isSigned && size < sizeof key) {
        const int shift = static_cast<int>(64 - 8 * size);
        key = static_cast<int64_t>(static_cast<uint64_t>(key) << shift) >> shift;
      }
      proto.add_keys(key);
    }
  }
  onnx::SequenceProto* sequence = proto.mutable_values();
  sequence->set_elem_type(onnx::SequenceProto::TENSOR);
  for (int64_t i = 0; i < count; ++i) {
    Tensor scalar;
    if (values.dtype() == DataType::String) {
      scalar = Tensor::fromStrings({}, {values.strings()[static_cast<std::size_t>(i)]});
    } else {
      const std::size_t size = bitsPerElement(values.dtype()) / 8;
      scalar = Tensor::allocate(values.dtype(), {});
      std::memcpy(scalar.mutableRawData(),
                  static_cast<const unsigned char*>(values.rawData()) + static_cast<std::size_t>(i) * size, size);
    }
    tensorToProto(scalar, "", *sequence->add_tensor_values());
  }
}

void toProto(const Value& value, const std::string& name, onnx::OptionalProto& proto) {
  using P = onnx::OptionalProto;
  proto.set_name(name);
  if (!value.hasValue()) {
    // The element type of an empty optional is not known here; TENSOR is
    // what ONNX's helpers write for optional(tensor).
    proto.set_elem_type(P::TENSOR);
    return;
  }
  const Value& contained = value.contained();
  switch (contained.kind()) {
    case ValueKind::Tensor:
      proto.set_elem_type(P::TENSOR);
      tensorToProto(contained.tensor(), "", *proto.mutable_tensor_value());
      break;
    case ValueKind::Sequence:
      proto.set_elem_type(P::SEQUENCE);
      toProto(contained, "", *proto.mutable_sequence_value());
      break;
    case ValueKind::Map:
      proto.set_elem_type(P::MAP);
      toProto(contained, "", *proto.mutable_map_value());
      break;
    case ValueKind::Optional: throw Error(ErrorCode::InvalidArgument, "an optional inside an optional");
  }
}

}  // namespace

NamedValue readValueProtoBytes(std::string_view bytes, const fs::path& file,
                               std::optional<ValueKind> expected) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    throw Error(ErrorCode::InvalidArgument,
                std::string(kWhat) + " " + quoted(file) + ": the file holds " + std::to_string(bytes.size()) +
                    " bytes; a serialized ONNX message is at most 2 GiB");
  const ValueKind kinds[] = {ValueKind::Tensor, ValueKind::Map, ValueKind::Sequence, ValueKind::Optional};
  if (!expected) {
    // No declared type: the first kind the file reads as strictly (a tensor
    // first; a one-element sequence and a present optional are the same
    // bytes, and read as a sequence).
    for (ValueKind kind : kinds)
      if (holds(bytes, file, kind)) return parseAs(bytes, file, kind);
    throw Error(ErrorCode::InvalidArgument,
                std::string(kWhat) + " " + quoted(file) +
                    ": not a serialized onnx.TensorProto, SequenceProto, MapProto or OptionalProto");
  }
  try {
    return parseAs(bytes, file, *expected);
  } catch (const Error& first) {
    if (first.code() != ErrorCode::InvalidArgument && first.code() != ErrorCode::Unsupported) throw;
    // An optional's value may come as the value itself (present).
    if (*expected == ValueKind::Optional)
      for (ValueKind kind : kinds)
        if (kind != ValueKind::Optional && holds(bytes, file, kind)) return parseAs(bytes, file, kind);
    // Name what the file holds instead, when it reads as another kind.
    for (ValueKind kind : kinds)
      if (kind != *expected && holds(bytes, file, kind))
        throw Error(ErrorCode::InvalidArgument,
                    std::string(kWhat) + " " + quoted(file) + ": expected " +
                        std::string(kindName(*expected)) + " (onnx." + std::string(protoName(*expected)) +
                        "), but the file holds " + std::string(kindName(kind)) + " (onnx." +
                        std::string(protoName(kind)) + ")");
    throw;
  }
}

NamedValue readValueProto(const fs::path& file, std::optional<ValueKind> expected) {
  const std::uintmax_t size = regularFileSize(file, kWhat);
  if (size > static_cast<std::uintmax_t>(INT_MAX))
    malformed(file, kWhat,
              "the file holds " + std::to_string(size) + " bytes; a serialized ONNX message is at most 2 GiB");
  const std::string bytes = readWholeFile(file, kWhat);
  if (bytes.empty()) malformed(file, kWhat, "empty file");
  return readValueProtoBytes(bytes, file, expected);
}

void writeValueProto(const fs::path& file, const std::string& name, const Value& value) {
  if (!value.valid()) malformed(file, kWhat, "cannot write an empty value");
  std::string bytes;
  bool ok = false;
  switch (value.kind()) {
    case ValueKind::Tensor: {
      onnx::TensorProto proto;
      tensorToProto(value.tensor(), name, proto);
      ok = proto.SerializeToString(&bytes);
      break;
    }
    case ValueKind::Sequence: {
      onnx::SequenceProto proto;
      toProto(value, name, proto);
      ok = proto.SerializeToString(&bytes);
      break;
    }
    case ValueKind::Map: {
      onnx::MapProto proto;
      toProto(value, name, proto);
      ok = proto.SerializeToString(&bytes);
      break;
    }
    case ValueKind::Optional: {
      onnx::OptionalProto proto;
      toProto(value, name, proto);
      ok = proto.SerializeToString(&bytes);
      break;
    }
  }
  if (!ok)
    throw Error(ErrorCode::Internal,
                std::string(kWhat) + " " + quoted(file) + ": protobuf serialization failed (over 2 GiB?)");
  writeWholeFile(file, kWhat, bytes);
}

}  // namespace polyinfer::io::detail
