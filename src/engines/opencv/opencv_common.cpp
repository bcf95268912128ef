// Shared helpers of the OpenCV plugin (opencv_common.hpp).
#include "opencv_common.hpp"

#include <opencv2/core.hpp>

#include <cctype>
#include <regex>

namespace polyinfer::opencv_engine {

namespace {

/// A node OpenCV's importer rejected: its name and op type, from the
/// importer's message. "Node [Clip@ai.onnx]:(onnx_node!name) parse error" or
/// "Can't create layer "name" of type "If"".
struct RejectedNode {
  std::string name;
  std::string opType;
};

std::optional<RejectedNode> rejectedNode(const std::string& message) {
  static const std::regex parseError(R"(Node \[([^\]@]+)(@[^\]]*)?\]:\((onnx_node!)?([^)]*)\))");
  static const std::regex createError(R"(Can't create layer \"([^\"]*)\" of type \"([^\"]*)\")");
  std::smatch m;
  if (std::regex_search(message, m, parseError)) return RejectedNode{m[4].str(), m[1].str()};
  if (std::regex_search(message, m, createError)) return RejectedNode{m[1].str(), m[2].str()};
  return std::nullopt;
}

}  // namespace

std::string summarize(const std::string& what) {
  static const std::regex prefix(
      R"(OpenCV\([0-9.]+\) [^ ]+:[0-9]+: error: \([^)]*\) (in function '[^']*'|in function [^\n]*)?\s*)");
  static const std::regex suffix(R"( in function '[^']*')");
  const std::string text = std::regex_replace(std::regex_replace(what, prefix, ""), suffix, "");
  std::string line;
  bool space = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    // "> " starts each continuation line of OpenCV's multi-line messages.
    if (c == '>' && (i == 0 || text[i - 1] == '\n' || text[i - 1] == '>' || text[i - 1] == ' ') &&
        (space || line.empty()))
      continue;
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !line.empty()) line += ' ';
    space = false;
    line += c;
  }
  return line.size() > 600 ? line.substr(0, 600) + "..." : line;
}

void throwLoadError(const std::string& what, const std::string& path) {
  const std::string detail = summarize(what);
  if (const std::optional<RejectedNode> node = rejectedNode(what))
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) + ": OpenCV " + CV_VERSION + " cannot import node '" +
                    node->name + "' (op " + node->opType + ") of '" + path + "': " + detail +
                    "; run this model with another engine, e.g. -e onnxruntime");
  // OpenCV's ONNX importer asserts that every graph input and output is a
  // tensor; a sequence, map or optional (a Loop's, a ZipMap's) fails there.
  if (detail.find("has_tensor_type()") != std::string::npos)
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) + ": '" + path +
                    "' has an input or output that is not a tensor (a sequence, map or optional); "
                    "OpenCV " + CV_VERSION + "'s DNN module runs tensors only (" + detail +
                    "); run this model with -e onnxruntime");
  throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": OpenCV " + CV_VERSION +
                                              " cannot load '" + path + "': " + detail);
}

void rethrowLoadError(const std::string& path) {
  try {
    throw;
  } catch (const cv::Exception& e) {
    throwLoadError(e.what(), path);
  } catch (...) {
    plugin::rethrowAsError(kEngineName, "loading '" + path + "' failed", ErrorCode::EngineFailure);
  }
}

std::optional<plugin::TranslatedError> translateCvException(ErrorCode code) {
  try {
    throw;
  } catch (const cv::Exception& e) {
    return plugin::TranslatedError{code, summarize(e.what())};
  } catch (...) {
    return std::nullopt;
  }
}

const plugin::DTypeTable<int>& inputDepths() {
  static const plugin::DTypeTable<int> table{{DataType::Float32, CV_32F}, {DataType::UInt8, CV_8U}};
  return table;
}

const plugin::DTypeTable<int>& outputDepths() {
  static const plugin::DTypeTable<int> table{
      {DataType::UInt8, CV_8U},   {DataType::Int8, CV_8S},      {DataType::UInt16, CV_16U},
      {DataType::Int16, CV_16S},  {DataType::Int32, CV_32S},    {DataType::Float32, CV_32F},
      {DataType::Float64, CV_64F}, {DataType::Float16, CV_16F},
  };
  return table;
}

TensorInfo namedInfo(std::string name) {
  TensorInfo info;
  info.name = std::move(name);
  return info;
}

}  // namespace polyinfer::opencv_engine
