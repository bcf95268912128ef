// Shared by the batching tests (test_batching, test_batching_mt).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "polyinfer/model.hpp"
#include "polyinfer/tensor.hpp"

namespace polyinfer::test {

/// A model on ONNX Runtime with 1 intra-op thread per call, for `workers` threads.
inline std::shared_ptr<Model> loadOrt(const std::filesystem::path& file, int workers = 1) {
  return Model::load(Criteria{.modelPath = file,
                              .engine = "onnxruntime",
                              .options = {{"intraOpNumThreads", "1"}},
                              .workers = workers});
}

/// dynamic_batch's input: `rows` images of 3x8x8, different for each seed.
inline Tensor images(int64_t rows, int seed) {
  Tensor t = Tensor::allocate(DataType::Float32, {rows, 3, 8, 8});
  float* p = t.mutableData<float>();
  for (int64_t i = 0; i < t.elementCount(); ++i)
    p[i] = static_cast<float>((i * 7 + seed * 13) % 23) / 11.0f - 1.0f;
  return t;
}

}  // namespace polyinfer::test
