#include "network/nft_applier.hpp"

#include <fmt/format.h>

#include "log/log.hpp"

namespace lxcprov::network {

Status NftApplier::apply(const std::string& ruleset) {
  std::lock_guard lock(mutex_);
  auto r = host_.run({nft_, "-f", "-"}, ruleset, timeout_);
  if (!r) {
    log::error(fmt::format("nft: {}", r.error().message));
    return make_error(Errc::unavailable, fmt::format("installing {} failed (nft could not run)", what_));
  }
  if (r->exit_status != 0) {
    // nft's message names the host's files and rules: for the log, not for the user.
    log::error(fmt::format("nft -f refused the ruleset (exit {}): {}", r->exit_status, r->output));
    return make_error(Errc::unavailable, fmt::format("installing {} failed (nft refused the ruleset)", what_));
  }
  return {};
}

}  // namespace lxcprov::network
