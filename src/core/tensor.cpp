#include "polyinfer/tensor.hpp"

#include <cstring>

#include "strings.hpp"

namespace polyinfer {
namespace {

// Owned dense storage. 64-byte alignment suits every engine's vector loads.
struct AlignedBuffer {
  explicit AlignedBuffer(std::size_t bytes)
      : data(::operator new(bytes == 0 ? 1 : bytes, std::align_val_t{64})) {
    std::memset(data, 0, bytes);
  }
  ~AlignedBuffer() { ::operator delete(data, std::align_val_t{64}); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  void* data;
};

void checkDenseType(DataType type) {
  if (type == DataType::Undefined)
    throw Error(ErrorCode::InvalidArgument, "tensor: expected a defined data type, got undefined");
  if (type == DataType::String)
    throw Error(ErrorCode::InvalidArgument,
                "tensor: string tensors are made with Tensor::fromStrings, not as dense storage");
  if (bitsPerElement(type) == 0)
    throw Error(ErrorCode::InvalidArgument,
                "tensor: invalid data type value " + std::to_string(static_cast<int>(type)));
}

}  // namespace

Tensor Tensor::allocate(DataType type, Shape shape) {
  checkDenseType(type);
  Tensor t;
  t.count_ = polyinfer::elementCount(shape);
  t.bytes_ = denseByteSize(type, t.count_);
  auto buffer = std::make_shared<AlignedBuffer>(t.bytes_);
  t.data_ = buffer->data;
  t.holder_ = std::move(buffer);
  t.type_ = type;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::view(DataType type, Shape shape, void* data, std::size_t bytes,
                    std::shared_ptr<const void> holder) {
  checkDenseType(type);
  Tensor t;
  t.count_ = polyinfer::elementCount(shape);
  const std::size_t expected = denseByteSize(type, t.count_);
  if (bytes != expected)
    throw Error(ErrorCode::InvalidArgument,
                "tensor view " + std::string(toString(type)) + polyinfer::toString(shape) +
                    ": expected " + std::to_string(expected) + " bytes, got " + std::to_string(bytes));
  if (data == nullptr && bytes != 0)
    throw Error(ErrorCode::InvalidArgument, "tensor view: expected a data pointer, got null");
  t.type_ = type;
  t.shape_ = std::move(shape);
  t.bytes_ = bytes;
  t.data_ = data;
  t.holder_ = std::move(holder);
  return t;
}

Tensor Tensor::fromStrings(Shape shape, std::vector<std::string> values) {
  Tensor t;
  t.count_ = polyinfer::elementCount(shape);
  if (static_cast<int64_t>(values.size()) != t.count_)
    throw Error(ErrorCode::InvalidArgument,
                "fromStrings: expected " + std::to_string(t.count_) + " elements for shape " +
                    polyinfer::toString(shape) + ", got " + std::to_string(values.size()));
  auto storage = std::make_shared<std::vector<std::string>>(std::move(values));
  t.data_ = storage->data();
  t.holder_ = std::move(storage);
  t.type_ = DataType::String;
  t.shape_ = std::move(shape);
  return t;
}

const void* Tensor::rawData() const {
  if (type_ == DataType::String)
    throw Error(ErrorCode::InvalidArgument, "tensor: string tensors have no raw data; use strings()");
  return data_;
}

void* Tensor::mutableRawData() {
  if (type_ == DataType::String)
    throw Error(ErrorCode::InvalidArgument, "tensor: string tensors have no raw data; use strings()");
  return data_;
}

const std::vector<std::string>& Tensor::strings() const {
  if (type_ != DataType::String)
    throw Error(ErrorCode::InvalidArgument,
                "tensor: expected a string tensor, got " + std::string(toString(type_)));
  return *static_cast<const std::vector<std::string>*>(holder_.get());
}

void Tensor::checkType(DataType expected) const {
  if (type_ != expected)
    throw Error(ErrorCode::InvalidArgument, "tensor: expected element type " +
                                                std::string(toString(expected)) + ", got " +
                                                std::string(toString(type_)));
}

Tensor Tensor::clone() const {
  if (!valid()) return Tensor();
  if (type_ == DataType::String) return fromStrings(shape_, strings());
  Tensor copy = allocate(type_, shape_);
  if (bytes_) std::memcpy(copy.data_, data_, bytes_);
  return copy;
}

Tensor Tensor::reshaped(Shape shape) const {
  const int64_t count = polyinfer::elementCount(shape);
  if (count != count_)
    throw Error(ErrorCode::InvalidArgument, "reshape " + describe() + " to " +
                                                polyinfer::toString(shape) + ": expected " +
                                                std::to_string(count_) + " elements, got " +
                                                std::to_string(count));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::string Tensor::describe() const {
  return std::string(toString(type_)) + polyinfer::toString(shape_);
}

Tensors::Tensors(std::initializer_list<Tensor> positional) {
  items_.reserve(positional.size());
  for (const Tensor& t : positional) items_.push_back({std::string(), t});
}

const Tensor* Tensors::find(std::string_view name) const {
  for (const NamedTensor& item : items_)
    if (item.name == name) return &item.tensor;
  return nullptr;
}

const Tensor& Tensors::at(std::string_view name) const {
  if (const Tensor* t = find(name)) return *t;
  std::vector<std::string> names;
  for (const NamedTensor& item : items_) names.push_back("'" + item.name + "'");
  throw Error(ErrorCode::NotFound, "no tensor named '" + std::string(name) +
                                       "'; expected one of: " + detail::join(names));
}

}  // namespace polyinfer
