#include "container/first_boot.hpp"

#include <sstream>

namespace lxcprov::container {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

}  // namespace

std::string hosts_naming(const std::string& hosts, const std::string& name) {
  std::size_t start = 0;
  while (start < hosts.size()) {
    std::size_t end = hosts.find('\n', start);
    if (end == std::string::npos) end = hosts.size();
    const std::size_t len = end - start;
    if (len > name.size() && hosts.compare(end - name.size(), name.size(), name) == 0 &&
        is_space(hosts[end - name.size() - 1]))
      return hosts;
    start = end + 1;
  }
  std::string out = hosts;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + "127.0.1.1\t" + name + "\n";
}

std::optional<std::string> shadow_with_root_locked(const std::string& shadow) {
  std::size_t start = 0;
  while (start < shadow.size()) {
    if (shadow.compare(start, 5, "root:") == 0) {
      const std::size_t field = start + 5;
      if (field < shadow.size() && shadow[field] == '!') return shadow;
      std::string out = shadow;
      out.insert(field, 1, '!');
      return out;
    }
    std::size_t end = shadow.find('\n', start);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

std::string resolv_conf(const std::vector<std::string>& dns) {
  std::string out;
  for (const auto& ns : dns) out += "nameserver " + ns + "\n";
  return out;
}

std::optional<unsigned> mapped_root(const std::vector<std::string>& idmap, char kind) {
  for (const auto& line : idmap) {
    std::istringstream in(line);
    char k = 0;
    unsigned long inside = 0, outside = 0, count = 0;
    if (!(in >> k >> inside >> outside >> count)) continue;
    if (k == kind && inside == 0 && count > 0 && outside <= 0xfffffffeUL) return static_cast<unsigned>(outside);
  }
  return std::nullopt;
}

}  // namespace lxcprov::container
