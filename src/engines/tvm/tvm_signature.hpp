// What a compiled TVM module declares about its entry function, and the
// signature file that tools/gen_tvm_models.py writes beside a module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "polyinfer/model.hpp"

namespace polyinfer::tvm_engine {

/// The inputs the module's executable checks, from the error contexts the
/// Relax VM keeps for its argument checks ("ErrorContext(fn=main,
/// loc=param[0], param=x, annotation=R.Tensor((1, 16), dtype=\"float32\"))")
/// in `stats` (the executable's statistics text). Parameters without such a
/// context (a non-tensor, or a module built without checks) are absent.
std::vector<TensorInfo> declaredInputs(const std::string& stats, const std::string& function);

/// The signature file: {"inputs": [{"name", "dtype", "shape"}], "outputs":
/// [...]}, a dim null or a string when dynamic. Throws Error(InvalidArgument)
/// naming the file and what is wrong.
struct SignatureFile {
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  /// "target": {"mcpu": ..., "features": [...]}: the CPU the module was
  /// compiled for and the features that let the compiler use (LLVM's names).
  std::string targetCpu;
  std::vector<std::string> targetFeatures;
  bool hasTargetFeatures = false;
};
SignatureFile parseSignatureFile(const std::vector<std::uint8_t>& bytes, const std::string& path);

}  // namespace polyinfer::tvm_engine
