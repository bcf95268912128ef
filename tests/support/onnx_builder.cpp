#include "onnx_builder.hpp"

namespace polyinfer::test {

Proto& Proto::varint(int field, uint64_t value) {
  key(field, 0);
  raw(value);
  return *this;
}

Proto& Proto::bytes(int field, std::string_view data) {
  key(field, 2);
  raw(data.size());
  out_.append(data);
  return *this;
}

void Proto::raw(uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out_.push_back(static_cast<char>(v ? b | 0x80 : b));
  } while (v);
}

Proto valueInfo(const std::string& name, DataType type, const std::vector<Dim>& dims) {
  Proto shape;
  for (const Dim& dim : dims) {
    Proto d;
    if (std::holds_alternative<int64_t>(dim))
      d.varint(1, static_cast<uint64_t>(std::get<int64_t>(dim)));  // dim_value
    else
      d.bytes(2, std::get<std::string>(dim));  // dim_param
    shape.message(1, d);
  }
  Proto tensorType;
  tensorType.varint(1, static_cast<uint64_t>(type)).message(2, shape);
  Proto typeProto;
  typeProto.message(1, tensorType);
  Proto info;
  info.bytes(1, name).message(2, typeProto);
  return info;
}

std::string oneNodeModel(const std::string& opType, const std::vector<IoSpec>& inputs,
                         const std::vector<IoSpec>& outputs, int opset) {
  Proto node;
  for (const IoSpec& in : inputs) node.bytes(1, in.name);
  for (const IoSpec& out : outputs) node.bytes(2, out.name);
  node.bytes(3, "node0").bytes(4, opType);
  Proto graph;
  graph.message(1, node).bytes(2, "g");
  for (const IoSpec& in : inputs) graph.message(11, valueInfo(in.name, in.type, in.dims));
  for (const IoSpec& out : outputs) graph.message(12, valueInfo(out.name, out.type, out.dims));
  Proto opsetId;
  opsetId.bytes(1, "").varint(2, static_cast<uint64_t>(opset));
  Proto model;
  model.varint(1, 10).bytes(2, "polyinfer-test").message(7, graph).message(8, opsetId);
  return model.str();
}

}  // namespace polyinfer::test
