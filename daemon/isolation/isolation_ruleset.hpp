#pragma once
// Isolation on the bridge: the nftables rules that keep containers apart from each other and from
// the hypervisor, rendered from state like the port forwards (network/nft_ruleset.hpp). Pure: the
// text is applied as one (network/nft_applier.hpp), which nftables runs as one
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
#include <map>
#include <string>
#include <vector>

#include "network/addresses.hpp"
#include "network/nft_elements.hpp"

namespace lxcprov::isolation {

struct IsolationOptions {
  std::string table = "lxcprov_iso";  ///< validated: valid_nft_table_name
  std::string bridge = "lxcprov0";    ///< validated: valid_interface_name
  uint32_t gateway = 0;               ///< the host's address on the bridge (host order)
  uint32_t subnet = 0;                ///< the bridge subnet's network address (host order)
  int prefix = 24;
  /// Frames between containers of different owners are dropped (and routed hairpin refused).
  bool isolate_owners = true;
  std::vector<network::HostPort> host_ports;     ///< host services reachable on the gateway address
  bool masquerade = true;                        ///< NAT the subnet's traffic leaving through another interface
  std::vector<network::Cidr> deny_destinations;  ///< refused even through the NAT (e.g. 169.254.0.0/16)
};

struct IsolatedContainer {
  std::string name;   ///< validated DNS label (not rendered; for the caller's logs)
  std::string owner;  ///< user name; never rendered, only numbered
  uint32_t ip = 0;    ///< the container's address (from the pool)
  std::string mac;    ///< "00:16:3e:xx:xx:xx" lowercase; an entry with a malformed one is left out
  std::string veth;   ///< host-side veth name; left out unless valid and under veth_prefix_for
};

/// Owner name -> the mark its ports share (1...). Only equality matters, so numbers stay what they
/// were while an owner has containers, and a change adds or deletes only its own container's
/// elements.
using OwnerNumbers = std::map<std::string, uint32_t>;

/// The owners of `containers`: those in `previous` keep their number, new ones get the lowest free
/// numbers in name order (with no previous: 1..N in name order). Owners without containers go.
OwnerNumbers number_owners(const std::vector<IsolatedContainer>& containers, const OwnerNumbers& previous);

/// The bridge table's elements: `sources` (port . MAC . address), and with isolate_owners
/// `port_owner` (port : owner number) and `owner_ports` (port . owner number). A container left out
/// by the rule below, or whose owner has no number, is in none of them.
network::NftTableElements isolation_elements(const IsolationOptions& options,
                                             const std::vector<IsolatedContainer>& containers,
                                             const OwnerNumbers& owners);

/// Both tables, whole, with these bridge table elements.
std::string render_isolation_tables(const IsolationOptions& options, const network::NftTableElements& elements);

/// The whole `nft -f` file for both tables. Entries are sorted by address and owners numbered 1..N
/// in name order, so equal state gives equal text. A container whose mac or veth is malformed is
/// left out of every set: its port can then send nothing (fail closed).
std::string render_isolation_ruleset(const IsolationOptions& options, std::vector<IsolatedContainer> containers);

/// An `nft -f` file that removes both tables (no error when they are absent).
std::string render_isolation_removal(const std::string& table);

}  // namespace lxcprov::isolation
