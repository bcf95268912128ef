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
#include "polyinfer/value.hpp"

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

/// Reads a serialized onnx.TensorProto, every ONNX dtype incl. strings, with
/// its data where the ONNX spec allows it: raw_data; the typed fields
/// (float16, bfloat16 and float8 as the low bits of int32_data entries, small
/// integers and bool in int32_data, uint32/uint64 in uint64_data, complex as
/// pairs in float_data/double_data, strings in string_data); or external
/// data (data_location EXTERNAL: the external_data "location", "offset" and
/// "length" of a file in the .pb's directory or below it; "checksum" is not
/// verified). The name is the proto's name field (may be empty).
/// Every size is checked against what the file holds before anything is
/// allocated: a file that does not parse, whose dims and dtype declare more
/// (or less) data than it holds, whose external data lies outside the .pb's
/// directory (an absolute path, '..', a link leading out) or past the end of
/// its data file, is Error(InvalidArgument) naming the file and the sizes.
/// A segment of a larger tensor ('segment') is Error(Unsupported); a missing
/// file or external data file Error(NotFound). A module that cannot be
/// loaded (a broken install) is Error(Internal).
NamedTensor readTensorProto(const std::filesystem::path& file);

/// Writes a serialized onnx.TensorProto with raw_data (string_data for strings).
/// Loads the module as readTensorProto does.
void writeTensorProto(const std::filesystem::path& file, const std::string& name,
                      const Tensor& tensor);

/// Reads a .npy or .pb file by its extension (name: the proto's name for .pb,
/// empty for .npy). Error(NotFound) for a missing file, Error(InvalidArgument)
/// for an unknown extension or a malformed file.
NamedTensor readTensorFile(const std::filesystem::path& file);

/// Reads a value: a .npy file (a tensor) or a .pb file holding a serialized
/// onnx.TensorProto, SequenceProto, MapProto or OptionalProto. The .pb file
/// is read as the kind `expected` declares (a model's input or output type)
/// and strictly; when it holds another kind the Error(InvalidArgument) names
/// both ("expected a sequence (onnx.SequenceProto), but the file holds a
/// tensor (onnx.TensorProto)"). For an optional, a file holding the value
/// itself counts as present. Only the kind is checked here; element types
/// and shapes are checked where the value is used (Model::checkValues).
/// Tensors inside follow readTensorProto's rules; a map's values must be
/// scalars of one type (as ONNX's helpers and ZipMap write them). Error
/// codes as readTensorFile.
NamedValue readValueFile(const std::filesystem::path& file, const ValueType& expected);

/// readValueFile without a declared type: a .pb file is read as the first of
/// tensor, map, sequence and optional it reads as strictly. A one-element
/// SequenceProto and an OptionalProto holding a value are the same bytes:
/// such a file reads as a sequence. Prefer the typed overload.
NamedValue readValueFile(const std::filesystem::path& file);

/// Writes a value: .pb as the message of its kind (tensors with raw_data),
/// .npy for a tensor only (anything else is Error(InvalidArgument) saying to
/// use .pb). Other extensions are Error(InvalidArgument).
void writeValueFile(const std::filesystem::path& file, const std::string& name, const Value& value);

/// The files of one data set in ONNX's test layout: `prefix_0.pb`,
/// `prefix_1.pb`, ... in numeric order, e.g. ("dir", "input") -> input_0.pb...
/// Empty when there are none (or `dir` is not a directory); a gap in the
/// numbering (input_0, input_2 without input_1) is Error(InvalidArgument).
std::vector<std::filesystem::path> testLayoutFiles(const std::filesystem::path& dir,
                                                   const std::string& prefix);

}  // namespace polyinfer::io
