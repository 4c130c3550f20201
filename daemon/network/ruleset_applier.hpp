#pragma once
// RulesetApplier: where an nftables ruleset rendered from the state goes (the port forwards, the
// isolation on the bridge), as an interface so the features stay pure. Installing takes the
// *whole* rendered text: installing is replacing, so it is idempotent and a retry or a restart
// converges. Real implementation: NftApplier (network/nft_applier.hpp). Thread-safe.

#include <string>

#include "common/result.hpp"

namespace lxcprov::network {

/// Replaces lxcprov's nftables tables with `ruleset` atomically: on failure the previous tables
/// stay as they were.
class RulesetApplier {
 public:
  virtual ~RulesetApplier() = default;
  virtual Status apply(const std::string& ruleset) = 0;
};

}  // namespace lxcprov::network
