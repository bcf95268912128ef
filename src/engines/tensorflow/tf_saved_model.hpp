// What a SavedModel declares, read from its saved_model.pb before TensorFlow
// loads it: the MetaGraphs (by tags) and their signatures, so that an unknown
// tag or signature is reported with the ones present, and inputs and outputs
// carry the signature's key names, dtypes and shapes.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "polyinfer/model.hpp"

namespace polyinfer::tfschema {
class SavedModel;
}

namespace polyinfer::tf {

/// One input or output of a signature.
struct SignatureTensor {
  TensorInfo info;         ///< name = the signature's key ("x", "logits")
  std::string tensorName;  ///< the graph tensor it maps to ("serving_default_x:0")
  int tfDtype = 0;         ///< tensorflow.DataType as declared
};

/// One SignatureDef, inputs and outputs sorted by key (the order protobuf
/// maps have no fixed order; TensorFlow's tools print them sorted too).
struct Signature {
  std::string key;
  std::string methodName;
  std::vector<SignatureTensor> inputs;
  std::vector<SignatureTensor> outputs;
};

/// One MetaGraph: its tag set and its signature keys.
struct MetaGraph {
  std::vector<std::string> tags;  ///< as stored
  std::vector<std::string> signatureKeys;  ///< sorted
  std::string tensorflowVersion;  ///< the version that wrote it, if recorded
  bool hasSaver = false;          ///< it restores variables from variables/
};

class SavedModelFile {
 public:
  /// Parses `markerFile` (a SavedModel's saved_model.pb). Error(NotFound)
  /// when it cannot be read; Error(InvalidArgument) when it does not parse
  /// (truncated, corrupt, not a SavedModel) or holds no MetaGraph.
  explicit SavedModelFile(const std::filesystem::path& markerFile);
  ~SavedModelFile();

  const std::vector<MetaGraph>& metaGraphs() const noexcept { return metaGraphs_; }

  /// The index of the MetaGraph whose tag set equals `tags` (order and
  /// duplicates aside, as TensorFlow's loader matches them); Error(NotFound)
  /// listing the tag sets present.
  std::size_t findMetaGraph(const std::vector<std::string>& tags) const;

  /// The signature `key` of MetaGraph `index`; Error(NotFound) listing the
  /// keys present; Error(Unsupported) for a sparse or composite input or
  /// output, or a dtype polyinfer cannot carry.
  Signature signature(std::size_t index, const std::string& key) const;

 private:
  std::filesystem::path file_;
  std::unique_ptr<tfschema::SavedModel> proto_;
  std::vector<MetaGraph> metaGraphs_;
};

/// "serve,gpu" -> {"serve", "gpu"}: whitespace trimmed, empty parts dropped.
std::vector<std::string> parseTags(const std::string& text);

}  // namespace polyinfer::tf
