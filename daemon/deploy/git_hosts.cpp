#include "deploy/git_hosts.hpp"

#include "network/ip_pool.hpp"

namespace lxcprov::deploy {
namespace {

bool dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  bool all_digits = true;  // of the whole name: "10.0.0" is a broken address, not a host name
  char prev = '.';
  for (char c : name) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      const bool digit = c >= '0' && c <= '9';
      const bool ok = (c >= 'a' && c <= 'z') || digit || c == '-';
      if (!ok || (label == 0 && c == '-') || ++label > 63) return false;
      all_digits = all_digits && digit;
    }
    prev = c;
  }
  return label != 0 && prev != '-' && !all_digits;
}

}  // namespace

std::optional<GitHost> parse_git_host(std::string_view text) {
  GitHost out;
  std::string_view host = text;
  if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    const std::string_view digits = text.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 || digits.front() == '0') return std::nullopt;
    uint32_t port = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port > 65535) return std::nullopt;
    out.port = static_cast<uint16_t>(port);
  }
  if (!network::parse_ipv4(host) && !dns_name(host)) return std::nullopt;
  out.host = std::string(host);
  return out;
}

bool git_host_allowed(const GitHost& authority, const std::vector<std::string>& allowed) {
  for (const auto& entry : allowed) {
    if (auto host = parse_git_host(entry); host && *host == authority) return true;
  }
  return false;
}

}  // namespace lxcprov::deploy
