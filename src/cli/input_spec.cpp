#include "input_spec.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "polyinfer/tensor_io.hpp"

namespace polyinfer::cli {
namespace fs = std::filesystem;

std::vector<DataFileArg> dataFileArgs(const std::vector<std::string>& args, const std::string& layoutPrefix) {
  std::vector<DataFileArg> files;
  for (const std::string& arg : args) {
    std::error_code ec;
    const fs::path path(arg);
    const std::size_t eq = arg.find('=');
    if (eq != std::string::npos && !fs::exists(path, ec)) {
      const std::string name = arg.substr(0, eq);
      const fs::path file = arg.substr(eq + 1);
      if (name.empty() || file.empty())
        throw Error(ErrorCode::InvalidArgument,
                    "'" + arg + "': expected NAME=FILE with a name and a file");
      if (fs::is_directory(file, ec))
        throw Error(ErrorCode::InvalidArgument,
                    "'" + arg + "': NAME=FILE needs a .npy or .pb file, got a directory");
      files.push_back({name, true, file, false});
    } else if (fs::is_directory(path, ec)) {
      const std::vector<fs::path> layout = io::testLayoutFiles(path, layoutPrefix);
      if (layout.empty())
        throw Error(ErrorCode::InvalidArgument,
                    "directory '" + arg + "' has no " + layoutPrefix +
                        "_0.pb (expected ONNX's test layout: " + layoutPrefix + "_0.pb, " +
                        layoutPrefix + "_1.pb, ...)");
      for (const fs::path& file : layout) files.push_back({std::string(), false, file, true});
    } else {
      files.push_back({std::string(), false, path, false});
    }
  }
  return files;
}

std::vector<LoadedTensor> loadTensorArgs(const std::vector<std::string>& args,
                                         const std::string& layoutPrefix) {
  std::vector<LoadedTensor> loaded;
  for (const DataFileArg& arg : dataFileArgs(args, layoutPrefix)) {
    NamedTensor t = arg.inLayout ? io::readTensorProto(arg.file) : io::readTensorFile(arg.file);
    loaded.push_back({arg.explicitName ? arg.name : std::move(t.name), arg.explicitName, std::move(t.tensor),
                      arg.file});
  }
  return loaded;
}

std::string_view shapeLetterHelp() {
  return "f float32, d float64, s float16, i int32, l int64, b int8, u uint8, B bool";
}

namespace {

DataType letterType(char letter) {
  switch (letter) {
    case 'f': return DataType::Float32;
    case 'd': return DataType::Float64;
    case 's': return DataType::Float16;
    case 'i': return DataType::Int32;
    case 'l': return DataType::Int64;
    case 'b': return DataType::Int8;
    case 'u': return DataType::UInt8;
    case 'B': return DataType::Bool;
    default: return DataType::Undefined;
  }
}

constexpr char kLetters[] = "fdsilbuB";

/// The -s text for messages: at most 200 characters of it.
std::string quotedSpec(std::string_view text) {
  constexpr std::size_t kShown = 200;
  if (text.size() <= kShown) return "-s '" + std::string(text) + "'";
  return "-s '" + std::string(text.substr(0, kShown)) + "...' (" + std::to_string(text.size()) +
         " characters)";
}

[[noreturn]] void badShapes(std::string_view text, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument,
              quotedSpec(text) + ": " + why +
                  "; expected shapes like (1,3,224,224)f,(1,384)l or 1,3,224,224 (dtype letters: " +
                  std::string(shapeLetterHelp()) + ")");
}

Shape parseDims(std::string_view all, std::string_view dims) {
  try {
    return parseShape(dims);
  } catch (const Error&) {
    badShapes(all, "bad dimensions '" +
                       std::string(dims.substr(0, 100)) + (dims.size() > 100 ? "...'" : "'"));
  }
}

/// Refuses specs that take more than kMaxShapeSpecBytes together (checked
/// arithmetic: no product or sum overflows).
void checkShapeBytes(std::string_view text, const std::vector<ShapeSpec>& specs) {
  const auto limit = [] {
    return std::to_string(kMaxShapeSpecBytes) + " bytes (" +
           std::to_string(kMaxShapeSpecBytes >> 30) + " GiB)";
  };
  uint64_t total = 0;
  for (const ShapeSpec& spec : specs) {
    // No letter: the model's dtype decides later; count the widest one -s fills.
    const uint64_t itemBytes =
        spec.dtype == DataType::Undefined ? 8 : (bitsPerElement(spec.dtype) + 7) / 8;
    uint64_t bytes = itemBytes;
    bool over = false;
    if (std::find(spec.shape.begin(), spec.shape.end(), 0) != spec.shape.end()) {
      bytes = 0;  // no elements, whatever the other dims
    } else {
      for (int64_t dim : spec.shape) {  // parseShape gives non-negative dims
        const auto d = static_cast<uint64_t>(dim);
        if (bytes > kMaxShapeSpecBytes / d) {
          over = true;
          break;
        }
        bytes *= d;
      }
      over = over || bytes > kMaxShapeSpecBytes;
    }
    if (over) {
      const std::string shape = toString(spec.shape);
      throw Error(ErrorCode::InvalidArgument,
                  quotedSpec(text) + ": shape " +
                      (shape.size() > 100 ? shape.substr(0, 100) + "..." : shape) +
                      (spec.dtype == DataType::Undefined
                           ? std::string(" (no dtype letter: counted at 8 bytes per element)")
                           : " of " + std::string(toString(spec.dtype))) +
                      " takes more than the limit of " + limit() +
                      " for the random tensors of -s; expected smaller shapes");
    }
    total += bytes;  // each at most the limit: the sum does not overflow
    if (total > kMaxShapeSpecBytes)
      throw Error(ErrorCode::InvalidArgument,
                  quotedSpec(text) + ": the shapes take " + std::to_string(total) +
                      " bytes together, over the limit of " + limit() +
                      " for the random tensors of -s; expected smaller shapes");
  }
}

}  // namespace

std::string shapeLetterFor(DataType type) {
  for (const char* c = kLetters; *c; ++c)
    if (letterType(*c) == type) return std::string(1, *c);
  return {};
}

std::vector<ShapeSpec> parseShapeSpecs(std::string_view text) {
  std::vector<ShapeSpec> specs;
  auto isSpace = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  if (text.find_first_not_of(" \t") == std::string_view::npos) badShapes(text, "no shape given");
  if (text.find('(') == std::string_view::npos) {
    specs.push_back({parseDims(text, text), DataType::Undefined});
    checkShapeBytes(text, specs);
    return specs;
  }
  std::size_t pos = 0;
  while (true) {
    while (pos < text.size() && (text[pos] == ',' || isSpace(text[pos]))) ++pos;
    if (pos >= text.size()) break;
    if (text[pos] != '(')
      badShapes(text, "expected '(' at position " + std::to_string(pos + 1) + ", got '" +
                          std::string(1, text[pos]) + "'");
    const std::size_t close = text.find(')', pos);
    if (close == std::string_view::npos) badShapes(text, "missing ')'");
    ShapeSpec spec;
    spec.shape = parseDims(text, text.substr(pos, close - pos + 1));
    pos = close + 1;
    if (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) {
      spec.dtype = letterType(text[pos]);
      if (spec.dtype == DataType::Undefined)
        badShapes(text, "unknown dtype letter '" + std::string(1, text[pos]) + "'");
      ++pos;
    }
    if (pos < text.size() && text[pos] != ',' && text[pos] != '(' && !isSpace(text[pos]))
      badShapes(text, "unexpected '" + std::string(1, text[pos]) + "' after a shape");
    specs.push_back(std::move(spec));
  }
  checkShapeBytes(text, specs);
  return specs;
}

std::string describeInfos(const std::vector<TensorInfo>& infos) {
  std::string text;
  for (const TensorInfo& info : infos) {
    if (!text.empty()) text += ", ";
    text += (info.name.empty() ? std::string("(unnamed)") : info.name) + " " + info.describe();
  }
  return text.empty() ? std::string("none") : text;
}

Tensors arrangeInputs(const std::vector<LoadedTensor>& given, const std::vector<TensorInfo>& inputs,
                      std::vector<std::string>* files) {
  if (inputs.empty()) {
    Tensors pass;
    for (const LoadedTensor& t : given) {
      pass.add(t.explicitName ? t.name : std::string(), t.tensor);
      if (files) files->push_back(t.file.string());
    }
    return pass;
  }
  const std::string modelInputs =
      "the model's inputs are " + std::to_string(inputs.size()) + ": " + describeInfos(inputs);
  if (given.size() > inputs.size())
    throw Error(ErrorCode::InvalidArgument,
                "got " + std::to_string(given.size()) + " input tensors, but " + modelInputs);
  std::vector<const LoadedTensor*> slots(inputs.size(), nullptr);
  std::vector<const LoadedTensor*> positional;
  for (const LoadedTensor& t : given) {
    std::size_t k = 0;
    while (k < inputs.size() && (t.name.empty() || inputs[k].name != t.name)) ++k;
    if (k == inputs.size()) {
      if (t.explicitName)
        throw Error(ErrorCode::NotFound, "no input named '" + t.name + "'; " + modelInputs);
      positional.push_back(&t);
      continue;
    }
    if (slots[k])
      throw Error(ErrorCode::InvalidArgument, "input '" + t.name + "' given twice ('" +
                                                  slots[k]->file.string() + "' and '" +
                                                  t.file.string() + "')");
    slots[k] = &t;
  }
  auto next = positional.begin();
  for (auto& slot : slots)
    if (!slot && next != positional.end()) slot = *next++;
  Tensors arranged;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (!slots[k])
      throw Error(ErrorCode::InvalidArgument,
                  "no data for input '" + inputs[k].name + "' " + inputs[k].describe() +
                      " (got " + std::to_string(given.size()) + " tensors); " + modelInputs);
    arranged.add(inputs[k].name, slots[k]->tensor);
    if (files) files->push_back(slots[k]->file.string());
  }
  return arranged;
}

}  // namespace polyinfer::cli
