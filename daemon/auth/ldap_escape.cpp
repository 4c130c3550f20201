#include "auth/ldap_escape.hpp"
#include "common/bytes.hpp"

#include <fmt/format.h>

namespace lxcprov::auth {

std::string escape_ldap_filter(std::string_view value) {
  std::string out;
  for (unsigned char c : bytes(value)) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f)
      out += fmt::format("\\{:02x}", c);
    else
      out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string escape_ldap_dn(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    const bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' ||
                         c == '=' || (i == 0 && (c == '#' || c == ' ')) || (i + 1 == value.size() && c == ' ');
    if (c < 0x20 || c >= 0x7f)
      out += fmt::format("\\{:02x}", c);
    else if (special)
      out += '\\', out.push_back(static_cast<char>(c));
    else
      out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string fill_ldap_pattern(std::string_view pattern, std::string_view user, std::string_view dn) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size() && (pattern[i + 1] == 'u' || pattern[i + 1] == 'd')) {
      out += pattern[i + 1] == 'u' ? user : dn;
      ++i;
    } else {
      out.push_back(pattern[i]);
    }
  }
  return out;
}

}  // namespace lxcprov::auth
