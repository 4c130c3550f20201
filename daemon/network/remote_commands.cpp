#include "network/remote_commands.hpp"

#include <fmt/format.h>

#include "network/ip_pool.hpp"

namespace lxcprov::network {
namespace {

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '/' || c == '=' || c == ':' || c == ',' || c == '@' || c == '+' || c == '%' || c == '-';
}

bool base64_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

}  // namespace

bool shell_safe_word(std::string_view word) {
  if (word.empty() || word.size() > 255) return false;
  for (char c : word)
    if (!word_char(c)) return false;
  return true;
}

bool safe_absolute_path(std::string_view path) {
  if (path.size() < 2 || path.front() != '/' || path.back() == '/' || !shell_safe_word(path)) return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool safe_command(const std::vector<std::string>& argv) {
  if (argv.empty() || argv.size() > 32 || argv.front().front() == '-') return false;
  for (const auto& a : argv)
    if (!shell_safe_word(a)) return false;
  return true;
}

bool valid_host_key_pin(std::string_view pin) {
  constexpr std::string_view prefix = "SHA256:";
  if (pin.size() != prefix.size() + 43 || pin.substr(0, prefix.size()) != prefix) return false;
  for (char c : pin.substr(prefix.size()))
    if (!base64_char(c)) return false;
  return true;
}

bool valid_ssh_user(std::string_view user) {
  if (user.empty() || user.size() > 32 || user.front() == '-' || (user.front() >= '0' && user.front() <= '9'))
    return false;
  for (char c : user)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

bool valid_ssh_host(std::string_view host) {
  if (parse_ipv4(std::string(host))) return true;
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : host) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok || (label == 0 && c == '-') || ++label > 63) return false;
    }
    prev = c;
  }
  return label != 0 && prev != '-';
}

RemoteNginxCommands remote_nginx_commands(const std::string& f, const std::vector<std::string>& test_command,
                                          const std::vector<std::string>& reload_command) {
  const std::string fresh = f + ".lxcprov-new", old = f + ".lxcprov-old";
  RemoteNginxCommands c;
  // cp rather than mv for the backup: the include must exist at every moment, or an nginx reload
  // triggered by someone else in between would fail on the missing file.
  c.upload = fmt::format(
      "exec 2>&1; umask 022; cat > {1} && sync {1} && if [ -e {0} ]; then cp -p {0} {2}; else : > {2}; fi && "
      "mv -f {1} {0} || {{ rm -f {1}; exit 1; }}",
      f, fresh, old);
  c.test = "exec 2>&1; " + join(test_command);
  c.restore = fmt::format("exec 2>&1; mv -f {1} {0}", f, old);
  c.reload = fmt::format("exec 2>&1; {} && rm -f {}", join(reload_command), old);
  return c;
}

}  // namespace lxcprov::network
