#pragma once
// quoted(): text a user gave, shown inside a message: in double quotes, with everything outside
// printable ASCII (and the quote and backslash) escaped as \xNN or \", so that it cannot drive
// the terminal that prints it. Pure.

#include <string>
#include <string_view>

namespace lxcprov {

inline std::string quoted(std::string_view text) {
  constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace lxcprov
