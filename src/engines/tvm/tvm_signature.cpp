#include "tvm_signature.hpp"

#include <nlohmann/json.hpp>

#include <regex>
#include <string>

#include "polyinfer/error.hpp"
#include "tvm_common.hpp"

namespace polyinfer::tvm_engine {

namespace {

/// "1, 3, 224, 224" or "n, 16" -> a TensorInfo shape (dynamic dims -1, named).
void parseDims(const std::string& text, TensorInfo& info) {
  info.rankKnown = true;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string dim = text.substr(start, comma - start);
    dim.erase(0, dim.find_first_not_of(" \""));
    dim.erase(dim.find_last_not_of(" \"") + 1);
    start = comma + 1;
    if (dim.empty()) continue;  // "(16,)"
    if (dim.find_first_not_of("0123456789") == std::string::npos) {
      info.shape.push_back(std::stoll(dim));
      info.dimNames.emplace_back();
    } else {
      info.shape.push_back(-1);
      info.dimNames.push_back(dim);
    }
  }
}

}  // namespace

std::vector<TensorInfo> declaredInputs(const std::string& stats, const std::string& function) {
  static const std::regex pattern(
      R"re(ErrorContext\(fn=([^,]+), loc=param\[(\d+)\], param=([^,]+), annotation=R\.Tensor\(\(([^)]*)\), dtype="([a-z0-9_]+)"\)\))re");
  std::vector<TensorInfo> inputs;
  std::vector<std::size_t> positions;
  for (auto it = std::sregex_iterator(stats.begin(), stats.end(), pattern);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& match = *it;
    if (match[1].str() != function) continue;
    const std::size_t position = std::stoul(match[2].str());
    bool seen = false;
    for (std::size_t p : positions) seen |= p == position;
    if (seen) continue;
    TensorInfo info;
    info.name = match[3].str();
    try {
      info.dtype = parseDataType(match[5].str());
    } catch (const Error&) {
      info.dtype = DataType::Undefined;
    }
    parseDims(match[4].str(), info);
    // In parameter order.
    std::size_t at = 0;
    while (at < positions.size() && positions[at] < position) ++at;
    positions.insert(positions.begin() + static_cast<std::ptrdiff_t>(at), position);
    inputs.insert(inputs.begin() + static_cast<std::ptrdiff_t>(at), std::move(info));
  }
  return inputs;
}

namespace {

std::vector<TensorInfo> parseInfos(const nlohmann::json& list, const std::string& key,
                                   const std::string& path) {
  auto bad = [&](const std::string& what) {
    return Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": signature file '" +
                                                 path + "': " + key + ": " + what);
  };
  if (!list.is_array()) throw bad("expected a list of {\"name\", \"dtype\", \"shape\"}");
  std::vector<TensorInfo> infos;
  for (const nlohmann::json& item : list) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string())
      throw bad("expected objects with a string \"name\", got " + item.dump());
    TensorInfo info;
    info.name = item["name"].get<std::string>();
    if (item.contains("dtype")) {
      if (!item["dtype"].is_string()) throw bad(info.name + ": expected a dtype name");
      try {
        info.dtype = parseDataType(item["dtype"].get<std::string>());
      } catch (const Error& e) {
        throw bad(info.name + ": " + e.what());
      }
    }
    if (item.contains("shape")) {
      const nlohmann::json& shape = item["shape"];
      if (!shape.is_array()) throw bad(info.name + ": expected \"shape\" to be a list");
      info.rankKnown = true;
      for (const nlohmann::json& dim : shape) {
        if (dim.is_number_integer() && dim.get<int64_t>() >= 0) {
          info.shape.push_back(dim.get<int64_t>());
          info.dimNames.emplace_back();
        } else if (dim.is_null() || dim.is_string()) {
          info.shape.push_back(-1);
          info.dimNames.push_back(dim.is_string() ? dim.get<std::string>() : std::string());
        } else {
          throw bad(info.name + ": expected dims >= 0, null or a name, got " + dim.dump());
        }
      }
    }
    infos.push_back(std::move(info));
  }
  return infos;
}

}  // namespace

SignatureFile parseSignatureFile(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  const nlohmann::json doc = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": signature file '" + path +
                                                "': expected a JSON object with \"inputs\" and "
                                                "\"outputs\", got text that is not one");
  SignatureFile file;
  if (doc.contains("inputs")) file.inputs = parseInfos(doc["inputs"], "inputs", path);
  if (doc.contains("outputs")) file.outputs = parseInfos(doc["outputs"], "outputs", path);
  if (doc.contains("target")) {
    const nlohmann::json& target = doc["target"];
    auto bad = [&](const std::string& what) {
      return Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": signature file '" +
                                                   path + "': target: " + what);
    };
    if (!target.is_object()) throw bad("expected an object, got " + target.dump());
    if (target.contains("mcpu")) {
      if (!target["mcpu"].is_string()) throw bad("expected \"mcpu\" to be a CPU name");
      file.targetCpu = target["mcpu"].get<std::string>();
    }
    if (target.contains("features")) {
      if (!target["features"].is_array()) throw bad("expected \"features\" to be a list of names");
      for (const nlohmann::json& feature : target["features"]) {
        if (!feature.is_string()) throw bad("expected feature names, got " + feature.dump());
        file.targetFeatures.push_back(feature.get<std::string>());
      }
      file.hasTargetFeatures = true;
    }
  }
  return file;
}

}  // namespace polyinfer::tvm_engine
