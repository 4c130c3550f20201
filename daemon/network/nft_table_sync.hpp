#pragma once
// NftTableSync: keeps one nftables table equal to the state at the cost of what changed. It
// remembers the elements it last installed; bringing the table to new elements applies only their
// difference (one small nftables transaction), and applies the whole table instead when nothing is
// known (start-up, convergence, the last apply failed) or when nft refuses the difference (the
// kernel's table drifted from what was remembered: a deleted element absent, an added one there
// with another value). Drift that no later difference touches stays until the next whole apply
// (start-up); a change costs the elements it touches, not the table's size. No I/O of its own (the applier does it);
// not thread-safe: the feature that owns it serializes its calls.

#include <functional>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "network/nft_elements.hpp"
#include "network/ruleset_applier.hpp"

namespace lxcprov::network {

class NftTableSync {
 public:
  explicit NftTableSync(RulesetApplier& nft) : nft_(nft) {}

  /// Makes the table hold `desired`: by difference when the installed elements are known, else (or
  /// when nft refuses the difference: Errc::unavailable, what NftApplier reports) by applying
  /// `whole()`, the entire table with `desired`. Any other error of the difference is returned.
  Status sync(const NftTableElements& desired, const std::function<std::string()>& whole);
  /// The next sync applies the whole table (convergence: believe nothing about the kernel).
  void forget() { installed_.reset(); }
  /// How many of the syncs so far applied the whole table (for tests and logs).
  unsigned whole_applies() const { return whole_applies_; }

 private:
  RulesetApplier& nft_;
  std::optional<NftTableElements> installed_;
  unsigned whole_applies_ = 0;
};

}  // namespace lxcprov::network
