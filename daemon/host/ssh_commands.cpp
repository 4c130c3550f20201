#include "host/ssh_commands.hpp"

#include <fmt/format.h>

#include "network/ip_pool.hpp"

namespace lxcprov::host {
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
  if (network::parse_ipv4(std::string(host))) return true;
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

std::string read_command(const std::string& path) {
  // test -L first: cat would follow a symlink someone put in place of the file.
  return fmt::format("exec 2>&1; if [ -L {0} ] || [ ! -f {0} ]; then exit {1}; fi; exec cat -- {0}", path,
                     missing_file_status);
}

std::string replace_command(const std::string& path, mode_t mode, std::optional<uid_t> uid, std::optional<gid_t> gid) {
  const std::string fresh = path + ".lxcprov-new";
  const auto slash = path.rfind('/');
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string owner;
  if (uid || gid)
    owner = fmt::format(" && chown {}:{} {}", uid ? std::to_string(*uid) : "", gid ? std::to_string(*gid) : "", fresh);
  // sync FILE fsyncs that file and sync DIR the directory (coreutils >= 8.24).
  return fmt::format(
      "exec 2>&1; umask 077; rm -f {1} && cat > {1} && chmod {2:o} {1}{3} && sync {1} && mv -f {1} {0} && "
      "sync {4} || {{ rm -f {1}; exit 1; }}",
      path, fresh, mode, owner, dir);
}

std::string run_command(const std::vector<std::string>& argv) { return "exec 2>&1; " + join(argv); }

}  // namespace lxcprov::host
