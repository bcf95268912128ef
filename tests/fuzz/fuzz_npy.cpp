// libFuzzer target: the .npy reader (io::readNpy on bytes in memory, the
// same code it runs on a file's contents). Only polyinfer::Error may come
// out; an allocation over fuzz.sh's -malloc_limit_mb is a finding, so every
// size the header declares must be checked against the bytes there are.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "io_util.hpp"
#include "polyinfer/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const polyinfer::Tensor t = polyinfer::io::detail::readNpyBytes(bytes, "fuzz.npy");
    // What was read fits in what was given (strings aside: their elements
    // are std::string, but each came from the file's bytes).
    if (t.dtype() != polyinfer::DataType::String && t.byteSize() > size) std::abort();
  } catch (const polyinfer::Error&) {
  }
  return 0;
}
