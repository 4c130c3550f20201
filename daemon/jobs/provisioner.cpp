#include "jobs/provisioner.hpp"

#include <random>

#include <fmt/format.h>

#include "common/exit_codes.hpp"
#include "isolation/isolation_ruleset.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::jobs {
namespace {

using namespace std::chrono_literals;

// Runs inside the new container as root, with a clean environment, when the runtime could not
// write the same files before the start (ContainerRuntime::seed). Constant text: the only
// user-derived inputs are $1 (a validated container name) and stdin (a validated public key
// line), so nothing a user types is ever parsed by a shell. $3...: name servers (validated IPv4
// addresses) for /etc/resolv.conf, none to leave it alone.
constexpr const char* configure_script = R"sh(set -eu
name=$1 key=$2
shift 2
if [ $# -gt 0 ]; then
  rm -f /etc/resolv.conf
  for ns in "$@"; do printf 'nameserver %s\n' "$ns"; done > /etc/resolv.conf
  chmod 644 /etc/resolv.conf
fi
umask 077
if [ -n "$key" ]; then
  mkdir -p /root/.ssh
  chmod 700 /root/.ssh
  cat > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
printf '%s\n' "$name" > /etc/hostname
chmod 644 /etc/hostname
if [ -f /etc/hosts ] && ! grep -q "[[:space:]]$name\$" /etc/hosts; then
  printf '127.0.1.1\t%s\n' "$name" >> /etc/hosts
fi
passwd -l root >/dev/null 2>&1 || usermod -L root
)sh";

Outcome failed(const std::string& job_id, const Error& error, std::string_view what) {
  Outcome o;
  o.exit_code = exit_code_for(error.code);
  o.lines.push_back(fmt::format("{} failed: {}", what, error.message));
  if (!job_id.empty()) o.lines.push_back(fmt::format("job: {} (see: ssh … logs {})", job_id, job_id));
  return o;
}

// In a fleet, only the daemon of the node a container is on can change it: this one has neither its
// rootfs nor its network. Refused (exit 6, like a node that is down), naming the node.
std::optional<Error> on_another_node(const config::Config& config, const state::ContainerRecord& row) {
  if (config.fleet.database.empty() || row.node == config.fleet.node) return std::nullopt;
  return make_error(Errc::unavailable,
                    fmt::format("CONTAINER_NAME: container {} is on node {}, not on this one ({}); ask that node",
                                row.name, row.node, config.fleet.node));
}

// The features' steps of `phase`, in the features' order.
void append_phase(std::vector<Step>& plan, std::vector<PhasedStep>& contributed, Phase phase,
                  const std::string& group = {}) {
  for (auto& s : contributed)
    if (s.phase == phase) {
      if (!group.empty()) s.step.group = group;
      plan.push_back(std::move(s.step));
    }
}

}  // namespace

std::string new_job_id() {
  // Not a secret (status and logs check the owner), but unguessable and unique: the kernel's
  // random source through std::random_device (getrandom on Linux).
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

Status Provisioner::reserve(JobContext& ctx) {
  const auto& req = ctx.request;
  state::NewContainer nc{req.container_name, req.username, req.distribution, req.http_port, ctx.job_id, {}, 0};
  // The quota is decided here, in the reservation's transaction; the server's earlier check only
  // spares a user the dialogue when the answer is already no.
  nc.quota = req.admin ? 0 : config_.access.quota_per_user;
  for (auto* f : features_)
    if (auto s = f->reserve(ctx, nc); !s) return s;
  // Only the forwarding feature takes EXTRA_PROTOCOLS: without it, asking for one is an error,
  // not something silently dropped.
  if (!req.extra_protocols.empty() && nc.ports.size() <= 1)
    return make_error(Errc::invalid_argument, "EXTRA_PROTOCOLS: port forwards are off on this server");
  auto r = store_.reserve_container(nc, config_.pool, config_.ctid_min);
  if (!r) return r.error();
  ctx.record = *r;
  return {};
}

Status Provisioner::clone(const JobContext& ctx) {
  const auto* dist = config_.find_distribution(ctx.request.distribution);
  if (!dist) return make_error(Errc::invalid_argument, "LINUX_DISTRIBUTION: not configured");
  if (!runtime_.exists(dist->template_name))
    return make_error(Errc::unavailable, fmt::format("template for {} is not installed", dist->name));
  // Golden value before the clone (R-ATT-1): a template changed since it was sealed is refused,
  // and as this step fails the reservation is undone, so nothing of the create remains.
  if (config_.templates.require_seal)
    if (auto s = seals_.check(dist->template_name); !s) return s;
  auto ip = network::parse_ipv4(ctx.record.ip);
  if (!ip) return make_error(Errc::internal, "reserved address is malformed");
  container::CloneSpec spec{
      ctx.record.name,         dist->template_name,      config_.network.bridge,      config_.pool.cidr(*ip),
      config_.network.gateway, network::hwaddr_for(*ip), network::veth_name_for(*ip), {}};
  auto limits = container::limit_keys(config_.limits, cgroup_);
  if (!limits) return limits.error();
  for (const auto& [k, v] : *limits) spec.extra[k] = v;
  // After the limits, so an operator's explicit lxc_config key wins.
  for (const auto& [k, v] : config_.lxc_config) spec.extra[k] = v;
  return runtime_.clone(spec);
}

Status Provisioner::seed(const JobContext& ctx, bool& seeded) {
  const auto& req = ctx.request;
  container::FirstBoot boot{req.container_name, req.public_key, config_.network.dns};
  auto s = runtime_.seed(req.container_name, boot);
  seeded = static_cast<bool>(s);
  // Not possible here (a layered template, a symlink on the way): configure-inside writes the
  // same once the container runs. Said, so an admin sees why a create took the slower way.
  if (!s && s.error().code == Errc::unavailable) {
    if (ctx.reporter) ctx.reporter->info(s.error().message + "; written from inside after the start");
    return {};
  }
  return s;
}

Status Provisioner::configure_inside(const JobContext& ctx) {
  const auto& req = ctx.request;
  std::vector<std::string> argv{
      "/bin/sh", "-c", configure_script, "lxcprov-configure", req.container_name, req.public_key.empty() ? "" : "key"};
  argv.insert(argv.end(), config_.network.dns.begin(), config_.network.dns.end());
  auto r = runtime_.run(req.container_name, argv, req.public_key.empty() ? "" : req.public_key + "\n", 30s);
  if (!r) return r.error();
  if (r->exit_status != 0)
    return make_error(Errc::internal, fmt::format("configuring the container failed (exit {})", r->exit_status));
  return {};
}

std::vector<Step> Provisioner::create_plan(JobContext& ctx) {
  const std::string name = ctx.request.container_name;
  std::vector<PhasedStep> contributed;
  for (auto* f : features_) f->create_steps(ctx, contributed);

  std::vector<Step> plan;
  plan.push_back({"reserve", [this, &ctx] { return reserve(ctx); },
                  // Only the row this job reserved: after a crash the reserve may be undone without
                  // knowing whether it won, and a lost race must not free the winner's row. The
                  // features install from the rows, so they converge once it is gone (a concurrent
                  // job may have installed this container's entries meanwhile).
                  [this, &ctx, name] {
                    auto row = store_.find_container(name);
                    if (!row) return Status(row.error());
                    if (!row->has_value() || (*row)->job_id != ctx.job_id) return Status();
                    if (auto s = store_.release_container(name); !s) return s;
                    Status all;
                    for (auto* f : features_)
                      if (auto s = f->converge(); !s && all) all = s;
                    return all;
                  }});
  plan.push_back({"clone", [this, &ctx] { return clone(ctx); }, [this, name] { return runtime_.destroy(name); }});
  // The key, hostname, hosts, resolver and root's lock go into the files before the first start:
  // nothing then has to run inside the container for them (the clone's undo removes them).
  auto seeded = std::make_shared<bool>(false);
  plan.push_back({"configure", [this, &ctx, seeded] { return seed(ctx, *seeded); }, {}});
  append_phase(plan, contributed, Phase::before_start);
  // Forwards and the route need the container's row, not the container running: they go in while
  // it starts.
  plan.push_back({"start", [this, name] { return runtime_.start(name, config_.start_timeout); },
                  [this, name] { return runtime_.stop(name); }, "start"});
  append_phase(plan, contributed, Phase::with_start, "start");
  append_phase(plan, contributed, Phase::after_start);
  plan.push_back({"configure-inside", [this, &ctx, seeded] { return *seeded ? Status() : configure_inside(ctx); }, {}});
  append_phase(plan, contributed, Phase::after_configure);
  plan.push_back(
      {"ready",
       [this, &ctx, name] { return store_.set_container_state(name, state::ContainerState::ready, ctx.job_id); },
       {}});
  return plan;
}

Outcome Provisioner::create(const request::Request& req, const std::string& job_id, Reporter& reporter) {
  JobContext ctx{job_id, req, {}, &reporter};
  auto plan = create_plan(ctx);
  if (auto s = run_plan(plan, store_, reporter, job_id, {}, concurrently_); !s)
    return failed(job_id, s.error(), "create");
  const auto& rec = ctx.record;
  (void)store_.update_job(job_id, state::JobState::succeeded, "ready", 0,
                          fmt::format("container {} is running at {}", rec.name, rec.ip));
  Outcome o;
  o.lines = {fmt::format("Container {} is running.", rec.name), fmt::format("  name:  {}", rec.name),
             fmt::format("  ip:    {}", rec.ip)};
  std::vector<std::string> more;
  for (auto* f : features_) f->describe(rec, more);
  // Forwards skip loopback (lxcprov's own sshd listens there), so on the hypervisor itself the
  // container's address is the way in. After the forwarded ssh line when there is one.
  auto ssh_end = more.begin();
  while (ssh_end != more.end() && ssh_end->rfind("  ssh:", 0) == 0) ++ssh_end;
  more.insert(ssh_end, fmt::format("  ssh:   ssh root@{}   (on the hypervisor)", rec.ip));
  o.lines.insert(o.lines.end(), more.begin(), more.end());
  o.lines.push_back(fmt::format("  job:   {}", job_id));
  if (req.public_key.empty()) o.lines.push_back("  note:  no public key was given, so nobody can log in by ssh yet");
  return o;
}

std::vector<Step> Provisioner::delete_plan(JobContext& ctx) {
  const std::string name = ctx.request.container_name;
  std::vector<PhasedStep> contributed;
  for (auto* f : features_) f->delete_steps(ctx, contributed);
  // Each step is idempotent, so a delete interrupted by a crash is finished by resuming it; the
  // row being gone already is the state "mark" wants too.
  std::vector<Step> plan;
  plan.push_back({"mark",
                  [this, &ctx, name] {
                    auto s = store_.set_container_state(name, state::ContainerState::deleting, ctx.job_id);
                    return s || s.error().code == Errc::not_found ? Status() : s;
                  },
                  {}});
  append_phase(plan, contributed, Phase::before_destroy);
  plan.push_back({"destroy", [this, name] { return runtime_.destroy(name); }, {}});
  plan.push_back({"release", [this, name] { return store_.release_container(name); }, {}});
  append_phase(plan, contributed, Phase::after_release);
  return plan;
}

Outcome Provisioner::destroy(const request::Request& req, const std::string& job_id, Reporter& reporter) {
  auto row = store_.find_container(req.container_name);
  if (!row) return failed(job_id, row.error(), "delete");
  if (!row->has_value() || (!req.admin && (*row)->owner != req.username)) {
    (void)store_.update_job(job_id, state::JobState::failed, "", exit_code::not_found, "no such container");
    return failed(job_id, make_error(Errc::not_found, "CONTAINER_NAME: no such container of yours"), "delete");
  }
  if (auto elsewhere = on_another_node(config_, **row)) {
    (void)store_.update_job(job_id, state::JobState::failed, "", exit_code::unavailable, elsewhere->message);
    return failed(job_id, *elsewhere, "delete");
  }
  // After a running update of the container, if any: its undo needs the container.
  const auto mutex = container_mutex(req.container_name);
  std::lock_guard serial(*mutex);
  JobContext ctx{job_id, req, **row, &reporter};
  if (auto s = run_plan(delete_plan(ctx), store_, reporter, job_id); !s) return failed(job_id, s.error(), "delete");
  (void)store_.update_job(job_id, state::JobState::succeeded, "release", 0,
                          fmt::format("container {} deleted", req.container_name));
  return {0, {fmt::format("Container {} deleted.", req.container_name), fmt::format("  job:   {}", job_id)}};
}

}  // namespace lxcprov::jobs

namespace lxcprov::jobs {

std::shared_ptr<std::mutex> Provisioner::container_mutex(const std::string& name) {
  std::lock_guard lock(mutexes_mutex_);
  std::erase_if(mutexes_, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = mutexes_[name];
  auto m = slot.lock();
  if (!m) {
    m = std::make_shared<std::mutex>();
    slot = m;
  }
  return m;
}

std::vector<Step> Provisioner::update_plan(JobContext& ctx) {
  const std::string name = ctx.request.container_name;
  std::vector<PhasedStep> contributed;
  for (auto* f : features_) f->update_steps(ctx, contributed);
  std::vector<Step> plan;
  plan.push_back({"lock",
                  [this, &ctx, name] {
                    return store_.transition_container(name, state::ContainerState::ready,
                                                       state::ContainerState::updating, ctx.job_id);
                  },
                  // Only a lock this job holds (after a crash it may never have been taken). Last of
                  // the undos, so the features converge to the rows the other undos restored (a
                  // route back to the previous HTTP_PORT).
                  [this, &ctx, name] {
                    auto row = store_.find_container(name);
                    if (!row) return Status(row.error());
                    if (!row->has_value()) return Status();
                    if ((*row)->state == state::ContainerState::updating && (*row)->job_id == ctx.job_id)
                      if (auto s = store_.set_container_state(name, state::ContainerState::ready, ctx.job_id); !s)
                        return s;
                    Status all;
                    for (auto* f : features_)
                      if (auto s = f->converge(); !s && all) all = s;
                    return all;
                  }});
  append_phase(plan, contributed, Phase::update);
  append_phase(plan, contributed, Phase::after_update);
  plan.push_back({"unlock",
                  [this, &ctx, name] {
                    return store_.transition_container(name, state::ContainerState::updating,
                                                       state::ContainerState::ready, ctx.job_id);
                  },
                  {}});
  return plan;
}

Outcome Provisioner::update(const request::Request& req, const std::string& job_id, Reporter& reporter) {
  auto refuse = [&](const Error& e) {
    (void)store_.update_job(job_id, state::JobState::failed, "", exit_code_for(e.code), e.message);
    return failed(job_id, e, "update");
  };
  const Error absent = make_error(Errc::not_found, "CONTAINER_NAME: no such container of yours");
  auto mine = [&](const Result<std::optional<state::ContainerRecord>>& row) {
    return row && row->has_value() && (req.admin || (*row)->owner == req.username);
  };
  auto row = store_.find_container(req.container_name);
  if (!row) return refuse(row.error());
  if (!mine(row)) return refuse(absent);
  if (auto elsewhere = on_another_node(config_, **row)) return refuse(*elsewhere);
  // One update (or delete) of a container at a time; a second one waits here for the first.
  const auto mutex = container_mutex(req.container_name);
  std::lock_guard serial(*mutex);
  row = store_.find_container(req.container_name);  // what the job before this one left
  if (!row) return refuse(row.error());
  if (!mine(row)) return refuse(absent);
  if ((*row)->state != state::ContainerState::ready)
    return refuse(
        make_error(Errc::conflict, fmt::format("CONTAINER_NAME: container {} is {}; try again when it is ready",
                                               req.container_name, state::to_string((*row)->state))));
  JobContext ctx{job_id, req, **row, &reporter};
  bool work = false;
  for (auto* f : features_) {
    auto w = f->prepare_update(ctx);
    if (!w) return refuse(w.error());
    work = work || *w;
  }
  if (!work) {
    const std::string text =
        fmt::format("Nothing to deploy: container {} has no deployment and the update gave none.", req.container_name);
    (void)store_.update_job(job_id, state::JobState::succeeded, "", 0, "nothing to deploy");
    return {exit_code::ok, {text, fmt::format("  job:   {}", job_id)}};
  }
  if (auto s = run_plan(update_plan(ctx), store_, reporter, job_id); !s) {
    Outcome o = failed(job_id, s.error(), "update");
    auto job = store_.find_job(job_id);
    if (job && job->has_value() && (*job)->state == state::JobState::rolled_back)
      o.lines.insert(o.lines.begin() + 1, "  rolled back: the container serves what it served before the update");
    return o;
  }
  (void)store_.update_job(job_id, state::JobState::succeeded, "unlock", 0,
                          fmt::format("container {} updated", req.container_name));
  Outcome o;
  o.lines.push_back(fmt::format("Container {} updated.", req.container_name));
  auto now = store_.find_container(req.container_name);
  const state::ContainerRecord& rec = now && now->has_value() ? **now : ctx.record;
  for (auto* f : features_) f->describe(rec, o.lines);
  o.lines.push_back(fmt::format("  job:   {}", job_id));
  return o;
}

}  // namespace lxcprov::jobs
