#pragma once
// IpPool: the static IPv4 addresses lxcprov hands out, from a configured subnet. Pure.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lxcprov::network {

/// Parses a dotted quad ("10.0.3.7"); nullopt unless exactly four decimal octets 0-255.
std::optional<uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(uint32_t address);

class IpPool {
 public:
  /// subnet "10.0.3.0/24", gateway "10.0.3.1", first/last host addresses handed out
  /// ("10.0.3.10", "10.0.3.254"). Errors name the config key ("network.subnet", ...).
  static Result<IpPool> parse(std::string_view subnet, std::string_view gateway, std::string_view first,
                              std::string_view last);

  /// The lowest address in [first, last] not in `used` and not the gateway, or nullopt.
  std::optional<uint32_t> pick(const std::set<uint32_t>& used) const;

  uint32_t gateway() const { return gateway_; }
  /// The subnet's network address.
  uint32_t subnet() const { return network_; }
  int prefix_length() const { return prefix_; }
  uint32_t first() const { return first_; }
  uint32_t last() const { return last_; }
  /// "10.0.3.10/24"
  std::string cidr(uint32_t address) const;

 private:
  uint32_t network_ = 0;
  int prefix_ = 24;
  uint32_t gateway_ = 0;
  uint32_t first_ = 0;
  uint32_t last_ = 0;
};

}  // namespace lxcprov::network
