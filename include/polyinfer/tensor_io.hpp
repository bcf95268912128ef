// Reading and writing tensors as files: numpy .npy and ONNX TensorProto .pb.
// Part of the polyinfer::io library, which links no protobuf: TensorProto files
// go through a module it loads on first use, RTLD_LOCAL, from beside itself
// (<libdir>/polyinfer/libpolyinfer_io_tensorproto.so, with Debian's protobuf
// and ONNX's proto classes), so that protobuf stays out of the program's
// global symbol scope, where it breaks engines that carry their own.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "polyinfer/tensor.hpp"

namespace polyinfer::io {

/// Reads a numpy .npy file (format versions 1.0-3.0, C order, little- or
/// big-endian numeric dtypes, bool, complex; fixed-width 'S'/'U' strings
/// become string tensors, trailing NULs stripped as numpy does). Fortran
/// order, object and structured arrays are refused with
/// Error(InvalidArgument) naming the file and the reason; so are truncated
/// and malformed files. A missing file is Error(NotFound).
Tensor readNpy(const std::filesystem::path& file);

/// Writes a .npy file (version 1.0, or 2.0 for huge headers; little-endian,
/// C order). float16 and bfloat16 are written as numpy's '<f2' and as raw
/// '<u2' respectively, since numpy has no bfloat16; the float8 types as raw
/// '|u1'; strings as fixed-width bytes '|S<longest>'. The packed sub-byte types
/// (int4, uint4, float4e2m1, int2, uint2) have no numpy dtype:
/// Error(Unsupported). A file that cannot be created is Error(InvalidArgument).
void writeNpy(const std::filesystem::path& file, const Tensor& tensor);

/// Reads a serialized onnx.TensorProto (raw_data or typed fields, every ONNX
/// dtype incl. strings). The name is the proto's name field (may be empty).
/// Data in external files or segments is Error(Unsupported); a file that does
/// not parse, or whose data does not fit its dtype and dims, is
/// Error(InvalidArgument) naming the file; a missing file Error(NotFound).
/// A module that cannot be loaded (a broken install) is Error(Internal).
NamedTensor readTensorProto(const std::filesystem::path& file);

/// Writes a serialized onnx.TensorProto with raw_data (string_data for strings).
/// Loads the module as readTensorProto does.
void writeTensorProto(const std::filesystem::path& file, const std::string& name,
                      const Tensor& tensor);

/// Reads a .npy or .pb file by its extension (name: the proto's name for .pb,
/// empty for .npy). Error(NotFound) for a missing file, Error(InvalidArgument)
/// for an unknown extension or a malformed file.
NamedTensor readTensorFile(const std::filesystem::path& file);

/// The files of one data set in ONNX's test layout: `prefix_0.pb`,
/// `prefix_1.pb`, ... in numeric order, e.g. ("dir", "input") -> input_0.pb...
/// Empty when there are none (or `dir` is not a directory); a gap in the
/// numbering (input_0, input_2 without input_1) is Error(InvalidArgument).
std::vector<std::filesystem::path> testLayoutFiles(const std::filesystem::path& dir,
                                                   const std::string& prefix);

}  // namespace polyinfer::io
