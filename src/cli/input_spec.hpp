// Parsing and loading the data arguments of `predict`: -i / --expect and -s.
#pragma once

#include <cstdint>
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

/// One file an -i (layoutPrefix "input") or --expect ("output") argument
/// names: NAME=FILE, FILE, or each file of a test-layout DIR, in order.
struct DataFileArg {
  std::string name;           ///< NAME of NAME=FILE, else empty
  bool explicitName = false;  ///< NAME=FILE
  std::filesystem::path file;
  bool inLayout = false;      ///< one of a DIR's <prefix>_K.pb files
};
/// The files the arguments name (nothing is read): Error(InvalidArgument) for
/// a malformed NAME=FILE, NAME=DIR, or a directory without <prefix>_K.pb files.
std::vector<DataFileArg> dataFileArgs(const std::vector<std::string>& args, const std::string& layoutPrefix);

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

/// The most bytes the tensors of one -s may take together: 16 GiB. -s makes
/// random tensors in memory, so parseShapeSpecs refuses larger shapes up
/// front (Error(InvalidArgument) naming this limit) instead of leaving an
/// overflow or a huge allocation to whoever makes the tensors. A shape
/// without a dtype letter counts 8 bytes per element, the widest dtype random
/// inputs are made of (float64, int64, uint64).
inline constexpr uint64_t kMaxShapeSpecBytes = uint64_t{16} << 30;

/// Parses -s: "(1,3,224,224)f,(1,384)l", "(2,4)f(2,3)l(2,4)B" or a plain
/// "1,3,224,224" for one input without a suffix; "()" is a scalar. Throws
/// Error(InvalidArgument) quoting the text and saying what is wrong, also
/// when the shapes take more than kMaxShapeSpecBytes together.
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
