#pragma once
// NftApplier: installs a rendered ruleset (network/nft_ruleset.hpp) with `nft -f -`, the text on
// stdin. nft applies a whole file as one kernel transaction, so a ruleset that fails anywhere
// leaves the previous table untouched. Serialized by a mutex (jobs run concurrently).

#include <chrono>
#include <mutex>
#include <string>

#include "network/edges.hpp"

namespace lxcprov::edge {

class NftApplier : public network::RulesetApplier {
 public:
  explicit NftApplier(std::string nft = "/usr/sbin/nft", std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : nft_(std::move(nft)), timeout_(timeout) {}
  /// Errc::unavailable when nft refuses the ruleset or cannot run; the detail goes to the log.
  Status apply(const std::string& ruleset) override;

 private:
  std::string nft_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
};

}  // namespace lxcprov::edge
