// libFuzzer target: onnx.TensorProto bytes -> protobuf parse ->
// io::detail::tensorFromProto (the TensorProto module's conversion, linked in
// directly), including external data: the .pb "lies" in a scratch directory
// holding data.bin (256 bytes), sub/data.bin and a symbolic link leading out
// of it. A tensor that converts is written back with tensorToProto and read
// again: it must come back identical. Only polyinfer::Error may come out.
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "polyinfer/error.hpp"
#include "tensor_proto_convert.hpp"

namespace {

namespace fs = std::filesystem;

fs::path scratch;

void writeFile(const fs::path& file, std::size_t size) {
  std::ofstream out(file, std::ios::binary);
  for (std::size_t i = 0; i < size; ++i) out.put(static_cast<char>(i * 37 + 11));
}

bool same(const polyinfer::Tensor& a, const polyinfer::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == polyinfer::DataType::String) return a.strings() == b.strings();
  return a.byteSize() == b.byteSize() &&
         (a.byteSize() == 0 || std::memcmp(a.rawData(), b.rawData(), a.byteSize()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  scratch = fs::temp_directory_path() / ("polyinfer_fuzz_tensor_proto_" + std::to_string(::getpid()));
  fs::remove_all(scratch);
  fs::create_directories(scratch / "sub");
  writeFile(scratch / "data.bin", 256);
  writeFile(scratch / "sub" / "data.bin", 64);
  std::error_code ec;
  fs::create_symlink(scratch.parent_path(), scratch / "out", ec);
  std::atexit([] {
    std::error_code ignored;
    fs::remove_all(scratch, ignored);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  onnx::TensorProto proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
  const fs::path file = scratch / "fuzz.pb";
  try {
    const polyinfer::Tensor tensor = polyinfer::io::detail::tensorFromProto(proto, file);
    onnx::TensorProto written;
    polyinfer::io::detail::tensorToProto(tensor, proto.name(), written);
    if (!same(polyinfer::io::detail::tensorFromProto(written, file), tensor)) std::abort();
  } catch (const polyinfer::Error&) {
  }
  return 0;
}
