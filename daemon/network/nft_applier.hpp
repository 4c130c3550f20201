#pragma once
// NftApplier: installs a rendered ruleset (network/nft_ruleset.hpp, network/isolation_ruleset.hpp) with `nft -f -`, the
// text on stdin. nft applies a whole file as one kernel transaction, so a ruleset that fails anywhere leaves the
// previous table untouched. Serialized by a mutex (jobs run concurrently).

#include <chrono>
#include <mutex>
#include <string>

#include "host/host.hpp"
#include "network/ruleset_applier.hpp"

namespace lxcprov::network {

class NftApplier : public network::RulesetApplier {
 public:
  /// `what` names the rules in errors ("the port forwards", "the container isolation").
  NftApplier(host::Host& host, std::string nft = "/usr/sbin/nft",
             std::chrono::milliseconds timeout = std::chrono::seconds(30), std::string what = "the port forwards")
      : host_(host), nft_(std::move(nft)), timeout_(timeout), what_(std::move(what)) {}
  /// Errc::unavailable when nft refuses the ruleset or cannot run; the detail goes to the log.
  Status apply(const std::string& ruleset) override;

 private:
  host::Host& host_;
  std::string nft_;
  std::chrono::milliseconds timeout_;
  std::string what_;
  std::mutex mutex_;
};

}  // namespace lxcprov::network
