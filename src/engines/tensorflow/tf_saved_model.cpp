#include "tf_saved_model.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"
#include "saved_model_schema.pb.h"
#include "tf_common.hpp"

namespace polyinfer::tf {

namespace {

namespace schema = polyinfer::tfschema;

std::set<std::string> tagSet(const std::vector<std::string>& tags) {
  return {tags.begin(), tags.end()};
}

std::string describeTags(const std::vector<std::string>& tags) {
  // Appended step by step: GCC 12's -Wrestrict misfires on "[" + s + "]".
  std::string text = "[";
  text += plugin::join(tags, ",");
  text += ']';
  return text;
}

std::unique_ptr<schema::SavedModel> parse(const std::vector<std::uint8_t>& bytes,
                                          const std::filesystem::path& file) {
  auto proto = std::make_unique<schema::SavedModel>();
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !proto->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": '" + file.string() +
                    "' is not a valid SavedModel: it does not parse as a SavedModel protocol "
                    "buffer (truncated or corrupt)");
  if (proto->meta_graphs_size() == 0)
    throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": '" + file.string() +
                                                "' is not a valid SavedModel: it holds no MetaGraph");
  return proto;
}

SignatureTensor describe(const std::string& signatureKey, const std::string& kind,
                         const std::string& key, const schema::TensorInfo& proto) {
  const std::string what = "signature '" + signatureKey + "' " + kind + " '" + key + "'";
  if (proto.encoding_case() != schema::TensorInfo::kName)
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) + ": " + what +
                    " is a sparse or composite tensor; polyinfer's tensorflow engine takes dense "
                    "tensors only");
  SignatureTensor tensor;
  tensor.tensorName = proto.name();
  tensor.tfDtype = proto.dtype();
  tensor.info.name = key;
  tensor.info.dtype = fromTf(static_cast<TF_DataType>(proto.dtype()), what);
  const schema::TensorShapeProto& shape = proto.tensor_shape();
  tensor.info.rankKnown = proto.has_tensor_shape() && !shape.unknown_rank();
  if (tensor.info.rankKnown) {
    for (const schema::TensorShapeProto::Dim& dim : shape.dim()) {
      tensor.info.shape.push_back(dim.size() < 0 ? -1 : dim.size());
      tensor.info.dimNames.push_back(dim.size() < 0 ? dim.name() : std::string());
    }
  }
  return tensor;
}

template <typename Map>
std::vector<SignatureTensor> describeAll(const std::string& signatureKey, const std::string& kind,
                                         const Map& map) {
  std::vector<SignatureTensor> tensors;
  for (const auto& [key, info] : map) tensors.push_back(describe(signatureKey, kind, key, info));
  std::sort(tensors.begin(), tensors.end(),
            [](const SignatureTensor& a, const SignatureTensor& b) { return a.info.name < b.info.name; });
  return tensors;
}

}  // namespace

std::vector<std::string> parseTags(const std::string& text) {
  std::vector<std::string> tags;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    const std::string_view tag = plugin::trim(std::string_view(text).substr(begin, end - begin));
    if (!tag.empty()) tags.emplace_back(tag);
    begin = end + 1;
  }
  return tags;
}

SavedModelFile::SavedModelFile(const std::filesystem::path& markerFile)
    : file_(markerFile),
      proto_(parse(plugin::readFileBytes(kEngineName, markerFile, "SavedModel file"), markerFile)) {
  for (const schema::MetaGraphDef& graph : proto_->meta_graphs()) {
    MetaGraph meta;
    meta.tags.assign(graph.meta_info_def().tags().begin(), graph.meta_info_def().tags().end());
    meta.tensorflowVersion = graph.meta_info_def().tensorflow_version();
    meta.hasSaver = !graph.saver_def().empty();
    // "__saved_model_init_op" and the like are TensorFlow's own bookkeeping,
    // hidden by its tools too.
    for (const auto& [key, signature] : graph.signature_def())
      if (!key.starts_with("__")) meta.signatureKeys.push_back(key);
    std::sort(meta.signatureKeys.begin(), meta.signatureKeys.end());
    metaGraphs_.push_back(std::move(meta));
  }
}

SavedModelFile::~SavedModelFile() = default;

std::size_t SavedModelFile::findMetaGraph(const std::vector<std::string>& tags) const {
  for (std::size_t i = 0; i < metaGraphs_.size(); ++i)
    if (tagSet(metaGraphs_[i].tags) == tagSet(tags)) return i;
  std::vector<std::string> present;
  for (const MetaGraph& graph : metaGraphs_) present.push_back(describeTags(graph.tags));
  throw Error(ErrorCode::NotFound, std::string(kEngineName) + ": '" + file_.string() +
                                       "' has no MetaGraph tagged " + describeTags(tags) +
                                       " (option Tags); its tag sets: " + plugin::join(present));
}

Signature SavedModelFile::signature(std::size_t index, const std::string& key) const {
  const schema::MetaGraphDef& graph = proto_->meta_graphs(static_cast<int>(index));
  const auto found = graph.signature_def().find(key);
  if (found == graph.signature_def().end())
    throw Error(ErrorCode::NotFound,
                std::string(kEngineName) + ": '" + file_.string() + "' MetaGraph " +
                    describeTags(metaGraphs_[index].tags) + " has no signature '" + key +
                    "' (option SignatureDefKey); its signatures: " +
                    (metaGraphs_[index].signatureKeys.empty()
                         ? std::string("none")
                         : plugin::join(metaGraphs_[index].signatureKeys)));
  const schema::SignatureDef& def = found->second;
  Signature signature;
  signature.key = key;
  signature.methodName = def.method_name();
  signature.inputs = describeAll(key, "input", def.inputs());
  signature.outputs = describeAll(key, "output", def.outputs());
  return signature;
}

}  // namespace polyinfer::tf
