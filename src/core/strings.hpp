// Small string helpers private to the core library.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace polyinfer::detail {

std::string_view trim(std::string_view text);
std::string toLower(std::string_view text);
/// Splits on `separator`, keeping empty parts.
std::vector<std::string_view> split(std::string_view text, char separator);
/// "a, b, c".
std::string join(const std::vector<std::string>& parts, std::string_view separator = ", ");

}  // namespace polyinfer::detail
