// Helpers shared by the tests: generated models, reference data, comparisons.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "polyinfer/polyinfer.hpp"
#include "polyinfer/tensor_io.hpp"

namespace polyinfer::test {

/// Directory the generate_models fixture writes into (env POLYINFER_TEST_MODELS
/// overrides the build-time default).
std::filesystem::path modelsDir();

/// modelsDir()/model/file; fails the current test when it does not exist.
std::filesystem::path modelFile(const std::string& model, const std::string& file);

/// Inputs and outputs PyTorch computed at export time (test_data_set_0).
struct Reference {
  Tensors inputs;
  Tensors outputs;
};
Reference loadReference(const std::string& model);

/// Engines this build has plugins for ("torch", "onnxruntime").
std::vector<std::string> builtEngines();

/// The model file an engine reads for a generated model.
std::string modelFileFor(const std::string& engine);

/// Largest |a - b| over all elements (as double); dtypes and shapes must match.
double maxAbsDiff(const Tensor& actual, const Tensor& expected);

/// EXPECTs same dtype and shape and |a - e| <= atol + rtol * |e| everywhere;
/// reports the worst element.
void expectAllClose(const Tensor& actual, const Tensor& expected, double atol, double rtol,
                    const std::string& what);

/// EXPECTs byte-identical tensors (dtype, shape, storage).
void expectIdentical(const Tensor& actual, const Tensor& expected, const std::string& what);

/// The Error `f` throws; fails the current test when it throws none.
template <typename F>
Error errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected polyinfer::Error";
  return Error(ErrorCode::Internal, "no error thrown");
}

/// Runs `fn` and EXPECTs an Error with `code` whose message contains each of
/// `parts`; returns the message ("" when nothing or something else was thrown).
std::string expectError(const std::function<void()>& fn, ErrorCode code,
                        const std::vector<std::string>& parts = {});

}  // namespace polyinfer::test
