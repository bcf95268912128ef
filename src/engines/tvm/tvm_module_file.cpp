#include "tvm_module_file.hpp"

#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <tvm/ffi/function.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "polyinfer/error.hpp"
#include "tvm_common.hpp"

namespace polyinfer::tvm_engine {

namespace {

constexpr std::string_view kLibraryBinSymbol = "__tvm_ffi__library_bin";

#if defined(__x86_64__)
constexpr std::uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr std::uint16_t kHostMachine = EM_AARCH64;
#else
#error "the tvm engine knows the ELF machine of x86-64 and AArch64 hosts only"
#endif

std::string machineName(std::uint16_t machine) {
  switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "AArch64";
    case EM_386: return "x86 (32-bit)";
    case EM_ARM: return "ARM (32-bit)";
    case EM_RISCV: return "RISC-V";
    default: return "ELF machine " + std::to_string(machine);
  }
}

[[noreturn]] void refuse(const std::string& label, const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": " + label + ": " + what);
}

/// A range of the file, checked against its size (no overflow).
bool within(std::size_t size, std::uint64_t offset, std::uint64_t length) {
  return offset <= size && length <= size - offset;
}

}  // namespace

void checkModuleFile(const std::vector<std::uint8_t>& bytes, const std::string& label) {
  const std::size_t size = bytes.size();
  if (size < EI_NIDENT || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
    refuse(label, "expected a compiled TVM module (a shared library, ELF), got a file without an "
                  "ELF header (" + std::to_string(size) + " bytes)");
  if (bytes[EI_CLASS] != ELFCLASS64 || bytes[EI_DATA] != ELFDATA2LSB)
    refuse(label, "expected a 64-bit little-endian shared library, got an ELF file of class " +
                      std::to_string(bytes[EI_CLASS]) + ", data encoding " +
                      std::to_string(bytes[EI_DATA]));
  if (size < sizeof(Elf64_Ehdr))
    refuse(label, "truncated: " + std::to_string(size) + " bytes, shorter than an ELF header");
  Elf64_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  if (header.e_machine != kHostMachine)
    refuse(label, "compiled for " + machineName(header.e_machine) + ", but this host is " +
                      machineName(kHostMachine) + "; compile the model with a target for this host");
  if (header.e_type != ET_DYN)
    refuse(label, "expected a shared library (ELF type ET_DYN), got ELF type " +
                      std::to_string(header.e_type));
  if (header.e_shentsize != sizeof(Elf64_Shdr) ||
      !within(size, header.e_shoff, std::uint64_t{header.e_shnum} * sizeof(Elf64_Shdr)))
    refuse(label, "truncated or damaged: its section table (" + std::to_string(header.e_shnum) +
                      " sections at offset " + std::to_string(header.e_shoff) +
                      ") lies beyond the file's " + std::to_string(size) + " bytes");

  auto section = [&](std::size_t index) {
    Elf64_Shdr s;
    std::memcpy(&s, bytes.data() + header.e_shoff + index * sizeof(Elf64_Shdr), sizeof s);
    return s;
  };
  std::uint64_t end = 0;  // where the last section with contents ends
  bool exported = false;
  for (std::size_t i = 0; i < header.e_shnum; ++i) {
    const Elf64_Shdr s = section(i);
    if (s.sh_type != SHT_NOBITS) end = std::max<std::uint64_t>(end, s.sh_offset + s.sh_size);
    if (s.sh_type != SHT_DYNSYM) continue;
    if (s.sh_entsize != sizeof(Elf64_Sym) || !within(size, s.sh_offset, s.sh_size) ||
        s.sh_link >= header.e_shnum)
      refuse(label, "truncated or damaged: its dynamic symbol table lies beyond the file");
    const Elf64_Shdr strings = section(s.sh_link);
    if (!within(size, strings.sh_offset, strings.sh_size))
      refuse(label, "truncated or damaged: its symbol names lie beyond the file");
    const std::string_view names(reinterpret_cast<const char*>(bytes.data() + strings.sh_offset),
                                 strings.sh_size);
    for (std::uint64_t k = 0; k < s.sh_size / sizeof(Elf64_Sym) && !exported; ++k) {
      Elf64_Sym symbol;
      std::memcpy(&symbol, bytes.data() + s.sh_offset + k * sizeof(Elf64_Sym), sizeof symbol);
      if (symbol.st_name >= names.size() || symbol.st_shndx == SHN_UNDEF) continue;
      const std::string_view name = names.substr(symbol.st_name);
      exported = name.substr(0, name.find('\0')) == kLibraryBinSymbol;
    }
  }
  if (end > size)
    refuse(label, "truncated: its sections end at byte " + std::to_string(end) +
                      ", but the file has " + std::to_string(size));
  if (!exported)
    refuse(label, "a shared library, but not a compiled TVM module: it does not export " +
                      std::string(kLibraryBinSymbol) +
                      " (what relax.build(...).export_library writes)");
}

tvm::ffi::Module loadModuleFromBytes(const std::vector<std::uint8_t>& bytes,
                                     const std::string& label) {
  // dlopen needs a file; an anonymous one holds exactly the bytes checked.
  const int fd = ::memfd_create("polyinfer-tvm-module", MFD_CLOEXEC);
  if (fd < 0)
    throw Error(ErrorCode::ResourceExhausted, std::string(kEngineName) + ": " + label +
                                                  ": cannot make an in-memory file: " +
                                                  std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(ErrorCode::ResourceExhausted, std::string(kEngineName) + ": " + label +
                                                    ": cannot write the in-memory file: " +
                                                    std::strerror(errno));
    written += static_cast<std::size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  std::lock_guard<std::mutex> lock(tvmStateMutex());
  try {
    auto loader =
        tvm::ffi::Function::GetGlobal("ffi.Module.load_from_file.so");
    if (!loader)
      throw Error(ErrorCode::Unavailable,
                  std::string(kEngineName) + ": tvm-ffi has no loader for shared libraries "
                                             "(global function ffi.Module.load_from_file.so)");
    // The mapping outlives the descriptor, which Closer closes.
    return (*loader)(path, "so").cast<tvm::ffi::Module>();
  } catch (...) {
    rethrowTvm(label + ": cannot load the module", ErrorCode::InvalidArgument);
  }
}

}  // namespace polyinfer::tvm_engine
