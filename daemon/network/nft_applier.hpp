#pragma once
// NftApplier: installs a rendered ruleset (forwarding/nft_ruleset.hpp, isolation/isolation_ruleset.hpp) through
// libnftables, the library the nft program is a thin front-end of, in this process. Like `nft -f`, one text is one
// kernel transaction: a ruleset that fails anywhere leaves the previous tables untouched. In process because a
// create and a delete each apply two small changes, and an `nft` process costs ~4 ms (far more under load) where
// the library call costs ~0.1 ms, flat with the table's size (docs/benchmarks.md, "One run, every table (issue 12),
// second").

#include <string>

#include "network/ruleset_applier.hpp"

struct nft_ctx;

namespace lxcprov::network {

class NftApplier : public network::RulesetApplier {
 public:
  /// `what` names the rules in errors ("the port forwards", "the container isolation").
  explicit NftApplier(std::string what = "the port forwards");
  ~NftApplier() override;
  NftApplier(const NftApplier&) = delete;
  NftApplier& operator=(const NftApplier&) = delete;

  /// Errc::unavailable when nftables refuses the ruleset or its netlink socket could not be opened; nft's message
  /// (which names the host's rules) goes to the log, not to the user.
  Status apply(const std::string& ruleset) override;

 private:
  nft_ctx* ctx_ = nullptr;
  std::string what_;
};

}  // namespace lxcprov::network
