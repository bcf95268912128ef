// Enough of protobuf's wire format to write small ONNX models in a test, so
// tests can make the model they need (one node of any op, any dtype, symbolic
// dims) without Python or the generated protobuf classes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "polyinfer/dtype.hpp"

namespace polyinfer::test {

/// A protobuf message being written, field by field.
class Proto {
 public:
  Proto& varint(int field, uint64_t value);
  Proto& bytes(int field, std::string_view data);
  Proto& message(int field, const Proto& inner) { return bytes(field, inner.out_); }
  const std::string& str() const { return out_; }

 private:
  void key(int field, int wire) { raw(static_cast<uint64_t>(field) << 3 | wire); }
  void raw(uint64_t v);
  std::string out_;
};

/// A dimension: a fixed size or a symbolic name (dynamic).
using Dim = std::variant<int64_t, std::string>;

/// A ValueInfoProto: a named tensor of `type` and `dims`.
Proto valueInfo(const std::string& name, DataType type, const std::vector<Dim>& dims);

struct IoSpec {
  std::string name;
  DataType type;
  std::vector<Dim> dims;
};

/// A ModelProto (IR 10, default opset `opset`; 25 has every dtype in Identity)
/// with one node of `opType` from `inputs` to `outputs`.
std::string oneNodeModel(const std::string& opType, const std::vector<IoSpec>& inputs,
                         const std::vector<IoSpec>& outputs, int opset = 25);

}  // namespace polyinfer::test
