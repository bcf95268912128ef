// The inputs and outputs an ONNX graph declares, read from the model's bytes
// (OpenCV's importer does not expose them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "polyinfer/model.hpp"

namespace polyinfer::opencv_engine {

/// Inputs and outputs declared by an ONNX graph.
struct GraphSignature {
  std::vector<TensorInfo> inputs;   ///< graph inputs that are not initializers
  /// Names and shapes as declared; element type float32 where declared so,
  /// else Undefined (OpenCV chooses it, known after a run).
  std::vector<TensorInfo> outputs;
};

/// Parses the ONNX model in `bytes`. Throws Error(InvalidArgument) naming
/// `path` for bytes that are not a valid ONNX model.
GraphSignature readOnnxSignature(const std::vector<std::uint8_t>& bytes, const std::string& path);

}  // namespace polyinfer::opencv_engine
