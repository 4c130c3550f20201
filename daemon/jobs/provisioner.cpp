#include "jobs/provisioner.hpp"

#include <openssl/rand.h>

#include <fmt/format.h>

#include "common/exit_codes.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::jobs {
namespace {

using namespace std::chrono_literals;

// Runs inside the new container as root, with a clean environment. Constant text: the only
// user-derived inputs are $1 (a validated container name) and stdin (a validated public key
// line), so nothing a user types is ever parsed by a shell.
constexpr const char* configure_script = R"sh(set -eu
umask 077
if [ -n "$2" ]; then
  mkdir -p /root/.ssh
  chmod 700 /root/.ssh
  cat > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
printf '%s\n' "$1" > /etc/hostname
chmod 644 /etc/hostname
if [ -f /etc/hosts ] && ! grep -q "[[:space:]]$1\$" /etc/hosts; then
  printf '127.0.1.1\t%s\n' "$1" >> /etc/hosts
fi
passwd -l root >/dev/null 2>&1 || usermod -L root
)sh";

std::string container_lines(const state::ContainerRecord& r) {
  return fmt::format("{} {} {} {}", r.name, r.owner, r.state, r.ip);
}

}  // namespace

std::string hwaddr_for(uint32_t address) {
  return fmt::format("00:16:3e:{:02x}:{:02x}:{:02x}", (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff);
}

std::string new_job_id() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no randomness: nothing is safe to do
  std::string id;
  for (unsigned char b : bytes) id += fmt::format("{:02x}", b);
  return id;
}

Outcome Provisioner::fail(const std::string& job_id, const Error& error, std::string_view what) {
  Outcome o;
  o.exit_code = exit_code_for(error.code);
  o.lines.push_back(fmt::format("{} failed: {}", what, error.message));
  if (!job_id.empty()) o.lines.push_back(fmt::format("job: {} (see: ssh … logs {})", job_id, job_id));
  return o;
}

std::vector<Step> Provisioner::create_plan(const request::Request& req, const std::string& job_id,
                                           state::ContainerRecord& rec) {
  const std::string name = req.container_name;
  std::vector<Step> plan;
  plan.push_back({"reserve",
                  [this, &req, &rec, job_id] {
                    auto r = store_.reserve_container(
                        {req.container_name, req.username, req.distribution, req.http_port, job_id}, config_.pool,
                        config_.ctid_min);
                    if (!r) return Status(r.error());
                    rec = *r;
                    return Status();
                  },
                  [this, name] { return store_.release_container(name); }});
  plan.push_back({"clone",
                  [this, &req, &rec] {
                    const auto* dist = config_.find_distribution(req.distribution);
                    if (!dist) return Status(make_error(Errc::invalid_argument, "LINUX_DISTRIBUTION: not configured"));
                    if (!runtime_.exists(dist->template_name))
                      return Status(make_error(Errc::unavailable,
                                               fmt::format("template for {} is not installed", dist->name)));
                    auto ip = network::parse_ipv4(rec.ip);
                    if (!ip) return Status(make_error(Errc::internal, "reserved address is malformed"));
                    lxc::CloneSpec spec{rec.name,
                                        dist->template_name,
                                        config_.network.bridge,
                                        config_.pool.cidr(*ip),
                                        config_.network.gateway,
                                        hwaddr_for(*ip),
                                        {}};
                    for (const auto& [k, v] : config_.lxc_config) spec.extra[k] = v;
                    return runtime_.clone(spec);
                  },
                  [this, name] { return runtime_.destroy(name); }});
  plan.push_back({"start", [this, name] { return runtime_.start(name, config_.start_timeout); },
                  [this, name] { return runtime_.stop(name); }});
  plan.push_back({"configure",
                  [this, &req, name] {
                    auto r = runtime_.run(name, {"/bin/sh", "-c", configure_script, "lxcprov-configure", name,
                                                 req.public_key.empty() ? "" : "key"},
                                          req.public_key.empty() ? "" : req.public_key + "\n", 30s);
                    if (!r) return Status(r.error());
                    if (r->exit_status != 0)
                      return Status(make_error(Errc::internal, fmt::format("configuring the container failed (exit {})",
                                                                           r->exit_status)));
                    return Status();
                  },
                  {}});
  plan.push_back({"ready", [this, name, job_id] { return store_.set_container_state(name, "ready", job_id); }, {}});
  return plan;
}

Outcome Provisioner::create(const request::Request& req, const std::string& job_id, Reporter& reporter,
                            const std::string& fail_at) {
  state::ContainerRecord rec;
  auto plan = create_plan(req, job_id, rec);
  if (auto s = run_plan(plan, store_, reporter, {job_id, fail_at}); !s) return fail(job_id, s.error(), "create");
  const std::string msg = fmt::format("container {} is running at {}", rec.name, rec.ip);
  (void)store_.update_job(job_id, "SUCCEEDED", "ready", 0, msg);
  Outcome o;
  o.lines = {fmt::format("Container {} is running.", rec.name),
             fmt::format("  name:  {}", rec.name),
             fmt::format("  ip:    {}", rec.ip),
             fmt::format("  ssh:   ssh root@{}   (from the hypervisor {})", rec.ip, config_.public_host),
             fmt::format("  job:   {}", job_id)};
  if (req.public_key.empty()) o.lines.push_back("  note:  no public key was given, so nobody can log in by ssh yet");
  return o;
}

std::vector<Step> Provisioner::delete_plan(const std::string& name, const std::string& job_id) {
  // Each step is idempotent, so a delete interrupted by a crash is finished by running it again.
  return {
      {"mark", [this, name, job_id] { return store_.set_container_state(name, "deleting", job_id); }, {}},
      {"destroy", [this, name] { return runtime_.destroy(name); }, {}},
      {"release", [this, name] { return store_.release_container(name); }, {}},
  };
}

Outcome Provisioner::destroy(const request::Request& req, const std::string& job_id, Reporter& reporter,
                             const std::string& fail_at) {
  auto owned = owns(req.username, req.container_name);
  if (!owned) return fail(job_id, owned.error(), "delete");
  if (!*owned) {
    (void)store_.update_job(job_id, "FAILED", "", exit_code::not_found, "no such container");
    return fail(job_id, make_error(Errc::not_found, "CONTAINER_NAME: no such container of yours"), "delete");
  }
  if (auto s = run_plan(delete_plan(req.container_name, job_id), store_, reporter, {job_id, fail_at}); !s)
    return fail(job_id, s.error(), "delete");
  (void)store_.update_job(job_id, "SUCCEEDED", "release", 0, fmt::format("container {} deleted", req.container_name));
  return {0, {fmt::format("Container {} deleted.", req.container_name), fmt::format("  job:   {}", job_id)}};
}

Result<bool> Provisioner::name_free(const std::string& name) {
  auto rec = store_.find_container(name);
  if (!rec) return rec.error();
  return !rec->has_value() && !runtime_.exists(name);
}

Result<bool> Provisioner::owns(const std::string& user, const std::string& name) {
  auto rec = store_.find_container(name);
  if (!rec) return rec.error();
  return rec->has_value() && (*rec)->owner == user;
}

Outcome Provisioner::exists(const request::Request& req) {
  auto rec = store_.find_container(req.container_name);
  if (!rec) return fail("", rec.error(), "exists");
  if (!rec->has_value() || (*rec)->owner != req.username)
    return {exit_code::not_found, {fmt::format("absent: no container {} of yours", req.container_name)}};
  const auto& r = **rec;
  auto st = runtime_.state(r.name);
  return {exit_code::ok,
          {fmt::format("present: {}", r.name), fmt::format("  owner: {}", r.owner),
           fmt::format("  state: {} ({})", st ? *st : "MISSING", r.state), fmt::format("  ip:    {}", r.ip),
           fmt::format("  job:   {}", r.job_id)}};
}

Outcome Provisioner::list(const request::Request& req) {
  auto recs = store_.list_containers(req.username);
  if (!recs) return fail("", recs.error(), "list");
  Outcome o;
  for (const auto& r : *recs) o.lines.push_back(container_lines(r));
  if (o.lines.empty()) o.lines.push_back("(no containers)");
  return o;
}

Outcome Provisioner::status(const request::Request& req) {
  auto job = store_.find_job(req.job_id);
  if (!job) return fail("", job.error(), "status");
  if (!job->has_value() || (*job)->user != req.username)
    return {exit_code::not_found, {fmt::format("no job {} of yours", req.job_id)}};
  const auto& j = **job;
  return {exit_code::ok,
          {fmt::format("job {}: {} {} {}", j.id, j.op, j.container, j.state), fmt::format("  step:    {}", j.step),
           fmt::format("  outcome: {}", j.message)}};
}

Outcome Provisioner::logs(const request::Request& req) {
  auto job = store_.find_job(req.job_id);
  if (!job) return fail("", job.error(), "logs");
  if (!job->has_value() || (*job)->user != req.username)
    return {exit_code::not_found, {fmt::format("no job {} of yours", req.job_id)}};
  auto lines = store_.job_log(req.job_id);
  if (!lines) return fail("", lines.error(), "logs");
  Outcome o;
  for (const auto& l : *lines) o.lines.push_back(fmt::format("{} {} {}", l.at, l.level, l.text));
  return o;
}

void Provisioner::recover(Reporter& reporter) {
  auto jobs = store_.unfinished_jobs();
  if (!jobs) {
    reporter.info(fmt::format("recovery skipped: {}", jobs.error().message));
    return;
  }
  for (const auto& job : *jobs) {
    reporter.info(fmt::format("recovering job {} ({} {})", job.id, job.op, job.container));
    if (job.op == "create") {
      request::Request req;
      req.container_name = job.container;
      state::ContainerRecord rec;
      auto s = undo_recorded(create_plan(req, job.id, rec), store_, reporter, job.id);
      (void)store_.update_job(job.id, s ? "ROLLED_BACK" : "FAILED", job.step, exit_code::internal,
                              "interrupted by a daemon restart; rolled back");
    } else if (job.op == "delete") {
      auto s = run_plan(delete_plan(job.container, job.id), store_, reporter, {job.id, ""});
      (void)store_.update_job(job.id, s ? "SUCCEEDED" : "FAILED", job.step, s ? 0 : exit_code::internal,
                              s ? "finished after a daemon restart" : s.error().message);
    } else {
      (void)store_.update_job(job.id, "FAILED", job.step, exit_code::internal, "interrupted by a daemon restart");
    }
  }
}

}  // namespace lxcprov::jobs
