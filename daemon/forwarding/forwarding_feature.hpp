#pragma once
// Port forwards as a feature (jobs/feature.hpp): every container gets a public port to its ssh
// port, and one per port of each extra protocol the user asked for (config/protocols.json). The
// ports are reserved with the container, in the reservation's transaction; the nftables table is
// rendered from the store's rows (forwarding/nft_ruleset.hpp); a create or delete adds or deletes
// only its own elements of the DNAT maps (network/nft_table_sync.hpp), start-up convergence and any
// mismatch replace the table whole, each one nftables transaction.
// No I/O of its own: the store and the applier do it. Thread-safe (installs are serialized, and the
// state is read under the same lock, so the last install reflects the newest state).

#include <mutex>

#include "config/config.hpp"
#include "jobs/feature.hpp"
#include "network/nft_table_sync.hpp"
#include "network/ruleset_applier.hpp"
#include "state/node_registry.hpp"

namespace lxcprov::forwarding {

class ForwardingFeature final : public jobs::Feature {
 public:
  /// `nodes`: the fleet's registry on an entry (the other nodes' subnets are NATed to: see
  /// NftOptions::remote_subnets); nullptr elsewhere.
  ForwardingFeature(const config::Config& config, state::Store& store, network::RulesetApplier& nft,
                    state::NodeRegistry* nodes = nullptr)
      : config_(config), store_(store), table_(nft), nodes_(nodes) {}

  std::string_view name() const override { return "forwarding"; }
  /// SSH and each port of each extra protocol; Errc::invalid_argument for a protocol not in the
  /// catalog.
  Status reserve(const jobs::JobContext& ctx, state::NewContainer& container) override;
  /// with_start "ports": this container's forwards into the table while it starts (undo: its ports
  /// released).
  void create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// after_release "unforward": the table without them (the rows went with the container's).
  void delete_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// The whole table from the store.
  Status converge() override;
  /// The table brought to the store's rows by difference, the registry read again (the other
  /// nodes' creates and subnets, on an entry).
  Status refresh() override;
  void describe(const state::ContainerRecord& record, std::vector<std::string>& lines) const override;

 private:
  /// The table brought to the store's rows by difference; `read_nodes`: the other nodes' subnets
  /// read from the registry again, else those of the last read.
  Status sync();
  Status sync_locked(bool read_nodes);

  const config::Config& config_;
  state::Store& store_;
  std::mutex mutex_;
  network::NftTableSync table_;  ///< guarded by mutex_
  state::NodeRegistry* nodes_;
  std::vector<network::Cidr> remote_;  ///< the other nodes' subnets, as last read; mutex_
};

}  // namespace lxcprov::forwarding
