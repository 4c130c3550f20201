#pragma once
// Feature: what each optional part of lxcprov (port forwards, HTTP routes, isolation on the
// bridge, LDAP login and the Wazuh agent inside containers, app deployment) adds to the jobs. A
// feature contributes undoable steps to the create and delete plans, each in a phase of the core
// plan, reserves what it needs in the reservation's transaction, and brings its outside state back
// in line with the store at start-up. The Provisioner receives its features in its constructor
// and knows nothing else about them. No I/O of its own: a feature reaches the outside through the
// interfaces it was built with.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "jobs/plan.hpp"
#include "request/request.hpp"
#include "state/store.hpp"

namespace lxcprov::jobs {

/// What one job works on, explicitly: steps read and write it (never each other's captures), and
/// crash recovery rebuilds it from the job's row and the container's.
struct JobContext {
  std::string job_id;
  /// create: the validated request. Recovery and delete: the container name and owner only (the
  /// rest of a request is never stored; secrets least of all).
  request::Request request;
  /// The container's row: filled by the reserve step of a create, read from the store otherwise.
  state::ContainerRecord record;
  /// Where a step's command output goes (Reporter::output). Set by the Provisioner for every job
  /// and by recovery; a channel, not state: nothing a step needs later may live only here.
  Reporter* reporter = nullptr;
};

/// Where in a plan a feature's step goes.
enum class Phase {
  before_start,  ///< create: clone -> configure -> [here] -> start (the container has never run)
  /// create: at the same time as start (Step::group "start"), before configure. For what must be in
  /// place when the create ends but does not need the container running (forwards, the route).
  with_start,
  after_start,      ///< create: start -> [here] -> configure-inside
  after_configure,  ///< create: configure-inside -> [here] -> ready
  before_destroy,   ///< delete: mark -> [here] -> destroy (the container still exists)
  after_release,    ///< delete: release -> [here] (the row is gone)
  update,           ///< update: lock -> [here] -> [after_update] -> unlock (the container runs and serves)
  /// update: after every feature's `update` steps, before unlock: what follows from the rows those
  /// steps changed (routes for a new HTTP_PORT), then the checks that need it (the app's health).
  after_update,
};

struct PhasedStep {
  Phase phase;
  Step step;
};

class Feature {
 public:
  virtual ~Feature() = default;

  /// Short name for logs ("forwarding", "routing", ...).
  virtual std::string_view name() const = 0;

  /// What the feature reserves with the container, in the reservation's transaction (ports).
  /// An error refuses the create before anything exists.
  virtual Status reserve(const JobContext& ctx, state::NewContainer& container) {
    (void)ctx, (void)container;
    return {};
  }

  /// The feature's steps of a create / a delete. Steps may capture `ctx` by reference: it lives
  /// as long as the plan.
  virtual void create_steps(JobContext& ctx, std::vector<PhasedStep>& out) = 0;
  virtual void delete_steps(JobContext& ctx, std::vector<PhasedStep>& out) = 0;
  /// The feature's steps of an update (redeploy); most features have none. Called for a running
  /// update after prepare_update, and by crash recovery with a context rebuilt from the rows (no
  /// request values): the same step names either way, and undos that need only the rows.
  virtual void update_steps(JobContext& ctx, std::vector<PhasedStep>& out) { (void)ctx, (void)out; }

  /// Before an update's plan is built, while no other update or delete of the container runs: completes `ctx.request`
  /// from what the store kept (deploy: the stored spec merged with the given values) and says
  /// whether the feature has work. When no feature has, the update ends at once with exit 0. An
  /// error refuses the update before anything changed.
  virtual Result<bool> prepare_update(JobContext& ctx) {
    (void)ctx;
    return false;
  }

  /// Makes what the feature installed outside (rules, routes) match the store: at start-up, after
  /// a crash, and after a reservation is undone. Idempotent.
  virtual Status converge() { return {}; }

  /// Brings what the feature installed to rows that others change too (in a fleet, the other
  /// nodes' containers on the entry), by difference: cheap when nothing changed. Idempotent.
  virtual Status refresh() { return {}; }

  /// A create interrupted by a crash is rolled back: undoes what the feature made that no
  /// recorded step knows of (an agent enrolled just before the crash).
  virtual void forget(const JobContext& ctx, Reporter& reporter) { (void)ctx, (void)reporter; }

  /// Lines of a successful create's final message (addresses, URLs, notes).
  virtual void describe(const state::ContainerRecord& record, std::vector<std::string>& lines) const {
    (void)record, (void)lines;
  }
};

}  // namespace lxcprov::jobs
