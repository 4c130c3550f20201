// IpPool: parsing and validation of the configured IPv4 pool, and choice of the next free
// address. Pure: no I/O, no shared state, so every function is safe from any thread.

#include "network/ip_pool.hpp"

#include <fmt/format.h>

#include <string>

namespace lxcprov::network {

namespace {

// Strict decimal without sign, spaces or leading zeros ("0" itself is fine), so that "010" is
// never read as octal or decimal depending on who parses it (inet_aton vs. inet_pton differ).
std::optional<uint32_t> parse_decimal(std::string_view text, std::size_t max_digits, uint32_t max_value) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > max_value) return std::nullopt;
  return value;
}

uint32_t netmask(int prefix) {
  // prefix is validated to 8..30, so the shift is never by 32 (undefined).
  return ~uint32_t{0} << (32 - prefix);
}

Error config_error(std::string_view key, std::string_view rule) {
  std::string message(key);
  message += ": ";
  message += rule;
  return make_error(Errc::invalid_argument, std::move(message));
}

}  // namespace

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t address = 0;
  for (int i = 0; i < 4; ++i) {
    std::size_t dot = text.find('.');
    bool last = i == 3;
    if (last != (dot == std::string_view::npos)) return std::nullopt;
    std::string_view part = last ? text : text.substr(0, dot);
    std::optional<uint32_t> octet = parse_decimal(part, 3, 255);
    if (!octet) return std::nullopt;
    address = (address << 8) | *octet;
    if (!last) text.remove_prefix(dot + 1);
  }
  return address;
}

std::string format_ipv4(uint32_t address) {
  std::string out;
  out.reserve(15);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out += std::to_string((address >> shift) & 0xFFu);
    if (shift != 0) out += '.';
  }
  return out;
}

Result<IpPool> IpPool::parse(std::string_view subnet, std::string_view gateway, std::string_view first,
                             std::string_view last) {
  std::size_t slash = subnet.find('/');
  if (slash == std::string_view::npos) {
    return config_error("network.subnet", "must be ADDRESS/PREFIX, e.g. 10.0.3.0/24");
  }
  std::optional<uint32_t> network = parse_ipv4(subnet.substr(0, slash));
  if (!network) return config_error("network.subnet", "address is not a dotted-quad IPv4 address");
  std::optional<uint32_t> prefix = parse_decimal(subnet.substr(slash + 1), 2, 99);
  // Below /8 the pool would be absurdly large; above /30 there is no room for gateway + hosts.
  if (!prefix || *prefix < 8 || *prefix > 30) {
    return config_error("network.subnet", "prefix length must be a decimal number from 8 to 30");
  }

  IpPool pool;
  pool.prefix_ = static_cast<int>(*prefix);
  uint32_t mask = netmask(pool.prefix_);
  if ((*network & ~mask) != 0) {
    return config_error("network.subnet", "host bits of the address must be zero (use the network address)");
  }
  pool.network_ = *network;
  uint32_t broadcast = pool.network_ | ~mask;

  // Each of gateway/first/last must be a usable host address of the subnet.
  auto host = [&](std::string_view key, std::string_view text) -> Result<uint32_t> {
    std::optional<uint32_t> a = parse_ipv4(text);
    if (!a) return config_error(key, "is not a dotted-quad IPv4 address");
    if ((*a & mask) != pool.network_) return config_error(key, "must be inside network.subnet");
    if (*a == pool.network_) return config_error(key, "must not be the network address of network.subnet");
    if (*a == broadcast) return config_error(key, "must not be the broadcast address of network.subnet");
    return *a;
  };

  Result<uint32_t> g = host("network.gateway", gateway);
  if (!g) return g.error();
  Result<uint32_t> f = host("network.first", first);
  if (!f) return f.error();
  Result<uint32_t> l = host("network.last", last);
  if (!l) return l.error();
  if (*f > *l) return config_error("network.last", "must not be lower than network.first");

  pool.gateway_ = *g;
  pool.first_ = *f;
  pool.last_ = *l;
  return pool;
}

std::optional<uint32_t> IpPool::pick(const std::set<uint32_t>& used) const {
  // Walk the range and the sorted `used` set together: linear in both, and no overflow since
  // last_ is never the broadcast address and so never 0xFFFFFFFF.
  auto it = used.lower_bound(first_);
  for (uint32_t a = first_; a <= last_; ++a) {
    while (it != used.end() && *it < a) ++it;
    if (it != used.end() && *it == a) continue;
    if (a == gateway_) continue;
    return a;
  }
  return std::nullopt;
}

std::string IpPool::cidr(uint32_t address) const { return format_ipv4(address) + "/" + std::to_string(prefix_); }

}  // namespace lxcprov::network
