#include "value_args.hpp"

#include <system_error>

#include "input_spec.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/tensor_io.hpp"

namespace polyinfer::cli {
namespace fs = std::filesystem;

namespace {

/// The proto's name of a .pb file (read without a declared type), or "" when
/// it has none or does not read that way: it is read again, typed, later.
std::string protoName(const fs::path& file) {
  if (file.extension() != ".pb") return {};
  try {
    return io::readValueFile(file).name;
  } catch (const Error&) {
    return {};
  }
}

std::string described(const std::vector<ValueInfo>& infos) {
  std::string text;
  for (const ValueInfo& info : infos) text += (text.empty() ? "" : ", ") + info.describe();
  return text.empty() ? std::string("none") : text;
}

}  // namespace

std::vector<LoadedValue> loadValueArgs(const std::vector<std::string>& args, const std::string& layoutPrefix,
                                       const std::vector<ValueInfo>& infos, bool requireAll) {
  std::vector<DataFileArg> files = dataFileArgs(args, layoutPrefix);
  // A .pb's name field picks its input/output as for tensors.
  for (DataFileArg& f : files)
    if (!f.explicitName) f.name = protoName(f.file);

  const std::string declared = "the model's " + layoutPrefix + "s are " + std::to_string(infos.size()) +
                               ": " + described(infos);
  if (files.size() > infos.size())
    throw Error(ErrorCode::InvalidArgument,
                "got " + std::to_string(files.size()) + " " + layoutPrefix + " files, but " + declared);
  std::vector<const DataFileArg*> slots(infos.size(), nullptr);
  std::vector<const DataFileArg*> positional;
  for (const DataFileArg& f : files) {
    std::size_t k = 0;
    while (k < infos.size() && (f.name.empty() || infos[k].name != f.name)) ++k;
    if (k == infos.size()) {
      if (f.explicitName)
        throw Error(ErrorCode::NotFound, "no " + layoutPrefix + " named '" + f.name + "'; " + declared);
      positional.push_back(&f);
      continue;
    }
    if (slots[k])
      throw Error(ErrorCode::InvalidArgument, layoutPrefix + " '" + f.name + "' given twice ('" +
                                                  slots[k]->file.string() + "' and '" + f.file.string() + "')");
    slots[k] = &f;
  }
  auto next = positional.begin();
  for (auto& slot : slots)
    if (!slot && next != positional.end()) slot = *next++;

  std::vector<LoadedValue> loaded;
  for (std::size_t k = 0; k < infos.size(); ++k) {
    if (!slots[k]) {
      if (!requireAll) continue;
      throw Error(ErrorCode::InvalidArgument, "no data for " + layoutPrefix + " '" + infos[k].name + "' " +
                                                  infos[k].type.describe() + " (got " +
                                                  std::to_string(files.size()) + " files); " + declared);
    }
    loaded.push_back({k, io::readValueFile(slots[k]->file, infos[k].type).value, slots[k]->file});
  }
  return loaded;
}

}  // namespace polyinfer::cli
