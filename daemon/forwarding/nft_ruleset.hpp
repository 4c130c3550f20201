#pragma once
// The port forwards as one nftables table, rendered from state. Pure: the text is applied by an
// edge (network/nft_applier.hpp) as one text, which nftables runs as one transaction, so
// the kernel holds either the old table or the new one, never a half of each.
//
// The file starts with `add table` + `delete table` (the add makes the delete succeed when the
// table is absent), then declares the whole table again: applying it replaces every rule of
// lxcprov's table and touches nothing else in the ruleset. Applying the same state twice gives the
// same table, so a restart or a crash converges by applying once. The forwards themselves are
// elements of two DNAT maps, so between whole applies a create or delete only adds or deletes its
// own elements (network/nft_elements.hpp).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "network/addresses.hpp"
#include "network/nft_elements.hpp"

namespace lxcprov::forwarding {

struct Forward {
  std::string container;  ///< validated DNS label (used in a rule comment)
  std::string service;    ///< canonical catalog name, e.g. "SSH" (rule comment)
  std::string proto;      ///< "tcp" or "udp"
  uint16_t public_port = 0;
  uint32_t ip = 0;  ///< the container's address (from the pool)
  uint16_t container_port = 0;
};

struct NftOptions {
  std::string table = "lxcprov";  ///< validated: 1-32 of a-z 0-9 _
  /// Match only this host address (host order); 0 = any local address except 127.0.0.0/8.
  uint32_t public_address = 0;
  uint32_t subnet = 0;  ///< the bridge subnet's network address (host order)
  int prefix = 24;
  bool masquerade = true;  ///< hairpin NAT: a container using another's forward
  /// Also NAT the subnet's traffic to the outside. False when the isolation tables do it
  /// (network/isolation_ruleset.hpp), which they do with forwards off too.
  bool masquerade_egress = true;
  /// A fleet entry's: the other nodes' container subnets. A forward to a container there leaves
  /// with this host's address, so the container's replies come back through this host (which
  /// undoes the DNAT) instead of taking its own node's way out.
  std::vector<network::Cidr> remote_subnets;
  /// Refuse this host's containers new connections to remote_subnets (except through a forward):
  /// the entry's routes reach every node's containers, which isolation keeps apart by owner.
  bool isolate_remote = false;
};

/// The forwards as elements of the table's maps `tcp_forwards` and `udp_forwards` (public port ->
/// `comment "CONTAINER SERVICE" : address . port`). What a create or delete changes incrementally.
network::NftTableElements forward_elements(const std::string& table, const std::vector<Forward>& forwards);

/// The whole `nft -f` file with these elements. Equal state gives equal text. Every value comes
/// from numbers or validated names: nothing a user typed verbatim.
std::string render_nft_table(const NftOptions& options, const network::NftTableElements& elements);

/// render_nft_table(options, forward_elements(options.table, forwards)).
std::string render_nft_ruleset(const NftOptions& options, const std::vector<Forward>& forwards);

/// The forwards an `nft list table` output holds (elements of `tcp_forwards` / `udp_forwards`,
/// possibly wrapped over lines): what the kernel really has, for checks against state (lxcprovctl
/// doctor, the crash tests). An element without a "CONTAINER SERVICE" comment has them empty.
std::vector<Forward> listed_forwards(std::string_view nft_listing);

/// An `nft -f` file that removes the table (no error when it is absent).
std::string render_nft_removal(const std::string& table);

}  // namespace lxcprov::forwarding
