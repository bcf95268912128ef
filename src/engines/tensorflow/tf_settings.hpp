// The TensorFlow engine's options and their effective values.
#pragma once

#include <string>
#include <vector>

#include "polyinfer/options.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::tf {

/// Option keys (DJL's names).
namespace keys {
inline constexpr const char* kTags = "Tags";
inline constexpr const char* kSignatureDefKey = "SignatureDefKey";
inline constexpr const char* kIntraOpNumThreads = "intraOpNumThreads";
inline constexpr const char* kInterOpNumThreads = "interOpNumThreads";
inline constexpr const char* kPrecision = "precision";
}  // namespace keys

/// TensorFlow's own thread variables, read when no option says otherwise.
inline constexpr const char* kIntraOpEnv = "TF_NUM_INTRAOP_THREADS";
inline constexpr const char* kInterOpEnv = "TF_NUM_INTEROP_THREADS";
/// TensorFlow's switch for its oneDNN graph rewrites and kernels (read once
/// per process by TensorFlow itself).
inline constexpr const char* kOneDnnEnv = "TF_ENABLE_ONEDNN_OPTS";

std::vector<OptionSpec> optionSpecs();

/// Everything a session is created with.
struct SessionSettings {
  std::vector<std::string> tags;
  std::string signatureKey;
  int intraOpThreads = 1;
  int interOpThreads = 1;
  bool bf16 = false;
  std::vector<ConfigEntry> entries;  ///< what Model::config() reports

  /// The session's serialized tensorflow.ConfigProto, for TF_SetConfig.
  std::string configProto() const;
};

/// Resolves the options of `request` (explicit > environment > default).
/// Error(InvalidArgument) for malformed values, Error(Unsupported) for
/// precision bf16 without oneDNN or fp16.
SessionSettings resolveSettings(const plugin::LoadRequest& request);

}  // namespace polyinfer::tf
