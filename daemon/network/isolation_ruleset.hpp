#pragma once
// Isolation on the bridge: the nftables rules that keep containers apart from each other and from
// the hypervisor, rendered from state like the port forwards (network/nft_ruleset.hpp). Pure: the
// text is applied with one `nft -f` (edge/nft_applier.hpp), which nftables runs as one
// transaction, so the kernel holds the old rules or the new ones, never a mix.
//
// Two tables of one name, `table bridge T` (frames between the bridge's ports) and `table inet T`
// (what reaches the host and leaves through it). Each is declared after `add table` + `delete
// table`, so applying replaces both and touches nothing else.
//
// A container's port is found by name, not by bridge: lxcprov names every host-side veth after the
// container's address (veth_name_for), so all ports of one address pool share a name prefix
// (veth_prefix_for). Matching that prefix scopes the bridge table to this daemon's containers on
// kernels without `meta ibrname` (nft_meta_bridge), and leaves other bridges and other daemons'
// pools alone.

#include <cstdint>
#include <string>
#include <vector>

namespace lxcprov::network {

/// A host service containers may use on the gateway address, e.g. {"udp", 53}.
struct HostPort {
  std::string proto;  ///< "tcp" or "udp"
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

/// An IPv4 network: the address with its host bits zero, and the prefix length.
struct Cidr {
  uint32_t address = 0;
  int prefix = 32;
  bool operator==(const Cidr&) const = default;
};

struct IsolationOptions {
  std::string table = "lxcprov_iso";  ///< validated: valid_nft_table_name
  std::string bridge = "lxcprov0";    ///< validated: valid_interface_name
  uint32_t gateway = 0;               ///< the host's address on the bridge (host order)
  uint32_t subnet = 0;                ///< the bridge subnet's network address (host order)
  int prefix = 24;
  /// Frames between containers of different owners are dropped (and routed hairpin refused).
  bool isolate_owners = true;
  std::vector<HostPort> host_ports;   ///< host services reachable on the gateway address
  bool masquerade = true;             ///< NAT the subnet's traffic leaving through another interface
  std::vector<Cidr> deny_destinations;  ///< refused even through the NAT (e.g. 169.254.0.0/16)
};

struct IsolatedContainer {
  std::string name;   ///< validated DNS label (not rendered; for the caller's logs)
  std::string owner;  ///< user name; never rendered, only numbered
  uint32_t ip = 0;    ///< the container's address (from the pool)
  std::string mac;    ///< "00:16:3e:xx:xx:xx" lowercase; an entry with a malformed one is left out
  std::string veth;   ///< host-side veth name; left out unless valid and under veth_prefix_for
};

/// The whole `nft -f` file for both tables. Entries are sorted by address and owners numbered 1..N
/// in name order, so equal state gives equal text. A container whose mac or veth is malformed is
/// left out of every set: its port can then send nothing (fail closed).
std::string render_isolation_ruleset(const IsolationOptions& options, std::vector<IsolatedContainer> containers);

/// An `nft -f` file that removes both tables (no error when they are absent).
std::string render_isolation_removal(const std::string& table);

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

}  // namespace lxcprov::network
