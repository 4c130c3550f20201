#include "auth/password_file.hpp"

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

Result<std::map<std::string, std::string>> load_password_file(host::Host& host, const std::string& path) {
  auto text = host.read_file(path);
  if (!text) {
    if (text.error().code == Errc::not_found) return std::map<std::string, std::string>{};
    return make_error(Errc::io, "password file cannot be read");
  }
  return parse_password_file(*text);
}

Status save_password_file(host::Host& host, const std::string& path, const std::map<std::string, std::string>& users) {
  return host.replace_file(path, render_password_file(users), {0600, {}, {}});
}

Result<bool> PasswordFileAuthenticator::verify(const std::string& username, const Secret& password) {
  auto users = load_password_file(host_, path_);
  if (!users) return users.error();
  auto it = users->find(username);
  if (it == users->end()) {
    burn_password_check(password);
    return false;
  }
  return verify_password(password, it->second);
}

}  // namespace lxcprov::auth
