// Value: what crosses the engine boundary when it is more than a tensor —
// ONNX's sequences, maps and optionals — and ValueType, what a model declares.
//
// Tensor-only models never need this header's types: Predictor::predict with
// Tensors stays the fast path. A model with a non-tensor input or output is
// called through Predictor::predictValues.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "polyinfer/dtype.hpp"
#include "polyinfer/tensor.hpp"

namespace polyinfer {

/// What a Value (or a declared ValueType) is.
enum class ValueKind : std::uint8_t {
  Tensor,    ///< a Tensor
  Sequence,  ///< an ordered list of values of one type (ONNX seq)
  Map,       ///< keys (int64 or string) each with one scalar value (ONNX map)
  Optional,  ///< a value or nothing (ONNX optional)
};

/// "tensor", "seq", "map", "optional".
std::string_view toString(ValueKind kind) noexcept;

/// Whether `type` can key a map: an integer type or string (ONNX's rule).
bool isMapKeyType(DataType type) noexcept;

/// The type of a model input or output as the model declares it.
///
/// A map's values are scalars of one element type, as in ONNX Runtime (which
/// runs every ONNX map there is: ZipMap's, DictVectorizer's, CastMap's); a
/// map of non-scalar values is refused where it is met.
struct ValueType {
  ValueKind kind = ValueKind::Tensor;
  /// Tensor: the element type; Map: the values' element type. Undefined:
  /// not declared.
  DataType dtype = DataType::Undefined;
  /// Tensor only, as in TensorInfo: the shape (meaningful when rankKnown;
  /// -1 for a dynamic dim) and the dynamic dims' symbolic names.
  Shape shape;
  bool rankKnown = false;
  std::vector<std::string> dimNames;
  /// Map only: the keys' element type (Int64, String, or another integer type).
  DataType keyType = DataType::Undefined;
  /// Sequence and Optional: exactly one entry, the element's type; empty otherwise.
  std::vector<ValueType> element;

  static ValueType tensor(DataType dtype, Shape shape, bool rankKnown = true);
  static ValueType sequence(ValueType element);
  static ValueType map(DataType keyType, DataType valueType);
  static ValueType optional(ValueType element);

  /// Sequence and Optional: the element's type. Throws Error(Internal) for
  /// other kinds.
  const ValueType& elementType() const;

  /// "float32[?,3]", "seq(float32[?])", "map(int64, float32)",
  /// "optional(seq(float32[?]))"; "?[?]" for an undeclared tensor.
  std::string describe() const;

  friend bool operator==(const ValueType&, const ValueType&) = default;
};

/// Name and declared type of a model input or output.
struct ValueInfo {
  std::string name;
  ValueType type;

  /// "name: seq(float32[?])".
  std::string describe() const;
};

/// A tensor, a sequence of values, a map or an optional. Like Tensor, a value
/// type whose copies share their storage (tensors by reference, a sequence's
/// element list by reference); it is immutable once made. Not synchronised:
/// share between threads only read-only.
class Value {
 public:
  /// No value: valid() is false.
  Value() = default;
  /// A tensor is a value (implicit, so a Tensor goes wherever a Value does).
  Value(Tensor tensor) : tensor_(std::move(tensor)) {}  // NOLINT(google-explicit-constructor)

  /// A sequence. Its elements must all be valid and of one kind; tensors in
  /// one sequence must share their dtype (ONNX's seq(tensor(T))). Throws
  /// Error(InvalidArgument) naming the first element that differs.
  static Value sequence(std::vector<Value> elements);
  /// A map: `keys` and `values` are 1-D tensors of equal length; keys int64,
  /// string or another integer type, unique; values of any non-string
  /// numeric type or string. Entry i maps keys[i] to values[i]. Throws
  /// Error(InvalidArgument) naming what is wrong (a duplicate key by value).
  static Value map(Tensor keys, Tensor values);
  /// An optional holding `contained` (a tensor, a sequence or a map).
  static Value optional(Value contained);
  /// An empty optional.
  static Value none();

  ValueKind kind() const noexcept { return kind_; }
  bool valid() const noexcept;
  bool isTensor() const noexcept { return kind_ == ValueKind::Tensor; }

  /// The tensor; throws Error(InvalidArgument) "expected a tensor, got ..."
  /// for any other kind.
  const Tensor& tensor() const;
  /// A sequence's elements; throws Error(InvalidArgument) for other kinds.
  const std::vector<Value>& elements() const;
  /// A map's keys and values (1-D, equal length); throw for other kinds.
  const Tensor& keys() const;
  const Tensor& values() const;
  /// An optional: whether it holds a value, and that value (throws
  /// Error(InvalidArgument) when empty or not an optional).
  bool hasValue() const;
  const Value& contained() const;

  /// The type this value has, as far as it shows: a tensor's dtype and
  /// shape; an empty sequence's or empty optional's element type is
  /// Undefined.
  ValueType type() const;

  /// "float32[2,3]", "seq(2 x float32[3])", "map(int64 -> float32, 3 entries)",
  /// "optional(float32[2])", "optional(none)".
  std::string describe() const;

 private:
  [[noreturn]] void throwKind(ValueKind expected) const;

  ValueKind kind_ = ValueKind::Tensor;
  Tensor tensor_;  ///< the tensor, or a map's keys
  Tensor second_;  ///< a map's values
  /// A sequence's elements, or an optional's one value (null: empty optional).
  std::shared_ptr<const std::vector<Value>> items_;
};

/// A value with the name of the model input or output it belongs to.
struct NamedValue {
  std::string name;
  Value value;
};

/// An ordered list of named values: a model's inputs or outputs for
/// Predictor::predictValues. Names may be empty for inputs given by position.
class Values {
 public:
  Values() = default;
  Values(std::initializer_list<Value> positional);
  explicit Values(std::vector<NamedValue> items) : items_(std::move(items)) {}
  /// The same tensors, as values (shares their storage).
  explicit Values(const Tensors& tensors);

  void add(std::string name, Value value) { items_.push_back({std::move(name), std::move(value)}); }
  void add(Value value) { items_.push_back({std::string(), std::move(value)}); }

  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  NamedValue& operator[](std::size_t i) { return items_[i]; }
  const NamedValue& operator[](std::size_t i) const { return items_[i]; }

  /// Value of that name, or nullptr.
  const Value* find(std::string_view name) const;
  /// Value of that name; throws Error(NotFound) listing the names there are.
  const Value& at(std::string_view name) const;

  /// Whether every value is a tensor.
  bool allTensors() const noexcept;
  /// The values as Tensors (shares storage); throws Error(InvalidArgument)
  /// naming the first value that is not a tensor.
  Tensors toTensors() const;

  auto begin() noexcept { return items_.begin(); }
  auto end() noexcept { return items_.end(); }
  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }
  const std::vector<NamedValue>& items() const noexcept { return items_; }

 private:
  std::vector<NamedValue> items_;
};

}  // namespace polyinfer
