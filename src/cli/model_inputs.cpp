#include "model_inputs.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "polyinfer/error.hpp"
#include "random_tensor.hpp"
#include "value_args.hpp"

namespace polyinfer::cli {

namespace {

/// An example -s argument for the model's inputs: declared dims with '?' as 1, each with
/// its dtype letter; a generic example when some input declares no shape.
std::string shapeExample(const std::vector<TensorInfo>& infos) {
  std::string text;
  for (const TensorInfo& info : infos) {
    if (!info.rankKnown) return "-s '(1,3,224,224)f' for one float32 input, '(2,4)f,(2,3)l' for two";
    std::vector<int64_t> dims;
    for (const int64_t d : info.shape) dims.push_back(d < 0 ? 1 : d);
    text += fmt::format("{}({}){}", text.empty() ? "" : ",", fmt::join(dims, ","),
                        shapeLetterFor(info.dtype == DataType::Undefined ? DataType::Float32
                                                                         : info.dtype));
  }
  return "-s '" + text + "'";
}

}  // namespace

const std::vector<LoadedTensor>& EarlyDataFiles::tensorsOrThrow() const {
  if (notTensors) throw *notTensors;
  return tensors;
}

EarlyDataFiles loadDataFilesEarly(const std::vector<std::string>& args, const std::string& layoutPrefix) {
  EarlyDataFiles early;
  try {
    early.tensors = loadTensorArgs(args, layoutPrefix);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::NotFound) throw;
    early.notTensors = e;
  }
  return early;
}

bool inputsAreTensors(const Model& model) {
  const std::vector<TensorInfo>& infos = model.inputs();
  return std::all_of(infos.begin(), infos.end(), [](const TensorInfo& info) { return info.isTensor(); });
}

/// "0,10" -> {0, 10}.
std::pair<int64_t, int64_t> parseIntRange(const std::string& text) {
  const std::size_t comma = text.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument("no comma");
    std::size_t used1 = 0, used2 = 0;
    const std::string a = text.substr(0, comma), b = text.substr(comma + 1);
    const int64_t lo = std::stoll(a, &used1);
    const int64_t hi = std::stoll(b, &used2);
    if (used1 != a.size() || used2 != b.size() || lo >= hi) throw std::invalid_argument("order");
    return {lo, hi};
  } catch (const std::exception&) {
    throw Error(ErrorCode::InvalidArgument,
                "--int-range '" + text + "': expected LOW,HIGH with LOW < HIGH, e.g. 0,10");
  }
}

/// The model's inputs, from -i, from -s, or random from declared shapes.
Tensors buildInputs(const InputArgs& args, const std::vector<TensorInfo>& infos,
                    const std::vector<LoadedTensor>& loaded, const std::vector<ShapeSpec>& shapes,
                    std::vector<std::string>& sources) {
  if (!args.files.empty()) {
    return arrangeInputs(loaded, infos, &sources);
  }

  RandomSettings settings;
  settings.seed = args.seed;
  settings.floats = args.distribution == "uniform" ? Distribution::Uniform : Distribution::Normal;
  std::tie(settings.intLow, settings.intHigh) = parseIntRange(args.intRange);
  RandomTensors random(settings);
  const std::string how = fmt::format("random (seed {})", args.seed);
  Tensors inputs;

  if (args.shapesGiven) {
    if (!infos.empty() && shapes.size() != infos.size())
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("-s gives {} shape{}, but the model has {} input{}: {}", shapes.size(),
                              shapes.size() == 1 ? "" : "s", infos.size(),
                              infos.size() == 1 ? "" : "s", describeInfos(infos)));
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      DataType type = shapes[k].dtype;
      if (type == DataType::Undefined)
        type = k < infos.size() && infos[k].dtype != DataType::Undefined ? infos[k].dtype
                                                                         : DataType::Float32;
      const std::string name = k < infos.size() ? infos[k].name : std::string();
      inputs.add(name, random.make(type, shapes[k].shape));
      sources.push_back(how);
    }
    return inputs;
  }

  for (const TensorInfo& info : infos) {
    const bool dynamic = std::any_of(info.shape.begin(), info.shape.end(),
                                     [](int64_t d) { return d < 0; });
    if (!info.rankKnown || info.dtype == DataType::Undefined || dynamic) {
      const std::string problem =
          !info.rankKnown || info.dtype == DataType::Undefined
              ? "declares no fixed shape and dtype (" + info.describe() +
                    "; some model formats declare none)"
              : "has dynamic dimensions (" + info.describe() + ")";
      throw Error(ErrorCode::InvalidArgument,
                  "input '" + info.name + "' " + problem +
                      ", so random data cannot be made for it; give data with -i, or one shape "
                      "per input (" + std::to_string(infos.size()) + " here) with -s, e.g. " +
                      shapeExample(infos));
    }
    inputs.add(info.name, random.make(info.dtype, info.shape));
    sources.push_back(how);
  }
  return inputs;
}

Tensors buildInputs(const InputArgs& args, const Model& model,
                    const std::vector<LoadedTensor>& loaded, const std::vector<ShapeSpec>& shapes,
                    std::vector<std::string>& sources) {
  for (const TensorInfo& info : model.inputs())
    if (!info.isTensor())
      throw Error(ErrorCode::InvalidArgument,
                  "input '" + info.name + "' is " + info.describe() +
                      ": random data is made for tensors only; give it as a file with -i (a .pb "
                      "file: an ONNX SequenceProto, MapProto or OptionalProto, or a test-layout "
                      "directory)");
  return buildInputs(args, model.inputs(), loaded, shapes, sources);
}

Values buildValueInputs(const InputArgs& args, const Model& model, const EarlyDataFiles& early,
                        const std::vector<ShapeSpec>& shapes, std::vector<std::string>& sources) {
  if (args.files.empty()) return Values(buildInputs(args, model, early.tensors, shapes, sources));
  Values inputs;
  const std::vector<ValueInfo> infos = model.inputValues();
  for (const LoadedValue& loaded : loadValueArgs(args.files, "input", infos, true)) {
    inputs.add(infos[loaded.slot].name, loaded.value);
    sources.push_back(loaded.file.string());
  }
  return inputs;
}

}  // namespace polyinfer::cli
