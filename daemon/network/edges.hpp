#pragma once
// The two places lxcprov's network state is installed, as interfaces so the job logic stays pure
// and the installation can move (a remote nginx over ssh is planned; only local ones exist now).
// Both take the *whole* rendered text: installing is replacing, so it is idempotent and a retry
// or a restart converges. Implementations must be safe to call from several threads.

#include <string>

#include "common/result.hpp"

namespace lxcprov::network {

/// Replaces lxcprov's nftables table with `ruleset` (network/nft_ruleset.hpp) atomically: on
/// failure the previous table stays as it was.
class RulesetApplier {
 public:
  virtual ~RulesetApplier() = default;
  virtual Status apply(const std::string& ruleset) = 0;
};

/// Where the nginx route file goes and how it is tested and activated. On failure (the test
/// refuses the file, the reload fails) the previous file is back in place and the error says why.
class RouteInstaller {
 public:
  virtual ~RouteInstaller() = default;
  virtual Status install(const std::string& routes) = 0;
};

}  // namespace lxcprov::network
