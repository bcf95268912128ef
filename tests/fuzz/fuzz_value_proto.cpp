// libFuzzer target: ONNX value files (TensorProto, SequenceProto, MapProto,
// OptionalProto bytes) -> io::detail::readValueProtoBytes (the TensorProto
// module's reader, linked in directly), read without a declared type and as
// each kind. A value that reads is written back with writeValueProto and read
// again as the same kind: it must describe the same. Only polyinfer::Error may
// come out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_scratch.hpp"
#include "polyinfer/error.hpp"
#include "value_proto.hpp"

namespace {

namespace fs = std::filesystem;

fs::path scratch;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The round trip writes a file per input there.
  scratch = polyinfer::fuzz::makeScratchDirectory("value_proto");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using polyinfer::ValueKind;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const fs::path file = scratch / "fuzz.pb";
  const std::optional<ValueKind> kinds[] = {std::nullopt, ValueKind::Tensor, ValueKind::Sequence,
                                            ValueKind::Map, ValueKind::Optional};
  for (const std::optional<ValueKind>& kind : kinds) {
    polyinfer::NamedValue value;
    try {
      value = polyinfer::io::detail::readValueProtoBytes(bytes, file, kind);
    } catch (const polyinfer::Error&) {
      continue;
    }
    const polyinfer::ValueKind read = value.value.kind();
    polyinfer::io::detail::writeValueProto(file, value.name, value.value);
    const polyinfer::NamedValue back = polyinfer::io::detail::readValueProto(file, read);
    if (back.value.describe() != value.value.describe() || back.name != value.name) std::abort();
  }
  return 0;
}
