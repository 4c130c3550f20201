#include "wazuh/enrollment.hpp"
#include "common/bytes.hpp"

#include <cctype>

#include <fmt/format.h>

namespace lxcprov::wazuh {
namespace {

bool is_ip_text(std::string_view ip) {
  if (ip.empty() || ip.size() > 64) return false;
  if (ip == "any") return true;
  for (unsigned char ch : bytes(ip))
    if (!std::isxdigit(ch) && ch != '.' && ch != ':' && ch != '/') return false;
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (unsigned char ch : bytes(s))
    if (!std::isdigit(ch)) return false;
  return true;
}

bool key_text(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (unsigned char ch : bytes(s))
    if (!std::isalnum(ch) && ch != '+' && ch != '/' && ch != '=') return false;
  return true;
}

// The manager's reason, made safe for logs and the client: printable ASCII, at most 200 chars.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char ch : bytes(s.substr(0, 200))) out += (ch >= 0x20 && ch < 0x7f) ? static_cast<char>(ch) : '?';
  return out;
}

}  // namespace

bool valid_agent_name(std::string_view name) {
  if (name.size() < 2 || name.size() > 128) return false;
  for (unsigned char ch : bytes(name))
    if (!std::isalnum(ch) && ch != '.' && ch != '_' && ch != '-') return false;
  return true;
}

Result<Secret> render_request(std::string_view agent_name, std::string_view ip, const Secret& password) {
  if (!valid_agent_name(agent_name)) return make_error(Errc::invalid_argument, "not a valid Wazuh agent name");
  if (!ip.empty() && !is_ip_text(ip)) return make_error(Errc::invalid_argument, "not a valid agent address");
  std::string line;
  if (!password.empty()) {
    const auto p = password.reveal();
    for (unsigned char ch : bytes(p))
      if (ch < 0x20 || ch == 0x7f)
        return make_error(Errc::invalid_argument, "the enrollment password contains a control character");
    if (p.front() == ' ' || p.back() == ' ')
      return make_error(Errc::invalid_argument, "the enrollment password starts or ends with a space");
    line = "OSSEC PASS: ";
    line += p;
    line += ' ';
  }
  line += fmt::format("OSSEC A:'{}'", agent_name);
  if (!ip.empty()) line += fmt::format(" IP:'{}'", ip);
  line += '\n';
  Secret out(line);
  std::fill(line.begin(), line.end(), '\0');  // the password was in it
  return out;
}

Result<Enrollment> parse_reply(std::string_view reply, std::string_view expected_name) {
  // authd ends its answer with at most one newline; anything after it is not ours to accept.
  if (!reply.empty() && reply.back() == '\n') reply.remove_suffix(1);
  if (reply.find_first_of("\r\n") != std::string_view::npos || reply.find('\0') != std::string_view::npos)
    return make_error(Errc::unavailable, "the Wazuh manager's answer is not one line");
  if (reply.starts_with("ERROR:")) {
    std::string_view why = reply.substr(6);
    while (!why.empty() && why.front() == ' ') why.remove_prefix(1);
    const std::string msg = "the Wazuh manager refused the enrollment: " + printable(why);
    if (why.starts_with("Duplicate agent name")) return make_error(Errc::conflict, msg);
    if (why.starts_with("Invalid password")) return make_error(Errc::permission_denied, msg);
    return make_error(Errc::unavailable, msg);
  }
  constexpr std::string_view head = "OSSEC K:'";
  if (!reply.starts_with(head) || reply.size() < head.size() + 1 || reply.back() != '\'')
    return make_error(Errc::unavailable, "the Wazuh manager's answer is not an enrollment key");
  std::string_view body = reply.substr(head.size(), reply.size() - head.size() - 1);
  std::string_view fields[4];
  for (int i = 0; i < 4; ++i) {
    const size_t sp = i < 3 ? body.find(' ') : body.size();
    if (sp == std::string_view::npos)
      return make_error(Errc::unavailable, "the Wazuh manager's key has too few fields");
    fields[i] = body.substr(0, sp);
    body = i < 3 ? body.substr(sp + 1) : std::string_view{};
  }
  if (fields[3].find(' ') != std::string_view::npos || fields[3].find('\'') != std::string_view::npos)
    return make_error(Errc::unavailable, "the Wazuh manager's key has too many fields");
  if (!all_digits(fields[0])) return make_error(Errc::unavailable, "the Wazuh manager's agent id is not a number");
  if (fields[1] != expected_name)
    return make_error(Errc::unavailable, "the Wazuh manager answered for another agent name");
  if (!is_ip_text(fields[2])) return make_error(Errc::unavailable, "the Wazuh manager's agent address is malformed");
  if (!key_text(fields[3])) return make_error(Errc::unavailable, "the Wazuh manager's agent key is malformed");
  return Enrollment{std::string(fields[0]), std::string(fields[1]), std::string(fields[2]),
                    Secret(std::string(fields[3]))};
}

Secret client_keys(const Enrollment& e) {
  std::string line = fmt::format("{} {} {} ", e.id, e.name, e.ip);
  line += e.key.reveal();
  line += '\n';
  Secret out(line);
  std::fill(line.begin(), line.end(), '\0');
  return out;
}

}  // namespace lxcprov::wazuh
