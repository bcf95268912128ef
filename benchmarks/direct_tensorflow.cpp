// The direct TensorFlow arm: what a user of TensorFlow's C API
// (tensorflow/c/c_api.h) writes.
//
// Session: TF_LoadSessionFromSavedModel with tags {"serve"} and the
// ConfigProto polyinfer's plugin builds (src/engines/tensorflow/
// tf_settings.cpp) from the options the benchmark passes it:
// intra_op_parallelism_threads = N; inter_op_parallelism_threads = -1 for 1
// (every op in the calling thread), else M with use_per_session_threads.
// The signature's graph tensors are named by the benchmark (DirectSpec
// inputTensor / outputTensor, as saved_model_cli shows them), looked up with
// TF_GraphOperationByName.
//
// Per call: TF_NewTensor over the caller's buffer (no copy, a deallocator
// that does nothing), TF_SessionRun, the output's data pointer, TF_DeleteTensor
// of both.
//
// Which TensorFlow: the one polyinfer's plugin opened, not a second copy.
// The plugin does not link TensorFlow, it opens it at run time (dlopen
// RTLD_LOCAL; it refuses a process with a protobuf runtime in the global
// scope, which is why this arm runs in polyinfer_overhead_benchmark_tensorflow,
// a program without LibTorch). So neither does this arm (linking TensorFlow's
// wheel library would put its protobuf into the global scope): it opens the
// same path with RTLD_NOLOAD, getting the plugin's handle (the polyinfer arm's
// model is loaded first, so the library is loaded by then), else opens it
// itself, and takes the few C API functions from there.
#include <dlfcn.h>
#include <tensorflow/c/c_api.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "overhead_arms.hpp"

#ifndef POLYINFER_TENSORFLOW_LIBRARY
#error "POLYINFER_TENSORFLOW_LIBRARY (the library the TensorFlow plugin opens) must be defined"
#endif

namespace polyinfer_bench {

namespace {

/// The C API functions this arm calls, typed by TensorFlow's declarations.
struct TfApi {
#define POLYINFER_BENCH_TF_FUNCTIONS(X)                                                    \
  X(TF_Version) X(TF_NewStatus) X(TF_DeleteStatus) X(TF_GetCode) X(TF_Message)           \
  X(TF_NewSessionOptions) X(TF_DeleteSessionOptions) X(TF_SetConfig) X(TF_NewGraph)      \
  X(TF_DeleteGraph) X(TF_GraphOperationByName) X(TF_LoadSessionFromSavedModel)           \
  X(TF_CloseSession) X(TF_DeleteSession) X(TF_SessionRun) X(TF_NewTensor)                \
  X(TF_DeleteTensor) X(TF_TensorData) X(TF_TensorByteSize)
#define POLYINFER_BENCH_TF_MEMBER(name) decltype(&::name) name = nullptr;
  POLYINFER_BENCH_TF_FUNCTIONS(POLYINFER_BENCH_TF_MEMBER)
#undef POLYINFER_BENCH_TF_MEMBER
  std::string library;
  bool openedHere = false;  // not loaded yet: this arm opened it
};

/// The library the plugin opens: env POLYINFER_TENSORFLOW_LIBRARY (the
/// plugin's override), else the one it was built against.
std::string pluginLibrary() {
  const char* env = std::getenv("POLYINFER_TENSORFLOW_LIBRARY");
  return env != nullptr && *env != '\0' ? env : POLYINFER_TENSORFLOW_LIBRARY;
}

/// The plugin's TensorFlow: the handle of the library it loaded (RTLD_NOLOAD),
/// or, where it has not loaded it (yet), the library opened the way the
/// plugin opens it.
TfApi openTensorflow() {
  TfApi api;
  api.library = pluginLibrary();
  void* handle = ::dlopen(api.library.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (handle == nullptr) {
    handle = ::dlopen(api.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    api.openedHere = true;
  }
  if (handle == nullptr) {
    const char* reason = ::dlerror();
    throw std::runtime_error("direct tensorflow: cannot open '" + api.library +
                             "': " + (reason != nullptr ? reason : "unknown error"));
  }
  // Never closed: TensorFlow does not support being unloaded.
#define POLYINFER_BENCH_TF_RESOLVE(name)                                                     \
  api.name = reinterpret_cast<decltype(api.name)>(::dlsym(handle, #name));                   \
  if (api.name == nullptr)                                                                   \
    throw std::runtime_error("direct tensorflow: '" + api.library + "' lacks " #name);
  POLYINFER_BENCH_TF_FUNCTIONS(POLYINFER_BENCH_TF_RESOLVE)
#undef POLYINFER_BENCH_TF_RESOLVE
  return api;
}

const TfApi& tf() {
  static const TfApi api = openTensorflow();
  return api;
}

// --- ConfigProto, serialized by hand (a C API user has no ConfigProto class
// without TensorFlow's protobuf headers): varint fields only.
void putVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void putField(std::string& out, int field, int64_t value) {
  putVarint(out, static_cast<uint64_t>(field) << 3);  // wire type 0: varint
  putVarint(out, static_cast<uint64_t>(value));       // int32 -1: ten bytes, as protobuf writes it
}

/// ConfigProto{intra_op_parallelism_threads = 2, inter_op_parallelism_threads
/// = 5, use_per_session_threads = 9}, as tf_settings.cpp sets them.
std::string configProto(int intraOp, int interOp) {
  std::string config;
  putField(config, 2, intraOp);
  putField(config, 5, interOp == 1 ? -1 : interOp);
  if (interOp > 1) putField(config, 9, 1);
  return config;
}

/// "serving_default_x:0" -> the graph's TF_Output.
TF_Output findTensor(TF_Graph* graph, const std::string& name) {
  const std::size_t colon = name.rfind(':');
  const std::string op = name.substr(0, colon);
  const int index = colon == std::string::npos ? 0 : std::stoi(name.substr(colon + 1));
  TF_Operation* operation = tf().TF_GraphOperationByName(graph, op.c_str());
  if (operation == nullptr)
    throw std::runtime_error("direct tensorflow: the graph has no operation '" + op + "'");
  return TF_Output{operation, index};
}

void keepCallerBuffer(void*, std::size_t, void*) {}

class DirectTensorflowArm final : public Arm {
 public:
  explicit DirectTensorflowArm(const DirectSpec& spec)
      : shape_(spec.shape),
        input_(spec.input),
        bytes_(spec.elementCount * sizeof(float)),
        intra_(spec.intraOpThreads),
        inter_(spec.interOpThreads),
        status_(tf().TF_NewStatus()),
        graph_(tf().TF_NewGraph()) {
    const TfApi& api = tf();
    const std::string config = configProto(intra_, inter_);
    TF_SessionOptions* options = api.TF_NewSessionOptions();
    api.TF_SetConfig(options, config.data(), config.size(), status_);
    if (api.TF_GetCode(status_) == TF_OK) {
      const char* tags[] = {"serve"};
      session_ = api.TF_LoadSessionFromSavedModel(options, nullptr, spec.modelFile.c_str(), tags, 1,
                                                  graph_, nullptr, status_);
    }
    api.TF_DeleteSessionOptions(options);
    if (api.TF_GetCode(status_) != TF_OK || session_ == nullptr) {
      const std::string message = api.TF_Message(status_);
      release();
      throw std::runtime_error("direct tensorflow: cannot load '" + spec.modelFile.string() +
                               "': " + message);
    }
    try {
      inputPort_ = findTensor(graph_, spec.inputTensor);
      outputPort_ = findTensor(graph_, spec.outputTensor);
    } catch (...) {
      release();
      throw;
    }
    inputName_ = spec.inputTensor;
    outputName_ = spec.outputTensor;
  }

  ~DirectTensorflowArm() override { release(); }

  float call() override {
    TF_Tensor* output = run();
    const float y = static_cast<const float*>(tf().TF_TensorData(output))[0];
    tf().TF_DeleteTensor(output);
    return y;
  }

  std::vector<float> output() override {
    TF_Tensor* output = run();
    const auto* y = static_cast<const float*>(tf().TF_TensorData(output));
    std::vector<float> values(y, y + tf().TF_TensorByteSize(output) / sizeof(float));
    tf().TF_DeleteTensor(output);
    return values;
  }

  std::string describe() const override {
    return std::string("TF_LoadSessionFromSavedModel (TensorFlow ") + tf().TF_Version() + ", " +
           tf().library +
           (tf().openedHere ? ", opened by this arm" : ", the plugin's handle (RTLD_NOLOAD)") +
           "): ConfigProto intra_op_parallelism_threads=" + std::to_string(intra_) +
           " inter_op_parallelism_threads=" + std::to_string(inter_ == 1 ? -1 : inter_) +
           (inter_ > 1 ? " use_per_session_threads=true" : "") + ", tags serve, " + inputName_ +
           " -> " + outputName_ +
           "; per call: TF_NewTensor on the caller's buffer + TF_SessionRun + TF_TensorData + "
           "TF_DeleteTensor x2";
  }

 private:
  /// One TF_SessionRun; the caller deletes the output tensor.
  TF_Tensor* run() {
    const TfApi& api = tf();
    TF_Tensor* input = api.TF_NewTensor(TF_FLOAT, shape_.data(), static_cast<int>(shape_.size()),
                                        input_, bytes_, &keepCallerBuffer, nullptr);
    TF_Tensor* output = nullptr;
    api.TF_SessionRun(session_, nullptr, &inputPort_, &input, 1, &outputPort_, &output, 1,
                      nullptr, 0, nullptr, status_);
    api.TF_DeleteTensor(input);
    if (api.TF_GetCode(status_) != TF_OK || output == nullptr)
      throw std::runtime_error(std::string("direct tensorflow: TF_SessionRun failed: ") +
                               api.TF_Message(status_));
    return output;
  }

  void release() noexcept {
    const TfApi& api = tf();
    if (session_ != nullptr) {
      api.TF_CloseSession(session_, status_);
      api.TF_DeleteSession(session_, status_);
      session_ = nullptr;
    }
    if (graph_ != nullptr) api.TF_DeleteGraph(graph_);
    graph_ = nullptr;
    if (status_ != nullptr) api.TF_DeleteStatus(status_);
    status_ = nullptr;
  }

  std::vector<int64_t> shape_;
  float* input_;
  std::size_t bytes_;
  int intra_;
  int inter_;
  TF_Status* status_ = nullptr;
  TF_Graph* graph_ = nullptr;
  TF_Session* session_ = nullptr;
  TF_Output inputPort_{};
  TF_Output outputPort_{};
  std::string inputName_, outputName_;
};

}  // namespace

std::unique_ptr<Arm> makeDirectTensorflowArm(const DirectSpec& spec) {
  return std::make_unique<DirectTensorflowArm>(spec);
}

}  // namespace polyinfer_bench
