// A scratch directory for fuzz targets that must hand their input to a reader
// as a file: one per process, in memory (/dev/shm) where there is one, which
// is some 30 times faster than a disk-backed /tmp; removed at exit.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace polyinfer::fuzz {

/// Made once, from LLVMFuzzerInitialize: polyinfer_fuzz_<target>_<pid>.
inline const std::filesystem::path& makeScratchDirectory(const std::string& target) {
  namespace fs = std::filesystem;
  static fs::path scratch;
  const std::string name = "polyinfer_fuzz_" + target + "_" + std::to_string(::getpid());
  std::error_code ec;
  scratch = fs::path("/dev/shm") / name;
  if (!fs::create_directories(scratch, ec) || ec) {
    scratch = fs::temp_directory_path() / name;
    fs::remove_all(scratch);
    fs::create_directories(scratch);
  }
  std::atexit([] {
    std::error_code ignored;
    fs::remove_all(scratch, ignored);
  });
  return scratch;
}

}  // namespace polyinfer::fuzz
