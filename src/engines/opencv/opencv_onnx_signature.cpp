// The inputs and outputs an ONNX graph declares (opencv_onnx_signature.hpp).
#include "opencv_onnx_signature.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <limits>

#include "opencv_common.hpp"
#include "polyinfer/error.hpp"

namespace polyinfer::opencv_engine {

namespace {

TensorInfo infoOf(const onnx::ValueInfoProto& value) {
  TensorInfo info;
  info.name = value.name();
  if (!value.type().has_tensor_type()) return info;
  const onnx::TypeProto_Tensor& tensor = value.type().tensor_type();
  // polyinfer's DataType has ONNX TensorProto's values.
  const int elem = tensor.elem_type();
  if (elem > 0 && elem <= static_cast<int>(DataType::Float8E8M0))
    info.dtype = static_cast<DataType>(elem);
  if (!tensor.has_shape()) return info;
  info.rankKnown = true;
  for (const onnx::TensorShapeProto_Dimension& dim : tensor.shape().dim()) {
    info.shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    info.dimNames.push_back(dim.has_dim_param() ? dim.dim_param() : std::string());
  }
  return info;
}

}  // namespace

GraphSignature readOnnxSignature(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !model.has_graph())
    throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": '" + path +
                                                "' is not a valid ONNX model (truncated or corrupt)");
  GraphSignature signature;
  std::vector<std::string> initializers;
  for (const onnx::TensorProto& init : model.graph().initializer()) initializers.push_back(init.name());
  for (const onnx::ValueInfoProto& input : model.graph().input())
    if (std::find(initializers.begin(), initializers.end(), input.name()) == initializers.end())
      signature.inputs.push_back(infoOf(input));
  for (const onnx::ValueInfoProto& output : model.graph().output()) {
    TensorInfo info = infoOf(output);
    // The element type is OpenCV's choice (float32 for its layers), known
    // after a run; only a float32 declaration is certain to match.
    if (info.dtype != DataType::Float32) info.dtype = DataType::Undefined;
    signature.outputs.push_back(std::move(info));
  }
  return signature;
}

}  // namespace polyinfer::opencv_engine
