#pragma once
// Names and addresses of lxcprov's network: a container's MAC and host-side veth name follow from
// its IPv4 address (so the isolation rules can name both before it exists), and the checks for
// the names that end up in rendered nft and nginx files. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "network/ip_pool.hpp"

namespace lxcprov::network {

/// An IPv4 network: the address with its host bits zero, and the prefix length.
struct Cidr {
  uint32_t address = 0;
  int prefix = 32;
  bool operator==(const Cidr&) const = default;
};

/// "10.47.1.0/24": the network address itself (no host bits set), so a rule means what the text
/// says; nullopt otherwise.
std::optional<Cidr> parse_cidr(std::string_view text);
/// "10.47.1.0/24".
std::string format_cidr(const Cidr& cidr);
/// 127.0.0.0/8 (host order).
constexpr bool is_loopback(uint32_t address) { return (address >> 24) == 127; }

/// A host service containers may use on the gateway address, e.g. {"udp", 53}.
struct HostPort {
  std::string proto;  ///< "tcp" or "udp"
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

/// "00:16:3e:xx:xx:xx" from the low 24 bits of the address: unique within a pool, so a
/// container's MAC follows from its address (and the isolation rules can name both).
std::string hwaddr_for(uint32_t address);

/// "vlp" + the address as 8 lowercase hex digits, e.g. 10.47.0.10 -> "vlp0a2f000a" (11 characters,
/// under IFNAMSIZ). Unique per host: address pools of daemons on one host never overlap.
std::string veth_name_for(uint32_t address);
/// The name prefix every veth_name_for() of the subnet shares: "vlp" + its first prefix/4 hex
/// digits, e.g. 10.47.0.0/24 -> "vlp0a2f00".
std::string veth_prefix_for(uint32_t subnet, int prefix);

/// 1-15 characters of a-z A-Z 0-9 _ . - (what setup-host.sh accepts): safe between quotes in nft.
bool valid_interface_name(const std::string& name);
/// "00:16:3e:0a:0b:0c": six lowercase hex pairs.
bool valid_mac(const std::string& mac);

/// True for a domain the renderer accepts: dot-separated labels of a-z 0-9 '-', at most 190
/// characters (a 63-character container name must still fit a 253-character host name).
bool valid_domain(const std::string& domain);

/// True for a table name the renderer accepts: 1-32 characters of a-z, 0-9 and '_'.
bool valid_nft_table_name(const std::string& name);

}  // namespace lxcprov::network
