// Tensor: a dtype, a shape and byte storage shared by reference.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "polyinfer/dtype.hpp"
#include "polyinfer/error.hpp"

namespace polyinfer {

/// The C++ element type that stands for a DataType in typed accessors.
template <typename T>
constexpr DataType dataTypeOf() {
  if constexpr (std::is_same_v<T, float>) return DataType::Float32;
  else if constexpr (std::is_same_v<T, double>) return DataType::Float64;
  else if constexpr (std::is_same_v<T, int8_t>) return DataType::Int8;
  else if constexpr (std::is_same_v<T, uint8_t>) return DataType::UInt8;
  else if constexpr (std::is_same_v<T, int16_t>) return DataType::Int16;
  else if constexpr (std::is_same_v<T, uint16_t>) return DataType::UInt16;
  else if constexpr (std::is_same_v<T, int32_t>) return DataType::Int32;
  else if constexpr (std::is_same_v<T, uint32_t>) return DataType::UInt32;
  else if constexpr (std::is_same_v<T, int64_t>) return DataType::Int64;
  else if constexpr (std::is_same_v<T, uint64_t>) return DataType::UInt64;
  else if constexpr (std::is_same_v<T, bool>) return DataType::Bool;
  else if constexpr (std::is_same_v<T, std::string>) return DataType::String;
  else static_assert(sizeof(T) == 0, "no DataType for this C++ type");
}

/// A value type: copying a Tensor shares its storage (like a shared_ptr);
/// clone() makes a deep copy. Storage is either owned (allocate, fromVector)
/// or a view of someone else's memory kept alive by a holder — that is how
/// engine outputs are handed out without a copy.
///
/// Numeric storage is dense, C order; bool is one byte per element; sub-byte
/// types (int4, uint4, float4e2m1, int2, uint2) are packed as in ONNX. String
/// tensors hold std::string elements.
///
/// A Tensor is not synchronised: share it between threads only read-only.
class Tensor {
 public:
  /// An empty tensor of type Undefined; valid() is false.
  Tensor() = default;

  /// Owning, zero-filled storage of the given type and shape.
  static Tensor allocate(DataType type, Shape shape);

  /// A view of `data` (`bytes` long, which must equal the dense size of the
  /// shape). `holder` is released when the last copy of this tensor dies:
  /// pass the object that owns the memory (an engine output, a buffer), or
  /// nullptr when the caller guarantees the memory outlives every copy.
  static Tensor view(DataType type, Shape shape, void* data, std::size_t bytes,
                     std::shared_ptr<const void> holder);

  /// Owning tensor copied from a vector of elements (size must match shape).
  template <typename T>
  static Tensor fromVector(Shape shape, const std::vector<T>& values);

  /// Owning string tensor.
  static Tensor fromStrings(Shape shape, std::vector<std::string> values);

  bool valid() const noexcept { return type_ != DataType::Undefined; }
  DataType dtype() const noexcept { return type_; }
  const Shape& shape() const noexcept { return shape_; }
  int64_t rank() const noexcept { return static_cast<int64_t>(shape_.size()); }
  int64_t elementCount() const noexcept { return count_; }
  /// Bytes of dense storage; 0 for string tensors.
  std::size_t byteSize() const noexcept { return bytes_; }

  /// Raw storage (dense types). Throws for string tensors.
  const void* rawData() const;
  void* mutableRawData();

  /// Typed access; throws Error(InvalidArgument) when T does not match dtype().
  template <typename T>
  const T* data() const {
    checkType(dataTypeOf<T>());
    return static_cast<const T*>(data_);
  }
  template <typename T>
  T* mutableData() {
    checkType(dataTypeOf<T>());
    return static_cast<T*>(data_);
  }

  /// Elements of a string tensor; throws for any other dtype.
  const std::vector<std::string>& strings() const;

  /// Copies elements into a vector (T must match dtype()).
  template <typename T>
  std::vector<T> toVector() const {
    const T* p = data<T>();
    return std::vector<T>(p, p + count_);
  }

  /// Deep copy with owned storage.
  Tensor clone() const;

  /// Same dtype and storage, another shape with the same element count.
  Tensor reshaped(Shape shape) const;

  /// "float32[1,3,224,224]".
  std::string describe() const;

 private:
  void checkType(DataType expected) const;

  DataType type_ = DataType::Undefined;
  Shape shape_;
  int64_t count_ = 0;
  std::size_t bytes_ = 0;
  void* data_ = nullptr;
  std::shared_ptr<const void> holder_;
};

template <typename T>
Tensor Tensor::fromVector(Shape shape, const std::vector<T>& values) {
  if constexpr (std::is_same_v<T, std::string>) {
    return fromStrings(std::move(shape), values);
  } else if constexpr (std::is_same_v<T, bool>) {
    // std::vector<bool> is packed: copy element by element into bytes.
    Tensor t = allocate(DataType::Bool, std::move(shape));
    if (static_cast<int64_t>(values.size()) != t.elementCount())
      throw Error(ErrorCode::InvalidArgument,
                  "fromVector: expected " + std::to_string(t.elementCount()) +
                      " elements for shape " + polyinfer::toString(t.shape()) +
                      ", got " + std::to_string(values.size()));
    auto* out = static_cast<uint8_t*>(t.mutableRawData());
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i] ? 1 : 0;
    return t;
  } else {
    Tensor t = allocate(dataTypeOf<T>(), std::move(shape));
    if (static_cast<int64_t>(values.size()) != t.elementCount())
      throw Error(ErrorCode::InvalidArgument,
                  "fromVector: expected " + std::to_string(t.elementCount()) +
                      " elements for shape " + polyinfer::toString(t.shape()) +
                      ", got " + std::to_string(values.size()));
    std::copy(values.begin(), values.end(), t.mutableData<T>());
    return t;
  }
}

/// A tensor with the name of the model input or output it belongs to.
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

/// An ordered list of named tensors: a model's inputs or outputs. Names may
/// be empty for inputs given by position.
class Tensors {
 public:
  Tensors() = default;
  Tensors(std::initializer_list<Tensor> positional);
  explicit Tensors(std::vector<NamedTensor> items) : items_(std::move(items)) {}

  void add(std::string name, Tensor tensor) {
    items_.push_back({std::move(name), std::move(tensor)});
  }
  void add(Tensor tensor) { items_.push_back({std::string(), std::move(tensor)}); }

  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  NamedTensor& operator[](std::size_t i) { return items_[i]; }
  const NamedTensor& operator[](std::size_t i) const { return items_[i]; }

  /// Tensor of that name, or nullptr.
  const Tensor* find(std::string_view name) const;
  /// Tensor of that name; throws Error(NotFound) listing the names there are.
  const Tensor& at(std::string_view name) const;

  auto begin() noexcept { return items_.begin(); }
  auto end() noexcept { return items_.end(); }
  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }
  const std::vector<NamedTensor>& items() const noexcept { return items_; }

 private:
  std::vector<NamedTensor> items_;
};

}  // namespace polyinfer
