// Trimming LibTorch's long error messages to the line that matters
// (summarizeTorchMessage, torch_common.hpp).
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "polyinfer/plugin_kit.hpp"
#include "torch_common.hpp"

namespace polyinfer::torch_engine {

namespace {

using plugin::trim;

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

// "RuntimeError: ...", "IndexError: ...", "torch.jit.Error: ..." — a Python-style
// exception line as the TorchScript interpreter prints the original error.
bool isExceptionLine(std::string_view line) {
  const std::size_t colon = line.find(": ");
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view kind = line.substr(0, colon);
  if (!(kind.ends_with("Error") || kind.ends_with("Exception"))) return false;
  for (char c : kind)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_')) return false;
  return true;
}

// Copies `text`, replacing control characters and bytes that are not valid
// UTF-8 (a corrupt model's bytes end up in some messages) with '?'.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    if (c >= 0x20 && c < 0x7f) length = 1;
    else if (c == '\t') length = 1;
    else if (c >= 0xc2 && c <= 0xdf) length = 2;
    else if (c >= 0xe0 && c <= 0xef) length = 3;
    else if (c >= 0xf0 && c <= 0xf4) length = 4;
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string summarizeTorchMessage(std::string_view message, std::size_t maxLength) {
  const std::vector<std::string_view> all = lines(message);
  std::string_view chosen;
  if (message.find("TorchScript interpreter") != std::string_view::npos ||
      message.find("Traceback of TorchScript") != std::string_view::npos) {
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      const std::string_view line = trim(*it);
      if (isExceptionLine(line)) {
        chosen = line;
        break;
      }
    }
  }
  if (chosen.empty())
    for (std::string_view line : all)
      if (!trim(line).empty()) {
        chosen = trim(line);
        break;
      }
  // Caffe2-style checks prefix "[enforce fail at file.cc:148] . ".
  if (chosen.starts_with("[enforce fail at ")) {
    const std::size_t close = chosen.find("] ");
    if (close != std::string_view::npos) {
      chosen.remove_prefix(close + 2);
      if (chosen.starts_with(". ")) chosen.remove_prefix(2);
    }
  }
  // Parser errors end in "... here:" followed by a source excerpt.
  if (chosen.ends_with(" here:")) chosen.remove_suffix(6);
  while (!chosen.empty() && (chosen.back() == ':' || chosen.back() == ' ')) chosen.remove_suffix(1);
  if (chosen.empty()) return "(no message)";
  std::string out = printable(chosen);
  if (out.size() > maxLength) {
    out.resize(maxLength);
    out += "...";
  }
  return out;
}

}  // namespace polyinfer::torch_engine
