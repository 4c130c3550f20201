#include "auth/password_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "auth/authenticator.hpp"
#include "auth/password_hash.hpp"

namespace lxcprov::auth {

Result<std::map<std::string, std::string>> parse_password_file(std::string_view text) {
  std::map<std::string, std::string> users;
  size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon + 1 == line.size())
      return make_error(Errc::invalid_argument, fmt::format("password file line {}: expected name:hash", line_no));
    users.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return users;
}

std::string render_password_file(const std::map<std::string, std::string>& users) {
  std::string out = "# lxcprov local users: managed by lxcprovctl user add|passwd|del\n";
  for (const auto& [name, hash] : users) out += fmt::format("{}:{}\n", name, hash);
  return out;
}

Result<std::map<std::string, std::string>> load_password_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::map<std::string, std::string>{};
    return make_error(Errc::io, "password file cannot be read");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_password_file(ss.str());
}

Status save_password_file(const std::string& path, const std::map<std::string, std::string>& users) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error(Errc::io, fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  const std::string text = render_password_file(users);
  bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error(Errc::io, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  return {};
}

Result<bool> PasswordFileAuthenticator::verify(const std::string& username, const Secret& password) {
  auto users = load_password_file(path_);
  if (!users) return users.error();
  auto it = users->find(username);
  if (it == users->end()) {
    burn_password_check(password);
    return false;
  }
  return verify_password(password, it->second);
}

}  // namespace lxcprov::auth
