#pragma once
// Isolation on the bridge as a feature (jobs/feature.hpp): the nftables tables that keep containers
// to their own addresses, apart from other owners' containers and from the hypervisor's services,
// rendered from the store (isolation/isolation_ruleset.hpp). A create or delete adds or deletes its
// own elements of the bridge table's sets (network/nft_table_sync.hpp); start-up convergence and any
// mismatch replace both tables whole. Each is one nftables transaction.
// The rules hold a container before it first starts. No I/O of its own. Thread-safe.

#include <mutex>

#include "config/config.hpp"
#include "isolation/isolation_ruleset.hpp"
#include "jobs/feature.hpp"
#include "network/nft_table_sync.hpp"
#include "network/ruleset_applier.hpp"

namespace lxcprov::isolation {

class IsolationFeature final : public jobs::Feature {
 public:
  IsolationFeature(const config::Config& config, state::Store& store, network::RulesetApplier& nft)
      : config_(config), store_(store), table_(nft) {}

  std::string_view name() const override { return "isolation"; }
  /// before_start "isolate" (undo: the rules without this container).
  void create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// after_release "unisolate".
  void delete_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// Both tables, whole, from the store.
  Status converge() override;

 private:
  Status sync(const std::string& exclude);
  Status sync_locked(const std::string& exclude);

  const config::Config& config_;
  state::Store& store_;
  std::mutex mutex_;
  network::NftTableSync table_;     ///< guarded by mutex_
  isolation::OwnerNumbers owners_;  ///< guarded by mutex_: kept while an owner has containers
};

}  // namespace lxcprov::isolation
