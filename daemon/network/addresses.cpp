#include "network/addresses.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lxcprov::network {
namespace {

bool lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string hwaddr_for(uint32_t address) {
  return fmt::format("00:16:3e:{:02x}:{:02x}:{:02x}", (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff);
}

std::string veth_name_for(uint32_t address) { return fmt::format("vlp{:08x}", address); }

std::string veth_prefix_for(uint32_t subnet, int prefix) {
  const int digits = std::clamp(prefix, 0, 32) / 4;
  return "vlp" + fmt::format("{:08x}", subnet).substr(0, static_cast<size_t>(digits));
}

bool valid_interface_name(const std::string& name) {
  if (name.empty() || name.size() > 15) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

bool valid_mac(const std::string& mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i)
    if (i % 3 == 2 ? mac[i] != ':' : !lower_hex(mac[i])) return false;
  return true;
}

bool valid_domain(const std::string& domain) {
  if (domain.empty() || domain.size() > 190) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : domain) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok || (label == 0 && c == '-') || ++label > 63) return false;
    }
    prev = c;
  }
  return label != 0 && prev != '-';
}

bool valid_nft_table_name(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto address = parse_ipv4(text.substr(0, slash));
  const std::string_view digits = text.substr(slash + 1);
  if (!address || digits.empty() || digits.size() > 2 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  const int prefix = digits.size() == 1 ? digits[0] - '0' : (digits[0] - '0') * 10 + (digits[1] - '0');
  if (prefix > 32) return std::nullopt;
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  if ((*address & ~mask) != 0) return std::nullopt;
  return Cidr{*address, prefix};
}

std::string format_cidr(const Cidr& cidr) { return fmt::format("{}/{}", format_ipv4(cidr.address), cidr.prefix); }

}  // namespace lxcprov::network
