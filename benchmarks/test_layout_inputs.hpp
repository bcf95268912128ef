// Inputs and engine options as the API-level benchmark programs take them:
// a directory in ONNX's test layout (input_K.pb) and -O k=v settings.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "polyinfer/polyinfer.hpp"
#include "polyinfer/tensor_io.hpp"

namespace polyinfer_bench {

/// The tensors of DIR/input_0.pb, input_1.pb, ... with their names.
inline polyinfer::Tensors readTestLayoutInputs(const std::filesystem::path& dir) {
  polyinfer::Tensors inputs;
  for (const auto& file : polyinfer::io::testLayoutFiles(dir, "input")) {
    polyinfer::NamedTensor named = polyinfer::io::readTensorFile(file);
    inputs.add(std::move(named.name), std::move(named.tensor));
  }
  return inputs;
}

/// Options from repeated -O k=v (each may be a comma list).
inline polyinfer::Options parseOptionArgs(const std::vector<std::string>& args) {
  polyinfer::Options options;
  for (const std::string& kv : args) options.merge(polyinfer::Options::parse(kv));
  return options;
}

}  // namespace polyinfer_bench
