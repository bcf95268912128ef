// Parsing and loading the data arguments of `predict`: -i / --expect and -s.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "polyinfer/model.hpp"
#include "polyinfer/tensor.hpp"

namespace polyinfer::cli {

/// One tensor read from a file named on the command line.
struct LoadedTensor {
  std::string name;           ///< NAME of NAME=FILE, else the .pb's name (may be empty)
  bool explicitName = false;  ///< true for NAME=FILE: the name must exist
  Tensor tensor;
  std::filesystem::path file;
};

/// Loads the tensors of -i (layoutPrefix "input") or --expect (layoutPrefix
/// "output") arguments, in order. Each argument is
///   FILE.npy | FILE.pb      one tensor (a .pb carries its name)
///   NAME=FILE               one tensor for the input/output called NAME
///   DIR                     ONNX test layout: DIR/<prefix>_0.pb, <prefix>_1.pb, ...
/// Throws Error(NotFound) for a missing file, Error(InvalidArgument) for a
/// malformed one or a directory without <prefix>_K.pb files.
std::vector<LoadedTensor> loadTensorArgs(const std::vector<std::string>& args,
                                         const std::string& layoutPrefix);

/// One shape of -s, with its dtype (Undefined: no suffix letter was given).
struct ShapeSpec {
  Shape shape;
  DataType dtype = DataType::Undefined;
};

/// The dtype letters -s accepts after a shape (DJL's djl-bench letters).
std::string_view shapeLetterHelp();
/// The -s letter for a dtype ("f" for float32), empty when there is none.
std::string shapeLetterFor(DataType type);

/// Parses -s: "(1,3,224,224)f,(1,384)l", "(2,4)f(2,3)l(2,4)B" or a plain
/// "1,3,224,224" for one input without a suffix; "()" is a scalar. Throws
/// Error(InvalidArgument) quoting the text and saying what is wrong.
std::vector<ShapeSpec> parseShapeSpecs(std::string_view text);

/// Orders `given` by the model's inputs: a tensor whose name is one of the
/// model's goes there, the rest fill the remaining inputs by position. An
/// explicit NAME that the model lacks is Error(NotFound); too many or too few
/// tensors are Error(InvalidArgument) listing the model's inputs. When the model
/// declares no inputs at all the tensors pass through as given. `files`, when
/// given, receives the file of each arranged tensor.
Tensors arrangeInputs(const std::vector<LoadedTensor>& given, const std::vector<TensorInfo>& inputs,
                      std::vector<std::string>* files = nullptr);

/// "x float32[1,16], idx int64[2,3]" for messages.
std::string describeInfos(const std::vector<TensorInfo>& infos);

}  // namespace polyinfer::cli
