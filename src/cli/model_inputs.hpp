// The inputs a command runs a model on: from files (-i), random data of given
// shapes (-s), or random data of the model's declared shapes. Shared by
// `predict` and `bench` (in-process models and served ones, whose declared
// inputs come from the server's metadata).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "input_spec.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/model.hpp"
#include "polyinfer/tensor.hpp"
#include "polyinfer/value.hpp"

namespace polyinfer::cli {

struct InputArgs {
  std::vector<std::string> files;  ///< -i arguments (already loaded by the caller)
  bool shapesGiven = false;        ///< -s was given
  uint64_t seed = 0;
  std::string distribution = "normal";  ///< "normal" | "uniform"
  std::string intRange = "0,10";
};

/// Data files (-i, --expect) read as tensors before the model loads, so that
/// bad data fails fast. A file that does not read as a tensor may hold a
/// sequence, map or optional the model declares: that error waits until the
/// model's types are known. Error(NotFound) (a missing file) is thrown at once.
struct EarlyDataFiles {
  std::vector<LoadedTensor> tensors;
  std::optional<Error> notTensors;  ///< why the files did not all read as tensors
  /// The tensors; throws notTensors when they did not all read (a
  /// tensor-only model, for which the files are wrong).
  const std::vector<LoadedTensor>& tensorsOrThrow() const;
};
EarlyDataFiles loadDataFilesEarly(const std::vector<std::string>& args, const std::string& layoutPrefix);

/// Whether every declared input of the model is a tensor (its outputs may
/// still be sequences or maps, as a classifier's ZipMap).
bool inputsAreTensors(const Model& model);

/// "0,10" -> {0, 10}; Error(InvalidArgument) unless LOW < HIGH.
std::pair<int64_t, int64_t> parseIntRange(const std::string& text);

/// A model's inputs, given its declared inputs `infos` (a loaded Model's, or a
/// served model's metadata): `loaded` (from -i) arranged by the declared
/// inputs; else random data of `shapes` (-s); else random data of the
/// declared shapes (Error(InvalidArgument) with an example -s when they are
/// not all fixed). `sources` receives where each input came from.
Tensors buildInputs(const InputArgs& args, const std::vector<TensorInfo>& infos,
                    const std::vector<LoadedTensor>& loaded, const std::vector<ShapeSpec>& shapes,
                    std::vector<std::string>& sources);
/// The same for a loaded model's declared inputs; an input that is not a
/// tensor (a sequence, map or optional) is Error(InvalidArgument) saying to
/// give it as a file with -i: random data is made for tensors only.
Tensors buildInputs(const InputArgs& args, const Model& model,
                    const std::vector<LoadedTensor>& loaded, const std::vector<ShapeSpec>& shapes,
                    std::vector<std::string>& sources);
/// A loaded model's inputs as Values, for a model whose inputs or outputs are
/// not all tensors: the -i files read as the declared value types
/// (loadValueArgs: a file of another kind is an error naming both); without
/// -i, buildInputs' random tensors (which refuses a non-tensor input).
Values buildValueInputs(const InputArgs& args, const Model& model, const EarlyDataFiles& early,
                        const std::vector<ShapeSpec>& shapes, std::vector<std::string>& sources);

}  // namespace polyinfer::cli
