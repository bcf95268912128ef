// The TensorFlow C API, loaded at run time. The plugin does not link
// TensorFlow: it opens the library itself, so that it can first check the
// process for a protobuf runtime in the global scope, which TensorFlow's
// libraries would bind to and crash (see tf_api.cpp), and refuse clearly.
#pragma once

#include <tensorflow/c/c_api.h>
#include <tensorflow/c/tf_tstring.h>

#include <string>

namespace polyinfer::tf {

/// The C API functions the plugin calls, with the types of TensorFlow's own
/// declarations.
struct Api {
#define POLYINFER_TF_FUNCTIONS(X)                                                    \
  X(TF_Version) X(TF_NewStatus) X(TF_DeleteStatus) X(TF_GetCode) X(TF_Message)     \
  X(TF_NewSessionOptions) X(TF_DeleteSessionOptions) X(TF_SetConfig)               \
  X(TF_NewGraph) X(TF_DeleteGraph) X(TF_GraphOperationByName)                      \
  X(TF_OperationNumOutputs) X(TF_OperationOutputType)                              \
  X(TF_LoadSessionFromSavedModel) X(TF_CloseSession) X(TF_DeleteSession)           \
  X(TF_SessionRun) X(TF_NewTensor) X(TF_AllocateTensor) X(TF_DeleteTensor)         \
  X(TF_TensorType) X(TF_NumDims) X(TF_Dim) X(TF_TensorByteSize) X(TF_TensorData)   \
  X(TF_DataTypeSize) X(TF_StringInit) X(TF_StringCopy) X(TF_StringDealloc)         \
  X(TF_StringGetDataPointer) X(TF_StringGetSize)
#define POLYINFER_TF_MEMBER(name) decltype(&::name) name = nullptr;
  POLYINFER_TF_FUNCTIONS(POLYINFER_TF_MEMBER)
#undef POLYINFER_TF_MEMBER

  std::string library;   ///< the file opened
  std::string logLevel;  ///< TF_CPP_MIN_LOG_LEVEL in effect
  bool logLevelFromEnv = false;
};

/// Environment variable naming the TensorFlow C library to open (a
/// libtensorflow.so.2 of TensorFlow's C release, or a wheel's
/// libtensorflow_cc.so.2); default: the one the plugin was built against.
inline constexpr const char* kLibraryEnv = "POLYINFER_TENSORFLOW_LIBRARY";

/// TensorFlow's log threshold (0 info ... 3 fatal), read by TensorFlow when
/// it starts. Unless set, the plugin sets it to 2 before opening the library,
/// so that loads and runs print nothing but errors.
inline constexpr const char* kLogLevelEnv = "TF_CPP_MIN_LOG_LEVEL";

/// The API, opened on first use (thread-safe; never closed: TensorFlow cannot
/// be unloaded). Throws Error(Unavailable) when the library cannot be opened
/// or lacks a function, naming the file, or when a protobuf runtime is in the
/// process's global scope; the same error on every later call.
const Api& api();

}  // namespace polyinfer::tf
