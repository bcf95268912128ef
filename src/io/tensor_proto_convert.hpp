// onnx.TensorProto <-> Tensor, for every reader inside the TensorProto module
// (libpolyinfer_io_tensorproto.so): the .pb tensor files of tensor_proto.cpp,
// and the messages that hold TensorProtos (SequenceProto, MapProto,
// OptionalProto). Private to the module: it includes ONNX's generated classes,
// which only the module links (tensor_proto_module.hpp says why).
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <string>

#include "polyinfer/tensor.hpp"

namespace polyinfer::io::detail {

/// The tensor `proto` holds, per the ONNX spec (onnx.proto, TensorProto):
///  - raw_data: dense little-endian bytes (bool one byte per element, the
///    sub-byte types packed), for every dtype but STRING;
///  - or the typed field of its dtype: float_data (FLOAT; COMPLEX64 as real,
///    imaginary pairs), double_data (DOUBLE; COMPLEX128 in pairs), int64_data
///    (INT64), uint64_data (UINT32, UINT64), string_data (STRING), int32_data
///    (INT32, INT16, INT8, UINT16, UINT8, BOOL, one element per entry;
///    FLOAT16, BFLOAT16 and the FLOAT8 types as their bits, the low 16 or 8 bits
///    of each entry; the 4- and 2-bit types one packed byte per entry);
///  - or external data (data_location EXTERNAL, external_data keys
///    "location", "offset", "length"; "checksum" and unknown keys are ignored,
///    as ONNX's own loader does): raw bytes read from a file in the directory
///    of `file` or below it. An absolute location, one with a '..' component,
///    or one that resolves outside that directory (a symbolic link) is
///    refused with Error(InvalidArgument); so is an offset + length past the
///    end of the data file. A missing data file is Error(NotFound).
/// `segment` (one piece of a larger tensor) is Error(Unsupported) naming
/// 'segment' and its begin and end.
///
/// Every size is checked before anything is allocated: the bytes the dims and
/// dtype declare must fit in 64 bits and equal what raw_data, the typed field
/// or the external span holds. A mismatch, an unknown or UNDEFINED data_type,
/// a negative dim, or data in a field that does not belong to the dtype is
/// Error(InvalidArgument) naming `file` (the .pb the proto was read from: for
/// messages, and as the base directory of external data) and saying what was
/// expected and what was found.
Tensor tensorFromProto(const onnx::TensorProto& proto, const std::filesystem::path& file);

/// Fills `proto` (cleared first) with `tensor`: name, data_type, dims, and the
/// data in raw_data (little-endian; string_data for strings). An invalid
/// (undefined) tensor is Error(InvalidArgument).
void tensorToProto(const Tensor& tensor, const std::string& name, onnx::TensorProto& proto);

}  // namespace polyinfer::io::detail
