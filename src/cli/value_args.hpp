// -i and --expect for a model whose inputs or outputs are not all tensors
// (sequences, maps, optionals): each file is read as the value type the model
// declares for the input or output it goes to.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "polyinfer/value.hpp"

namespace polyinfer::cli {

/// One value read for a declared input or output.
struct LoadedValue {
  std::size_t slot = 0;  ///< index into the declared infos
  Value value;
  std::filesystem::path file;
};

/// Reads the files of -i (layoutPrefix "input") or --expect ("output")
/// arguments (FILE.npy, FILE.pb, NAME=FILE, a test-layout DIR) for `infos`:
/// a file goes to the input/output its NAME= or its proto's name names, the
/// rest fill the remaining ones in order; each is then read as the declared
/// type (io::readValueFile), so a file of another kind is an error naming
/// both. `requireAll`: every info needs a file (inputs); else any subset
/// (expected outputs). Errors as arrangeInputs: an unknown NAME is
/// Error(NotFound), too many or too few files Error(InvalidArgument).
std::vector<LoadedValue> loadValueArgs(const std::vector<std::string>& args, const std::string& layoutPrefix,
                                       const std::vector<ValueInfo>& infos, bool requireAll);

}  // namespace polyinfer::cli
