#include "polyinfer/value.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include "polyinfer/error.hpp"
#include "strings.hpp"

namespace polyinfer {

bool isMapKeyType(DataType type) noexcept {
  switch (type) {
    case DataType::String:
    case DataType::Int8:
    case DataType::Int16:
    case DataType::Int32:
    case DataType::Int64:
    case DataType::UInt8:
    case DataType::UInt16:
    case DataType::UInt32:
    case DataType::UInt64: return true;
    default: return false;
  }
}

namespace {

/// Key i of an integer key tensor, widened (every integer key type fits in
/// an int64 or, for uint64, compares equal through the bit pattern).
int64_t integerKey(const Tensor& keys, int64_t i) {
  const auto* bytes = static_cast<const unsigned char*>(keys.rawData());
  const std::size_t size = bitsPerElement(keys.dtype()) / 8;
  switch (keys.dtype()) {
    case DataType::Int8: return reinterpret_cast<const int8_t*>(bytes)[i];
    case DataType::Int16: return reinterpret_cast<const int16_t*>(bytes)[i];
    case DataType::Int32: return reinterpret_cast<const int32_t*>(bytes)[i];
    case DataType::UInt8: return bytes[i];
    case DataType::UInt16: return reinterpret_cast<const uint16_t*>(bytes)[i];
    case DataType::UInt32: return reinterpret_cast<const uint32_t*>(bytes)[i];
    default: {
      int64_t value = 0;
      std::memcpy(&value, bytes + static_cast<std::size_t>(i) * size, sizeof value);
      return value;
    }
  }
}

}  // namespace

std::string_view toString(ValueKind kind) noexcept {
  switch (kind) {
    case ValueKind::Tensor: return "tensor";
    case ValueKind::Sequence: return "seq";
    case ValueKind::Map: return "map";
    case ValueKind::Optional: return "optional";
  }
  return "unknown";
}

// ---------------------------------------------------------------- ValueType

ValueType ValueType::tensor(DataType dtype, Shape shape, bool rankKnown) {
  ValueType type;
  type.dtype = dtype;
  type.rankKnown = rankKnown;
  if (rankKnown) {
    type.dimNames.assign(shape.size(), std::string());
    type.shape = std::move(shape);
  }
  return type;
}

ValueType ValueType::sequence(ValueType element) {
  ValueType type;
  type.kind = ValueKind::Sequence;
  type.element.push_back(std::move(element));
  return type;
}

ValueType ValueType::map(DataType keyType, DataType valueType) {
  ValueType type;
  type.kind = ValueKind::Map;
  type.keyType = keyType;
  type.dtype = valueType;
  return type;
}

ValueType ValueType::optional(ValueType element) {
  ValueType type;
  type.kind = ValueKind::Optional;
  type.element.push_back(std::move(element));
  return type;
}

const ValueType& ValueType::elementType() const {
  if ((kind != ValueKind::Sequence && kind != ValueKind::Optional) || element.size() != 1)
    throw Error(ErrorCode::Internal, "value type " + describe() + " has no element type");
  return element.front();
}

std::string ValueType::describe() const {
  const auto name = [](DataType t) {
    return t == DataType::Undefined ? std::string("?") : std::string(toString(t));
  };
  switch (kind) {
    case ValueKind::Tensor: return name(dtype) + (rankKnown ? toString(shape) : std::string("[?]"));
    case ValueKind::Map: return "map(" + name(keyType) + ", " + name(dtype) + ")";
    case ValueKind::Sequence:
    case ValueKind::Optional:
      return std::string(toString(kind)) + "(" +
             (element.size() == 1 ? element.front().describe() : std::string("?")) + ")";
  }
  return "?";
}

std::string ValueInfo::describe() const { return name + ": " + type.describe(); }

// ---------------------------------------------------------------- Value

Value Value::sequence(std::vector<Value> elements) {
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const Value& e = elements[i];
    if (!e.valid())
      throw Error(ErrorCode::InvalidArgument,
                  "sequence: element " + std::to_string(i) + " is an empty value");
    const Value& first = elements.front();
    if (e.kind() != first.kind() ||
        (e.isTensor() && e.tensor().dtype() != first.tensor().dtype()))
      throw Error(ErrorCode::InvalidArgument,
                  "sequence: expected every element like element 0 (" + first.describe() +
                      "), got element " + std::to_string(i) + " " + e.describe());
  }
  Value value;
  value.kind_ = ValueKind::Sequence;
  value.items_ = std::make_shared<const std::vector<Value>>(std::move(elements));
  return value;
}

Value Value::map(Tensor keys, Tensor values) {
  if (!keys.valid() || !values.valid())
    throw Error(ErrorCode::InvalidArgument, "map: expected key and value tensors, got an empty tensor");
  if (!isMapKeyType(keys.dtype()))
    throw Error(ErrorCode::InvalidArgument,
                "map: expected keys of an integer type or string, got " + keys.describe());
  if (keys.rank() != 1 || values.rank() != 1 || keys.elementCount() != values.elementCount())
    throw Error(ErrorCode::InvalidArgument,
                "map: expected 1-D keys and values of equal length, got keys " + keys.describe() +
                    " and values " + values.describe());
  if (bitsPerElement(values.dtype()) % 8 != 0)
    throw Error(ErrorCode::InvalidArgument,
                "map: expected values of a whole-byte type, got " + values.describe());
  // ONNX maps have unique keys; a duplicate would make the meaning depend on
  // which entry an engine reads last.
  if (keys.dtype() == DataType::String) {
    std::set<std::string_view> seen;
    for (const std::string& key : keys.strings())
      if (!seen.insert(key).second)
        throw Error(ErrorCode::InvalidArgument, "map: key '" + key + "' appears twice");
  } else {
    std::set<int64_t> seen;
    for (int64_t i = 0; i < keys.elementCount(); ++i)
      if (!seen.insert(integerKey(keys, i)).second)
        throw Error(ErrorCode::InvalidArgument,
                    "map: key " + std::to_string(integerKey(keys, i)) + " appears twice");
  }
  Value value;
  value.kind_ = ValueKind::Map;
  value.tensor_ = std::move(keys);
  value.second_ = std::move(values);
  return value;
}

Value Value::optional(Value contained) {
  if (!contained.valid())
    throw Error(ErrorCode::InvalidArgument,
                "optional: expected a value to hold, got an empty value (use Value::none())");
  if (contained.kind() == ValueKind::Optional)
    throw Error(ErrorCode::InvalidArgument, "optional: expected a tensor, sequence or map, got " +
                                                contained.describe() + " (ONNX has no optional of an optional)");
  Value value;
  value.kind_ = ValueKind::Optional;
  value.items_ = std::make_shared<const std::vector<Value>>(1, std::move(contained));
  return value;
}

Value Value::none() {
  Value value;
  value.kind_ = ValueKind::Optional;
  return value;
}

bool Value::valid() const noexcept {
  switch (kind_) {
    case ValueKind::Tensor: return tensor_.valid();
    case ValueKind::Map: return tensor_.valid() && second_.valid();
    case ValueKind::Sequence: return items_ != nullptr;
    case ValueKind::Optional: return true;
  }
  return false;
}

void Value::throwKind(ValueKind expected) const {
  std::string article = expected == ValueKind::Optional ? "an " : "a ";
  const std::string what = expected == ValueKind::Sequence ? std::string("sequence")
                                                           : std::string(toString(expected));
  throw Error(ErrorCode::InvalidArgument,
              "expected " + article + what + ", got " + (valid() ? describe() : std::string("no value")));
}

const Tensor& Value::tensor() const {
  if (kind_ != ValueKind::Tensor || !tensor_.valid()) throwKind(ValueKind::Tensor);
  return tensor_;
}

const std::vector<Value>& Value::elements() const {
  if (kind_ != ValueKind::Sequence || !items_) throwKind(ValueKind::Sequence);
  return *items_;
}

const Tensor& Value::keys() const {
  if (kind_ != ValueKind::Map) throwKind(ValueKind::Map);
  return tensor_;
}

const Tensor& Value::values() const {
  if (kind_ != ValueKind::Map) throwKind(ValueKind::Map);
  return second_;
}

bool Value::hasValue() const {
  if (kind_ != ValueKind::Optional) throwKind(ValueKind::Optional);
  return items_ != nullptr;
}

const Value& Value::contained() const {
  if (!hasValue())
    throw Error(ErrorCode::InvalidArgument, "expected an optional holding a value, got optional(none)");
  return items_->front();
}

ValueType Value::type() const {
  switch (kind_) {
    case ValueKind::Tensor: return ValueType::tensor(tensor_.dtype(), tensor_.shape(), tensor_.valid());
    case ValueKind::Map: return ValueType::map(tensor_.dtype(), second_.dtype());
    case ValueKind::Sequence:
      return ValueType::sequence(items_ && !items_->empty() ? items_->front().type()
                                                            : ValueType::tensor(DataType::Undefined, {}, false));
    case ValueKind::Optional:
      return ValueType::optional(items_ ? items_->front().type()
                                        : ValueType::tensor(DataType::Undefined, {}, false));
  }
  return {};
}

std::string Value::describe() const {
  switch (kind_) {
    case ValueKind::Tensor: return tensor_.valid() ? tensor_.describe() : std::string("no value");
    case ValueKind::Map:
      return "map(" + std::string(toString(tensor_.dtype())) + " -> " +
             std::string(toString(second_.dtype())) + ", " + std::to_string(tensor_.elementCount()) +
             (tensor_.elementCount() == 1 ? " entry)" : " entries)");
    case ValueKind::Sequence: {
      if (!items_ || items_->empty()) return "seq(empty)";
      // Elements usually share a type: say it once when they do.
      const std::string first = items_->front().describe();
      const bool same = std::all_of(items_->begin(), items_->end(),
                                    [&](const Value& v) { return v.describe() == first; });
      if (same) return "seq(" + std::to_string(items_->size()) + " x " + first + ")";
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < items_->size() && i < 4; ++i) parts.push_back((*items_)[i].describe());
      if (items_->size() > 4) parts.push_back("... " + std::to_string(items_->size()) + " elements");
      return "seq(" + detail::join(parts) + ")";
    }
    case ValueKind::Optional: return "optional(" + (items_ ? items_->front().describe() : std::string("none")) + ")";
  }
  return "?";
}

// ---------------------------------------------------------------- Values

Values::Values(std::initializer_list<Value> positional) {
  items_.reserve(positional.size());
  for (const Value& v : positional) items_.push_back({std::string(), v});
}

Values::Values(const Tensors& tensors) {
  items_.reserve(tensors.size());
  for (const NamedTensor& t : tensors) items_.push_back({t.name, Value(t.tensor)});
}

const Value* Values::find(std::string_view name) const {
  for (const NamedValue& item : items_)
    if (item.name == name) return &item.value;
  return nullptr;
}

const Value& Values::at(std::string_view name) const {
  if (const Value* v = find(name)) return *v;
  std::vector<std::string> names;
  for (const NamedValue& item : items_) names.push_back("'" + item.name + "'");
  throw Error(ErrorCode::NotFound, "no value named '" + std::string(name) +
                                       "'; expected one of: " + detail::join(names));
}

bool Values::allTensors() const noexcept {
  return std::all_of(items_.begin(), items_.end(), [](const NamedValue& v) { return v.value.isTensor(); });
}

Tensors Values::toTensors() const {
  std::vector<NamedTensor> tensors;
  tensors.reserve(items_.size());
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const NamedValue& item = items_[i];
    if (!item.value.isTensor() || !item.value.valid())
      throw Error(ErrorCode::InvalidArgument,
                  "value " + (item.name.empty() ? std::to_string(i) : "'" + item.name + "'") +
                      ": expected a tensor, got " + item.value.describe());
    tensors.push_back({item.name, item.value.tensor()});
  }
  return Tensors(std::move(tensors));
}

}  // namespace polyinfer
