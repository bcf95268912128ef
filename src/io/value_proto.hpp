// ONNX value files (TensorProto, SequenceProto, MapProto, OptionalProto) as
// polyinfer::Value: private to the TensorProto module (value_proto.cpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "polyinfer/value.hpp"

namespace polyinfer::io::detail {

/// Reads the serialized message in `bytes` as `expected` (nullopt: the first
/// of tensor, map, sequence, optional the bytes read as strictly). `file`
/// names the source in messages and is the base directory of external
/// tensor data. Error(InvalidArgument) naming the file, and, when the bytes
/// read as another kind, that kind ("expected a tensor (onnx.TensorProto),
/// but the file holds a sequence (onnx.SequenceProto)"); an optional
/// expected and a plain value found is that value (present).
NamedValue readValueProtoBytes(std::string_view bytes, const std::filesystem::path& file,
                               std::optional<ValueKind> expected);

/// readValueProtoBytes on the file's content (at most 2 GiB, as protobuf).
NamedValue readValueProto(const std::filesystem::path& file, std::optional<ValueKind> expected);

/// Writes `value` as the message of its kind (tensors with raw_data; map
/// values one scalar TensorProto per key, as ONNX's helpers write them).
void writeValueProto(const std::filesystem::path& file, const std::string& name, const Value& value);

}  // namespace polyinfer::io::detail
