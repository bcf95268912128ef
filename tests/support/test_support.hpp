// Helpers shared by the tests: generated models, reference data, comparisons.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <ostream>
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

/// EXPECTs `outputs` to be the reference outputs of `model`: the same names in
/// the same order; strings and float16/bfloat16 identical (an engine that
/// takes them computes nothing in them here), other dtypes within atol + rtol.
void expectMatchesReference(const std::string& model, const Tensors& outputs, double atol,
                            double rtol);

/// One data set in ONNX's test layout (dir/input_K.pb, dir/output_K.pb), read
/// as the declared value types of `model`'s inputs and outputs, named after them.
struct ValueDataSet {
  Values inputs;
  Values outputs;
};
ValueDataSet loadValueDataSet(const Model& model, const std::filesystem::path& dir);

/// EXPECTs `actual` to equal `expected` recursively: the same kind, sequence
/// length, map keys (in any order), optional presence; tensors of the same
/// dtype and shape, strings identical, numbers within atol + rtol.
void expectValuesClose(const Value& actual, const Value& expected, double atol, double rtol,
                       const std::string& what);

/// The engines whose plugins the registry finds (Registry::global().plugins(),
/// which starts none), in its order. Cross-engine tests run on each.
std::vector<std::string> builtEngines();

/// The file of a generated model that one engine reads, or why there is none.
struct EngineModelFile {
  std::filesystem::path file;  ///< empty when the engine reads none of the model's files
  std::string whyNone;         ///< the reason, for GTEST_SKIP()
  explicit operator bool() const { return !file.empty(); }
};

/// The file of generated model `model` (the files in modelsDir()/model) that
/// `engine` reads, asking the registry instead of naming formats: the
/// candidates are the files that Registry::global().resolve(file, engine)
/// recognises as a format of the engine (a companion file counts as the main
/// file it belongs to); the first of them in name order that
/// the engine loads is taken, one it refuses with Error(Unsupported) (an
/// opset or input dtype it cannot take) is passed over. Another load error
/// does not pass a file over: the test that loads it fails with that error.
/// Answers are kept for the process. Callers skip a case without a file:
///   const test::EngineModelFile mlp = test::modelFor("mlp", engine);
///   if (!mlp) GTEST_SKIP() << mlp.whyNone;
EngineModelFile modelFor(const std::string& model, const std::string& engine);

/// One engine and one generated model: a case of the cross-engine tests.
struct EngineModelCase {
  std::string engine;
  std::string model;
};
void PrintTo(const EngineModelCase& c, std::ostream* os);
/// Every built engine with each of `models`.
std::vector<EngineModelCase> engineModelCases(const std::vector<std::string>& models);

/// `text` as a test name: each character other than a letter or digit becomes '_'.
std::string testName(const std::string& text);

/// Largest |a - b| over all elements (as double); dtypes and shapes must match.
double maxAbsDiff(const Tensor& actual, const Tensor& expected);

/// EXPECTs same dtype and shape and |a - e| <= atol + rtol * |e| everywhere;
/// reports the worst element.
void expectAllClose(const Tensor& actual, const Tensor& expected, double atol, double rtol,
                    const std::string& what);

/// EXPECTs byte-identical tensors (dtype, shape, storage).
void expectIdentical(const Tensor& actual, const Tensor& expected, const std::string& what);

/// A directory of its own under the system's temporary directory (the
/// label, the process id and a counter in its name), removed with the object.
struct ScratchDir {
  explicit ScratchDir(const std::string& label);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::filesystem::path path;
};

/// A file's bytes ("" when it cannot be read).
std::string fileBytes(const std::filesystem::path& file);
/// Writes `bytes` to `file`, replacing it.
void writeFile(const std::filesystem::path& file, const std::string& bytes);
/// One named tensor.
Tensors named(const std::string& name, Tensor tensor);

/// The entry `key` of model.config(), or nullptr.
const ConfigEntry* configEntry(const Model& model, const std::string& key);

/// The names of `infos`, in order.
std::vector<std::string> names(const std::vector<TensorInfo>& infos);

/// What one thread of startTogether() produced: its tensor, or the message
/// of what it threw.
struct ThreadResult {
  Tensor tensor;
  std::string error;
};

/// `threads` threads start at once (a barrier) and each runs `body`, e.g. a
/// first load racing the others and one call; one result per thread.
std::vector<ThreadResult> startTogether(int threads, const std::function<Tensor()>& body);

/// Same dtype, shape and bytes (string tensors: the same elements).
bool sameBytes(const Tensor& a, const Tensor& b);

/// `threads` threads, each with a predictor of its own over `model`, start
/// together and make `calls` calls with `inputs` each; every output must
/// equal `expected` bit for bit. One message per thread: "" when all its
/// calls matched, else the first difference or error.
std::vector<std::string> predictFromThreads(const std::shared_ptr<Model>& model,
                                            const Tensors& inputs, const Tensors& expected,
                                            int threads, int calls);

/// predictFromThreads with `expected` made by one predictor first; EXPECTs
/// every thread to have matched.
void expectSameOutputsFromThreads(const std::shared_ptr<Model>& model, const Tensors& inputs,
                                  int threads, int calls);

/// Runs each case, EXPECTing an Error with one of `codes`, then `afterEach`
/// (typically: the predictor still gives the right outputs).
void expectEachRefused(const std::vector<std::pair<std::string, std::function<void()>>>& cases,
                       const std::vector<ErrorCode>& codes, const std::function<void()>& afterEach);

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
