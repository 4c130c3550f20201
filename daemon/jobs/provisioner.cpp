#include "jobs/provisioner.hpp"

#include <openssl/rand.h>

#include <map>

#include <fmt/format.h>

#include "common/exit_codes.hpp"
#include "config/templates.hpp"
#include "jobs/policy.hpp"
#include "network/ip_pool.hpp"
#include "network/nft_ruleset.hpp"
#include "network/nginx_routes.hpp"

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

// Writes stdin to $1 with mode $2 through a temporary file and a rename, so a reader never sees a
// half-written file. $1 and $2 are constants of lxcprov, never user input. A missing directory is
// made 0755 as a package would (under umask 077 /etc/ldap would be 0700, and nslcd, which drops
// to its own user, could not read the CA in it).
constexpr const char* write_file_script = R"sh(set -eu
(umask 022 && mkdir -p "${1%/*}")
umask 077
cat > "$1.lxcprov-new"
chmod "$2" "$1.lxcprov-new"
mv -f "$1.lxcprov-new" "$1"
)sh";

// Turns the LDAP client on where the tools exist (Rocky: authselect; Debian: pam-auth-update, with
// home directories made at first login) and restarts it so it reads the configuration just
// written. A template without the client still gets its configuration (exit 0); a client that is
// installed but does not come up is exit 3: that container's LDAP login would not work.
// The container was started a moment ago, so systemd may not answer yet: wait for it (bounded)
// instead of letting the restart fail, and bound the restart itself (it waits for boot ordering).
constexpr const char* ldap_activate_script = R"sh(
export DEBIAN_FRONTEND=noninteractive
if command -v authselect >/dev/null 2>&1; then authselect select sssd with-mkhomedir --force >/dev/null 2>&1 || true; fi
if command -v pam-auth-update >/dev/null 2>&1; then pam-auth-update --enable mkhomedir >/dev/null 2>&1 || true; fi
command -v systemctl >/dev/null 2>&1 && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || exit 0
i=0
until systemctl show -p Version >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -le 150 ] || exit 3
  sleep 0.2
done
systemctl cat "$1.service" >/dev/null 2>&1 || exit 0
timeout 45 systemctl restart "$1.service" >/dev/null 2>&1 || exit 3
)sh";

// The agent's client.keys (first line of stdin: the secret key never is an argument) and ossec.conf
// (the rest), root:wazuh 0640 as the agent package installs them (root:root without that group).
constexpr const char* wazuh_files_script = R"sh(set -eu
umask 077
mkdir -p /var/ossec/etc
IFS= read -r key
g=root
if grep -q '^wazuh:' /etc/group 2>/dev/null; then g=wazuh; fi
printf '%s\n' "$key" > /var/ossec/etc/.client.keys.lxcprov
key=
chown "root:$g" /var/ossec/etc/.client.keys.lxcprov
chmod 640 /var/ossec/etc/.client.keys.lxcprov
mv -f /var/ossec/etc/.client.keys.lxcprov /var/ossec/etc/client.keys
cat > /var/ossec/etc/.ossec.conf.lxcprov
chown "root:$g" /var/ossec/etc/.ossec.conf.lxcprov
chmod 640 /var/ossec/etc/.ossec.conf.lxcprov
mv -f /var/ossec/etc/.ossec.conf.lxcprov /var/ossec/etc/ossec.conf
if [ -x /var/ossec/bin/wazuh-control ]; then (/var/ossec/bin/wazuh-control restart >/dev/null 2>&1 &); fi
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
                    state::NewContainer nc{req.container_name, req.username, req.distribution, req.http_port, job_id, {}};
                    if (forwards_) {
                      const auto& p = config_.ports;
                      nc.ports.push_back({"SSH", "tcp", 22, p.ssh_first, p.ssh_last});
                      for (const auto& name : req.extra_protocols) {
                        const auto* proto = network::find_protocol(config_.protocols, name);
                        if (!proto) return Status(make_error(Errc::invalid_argument,
                                                             "EXTRA_PROTOCOLS: " + name + " is not in the catalog"));
                        for (const auto& pp : proto->ports)
                          nc.ports.push_back({proto->name, pp.proto, pp.port, p.extra_first, p.extra_last});
                      }
                    } else if (!req.extra_protocols.empty()) {
                      return Status(make_error(Errc::invalid_argument,
                                               "EXTRA_PROTOCOLS: port forwards are off on this server"));
                    }
                    auto r = store_.reserve_container(nc, config_.pool, config_.ctid_min);
                    if (!r) return Status(r.error());
                    rec = *r;
                    return Status();
                  },
                  // Forwards and routes are rendered from the rows: once the row is gone, install
                  // again, or a sync by a concurrent job between our undos could leave ours in.
                  // Only the row this job reserved: after a crash the reserve may be undone without
                  // knowing whether it won, and a lost race must not free the winner's row.
                  [this, name, job_id] {
                    auto row = store_.find_container(name);
                    if (!row) return Status(row.error());
                    if (!row->has_value() || (*row)->job_id != job_id) return Status();
                    if (auto s = store_.release_container(name); !s) return s;
                    return sync_network();
                  }});
  plan.push_back({"clone",
                  [this, &req, &rec] {
                    const auto* dist = config_.find_distribution(req.distribution);
                    if (!dist) return Status(make_error(Errc::invalid_argument, "LINUX_DISTRIBUTION: not configured"));
                    if (!runtime_.exists(dist->template_name))
                      return Status(make_error(Errc::unavailable,
                                               fmt::format("template for {} is not installed", dist->name)));
                    // Golden value before the clone (R-ATT-1): a template changed since it was
                    // sealed is refused, and as this step fails the reservation is undone, so
                    // nothing of the create remains.
                    if (config_.templates.require_seal) {
                      if (!seals_)
                        return Status(make_error(Errc::internal, "template seal checks are required but not set up"));
                      if (auto s = seals_->check(dist->template_name); !s) return s;
                    }
                    auto ip = network::parse_ipv4(rec.ip);
                    if (!ip) return Status(make_error(Errc::internal, "reserved address is malformed"));
                    lxc::CloneSpec spec{rec.name,
                                        dist->template_name,
                                        config_.network.bridge,
                                        config_.pool.cidr(*ip),
                                        config_.network.gateway,
                                        hwaddr_for(*ip),
                                        {}};
                    auto limits = config::limit_keys(config_.limits, cgroup_version_);
                    if (!limits) return Status(limits.error());
                    for (const auto& [k, v] : *limits) spec.extra[k] = v;
                    // After the limits, so an operator's explicit lxc_config key wins.
                    for (const auto& [k, v] : config_.lxc_config) spec.extra[k] = v;
                    return runtime_.clone(spec);
                  },
                  [this, name] { return runtime_.destroy(name); }});
  plan.push_back({"start", [this, name] { return runtime_.start(name, config_.start_timeout); },
                  [this, name] { return runtime_.stop(name); }});
  if (forwards_)
    plan.push_back({"ports", [this] { return sync_forwards(); },
                    [this, name] {
                      if (auto s = store_.release_ports(name); !s) return s;
                      return sync_forwards();
                    }});
  if (routes_)
    plan.push_back({"route", [this] { return sync_routes(); }, [this, name] { return sync_routes(name); }});
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
  if (ldap_login_)
    plan.push_back({"ldap-login", [this, &req, name] { return write_ldap_login(name, req.distribution); }, {}});
  if (wazuh_ && agents_)
    plan.push_back({"wazuh",
                    [this, name]() -> Status {
                      std::lock_guard lock(agents_mutex_);
                      auto e = enroll_agent(name);
                      if (!e) {
                        const bool down = e.error().code == Errc::unavailable || e.error().code == Errc::timeout;
                        if (down && config_.wazuh.on_unavailable == "pending")
                          return agents_->put({name, "", "pending", 1});
                        return e.error();
                      }
                      // Recorded before anything else can fail, so every later undo finds the agent.
                      if (auto s = agents_->put({name, e->id, "enrolled", 0}); !s) {
                        (void)wazuh_->remove(e->id);
                        return s;
                      }
                      if (auto s = write_agent_files(name, *e); !s) {
                        (void)forget_agent(name);  // this step's own partial work
                        return s;
                      }
                      return Status();
                    },
                    [this, name] {
                      std::lock_guard lock(agents_mutex_);
                      return forget_agent(name);
                    }});
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
  o.lines = {fmt::format("Container {} is running.", rec.name), fmt::format("  name:  {}", rec.name),
             fmt::format("  ip:    {}", rec.ip)};
  for (auto& line : network_lines(rec)) o.lines.push_back(std::move(line));
  o.lines.push_back(fmt::format("  job:   {}", job_id));
  if (req.public_key.empty()) o.lines.push_back("  note:  no public key was given, so nobody can log in by ssh yet");
  if (agents_)
    if (auto a = agents_->find(rec.name); a && a->has_value() && (*a)->state == "pending")
      o.lines.push_back("  wazuh: the manager is unavailable; the agent is enrolled later (pending)");
  return o;
}

std::vector<Step> Provisioner::delete_plan(const std::string& name, const std::string& job_id) {
  // Each step is idempotent, so a delete interrupted by a crash is finished by running it again.
  std::vector<Step> plan{
      {"mark", [this, name, job_id] { return store_.set_container_state(name, "deleting", job_id); }, {}},
      {"destroy", [this, name] { return runtime_.destroy(name); }, {}},
      {"release", [this, name] { return store_.release_container(name); }, {}},
  };
  // Before "destroy": the agent must leave the manager while its record still says which one it is,
  // or a re-created name would meet a duplicate agent.
  if (wazuh_ && agents_)
    plan.insert(plan.begin() + 1, Step{"unenroll", [this, name]() -> Status {
                                         std::lock_guard lock(agents_mutex_);
                                         auto s = forget_agent(name);
                                         if (s || config_.wazuh.on_unavailable == "fail") return s;
                                         // pending: the container goes; the stale agent is removed by name
                                         // when the name is created again (enroll_agent).
                                         return Status();
                                       },
                                       {}});
  // The rows are gone with "release"; installing from the state now drops this container's
  // forwards and route.
  if (forwards_) plan.push_back({"unforward", [this] { return sync_forwards(); }, {}});
  if (routes_) plan.push_back({"unroute", [this] { return sync_routes(); }, {}});
  return plan;
}

Outcome Provisioner::destroy(const request::Request& req, const std::string& job_id, Reporter& reporter,
                             const std::string& fail_at) {
  auto owned = may_manage(req.username, req.admin, req.container_name);
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

Result<bool> Provisioner::may_manage(const std::string& user, bool admin, const std::string& name) {
  auto rec = store_.find_container(name);
  if (!rec) return rec.error();
  return rec->has_value() && (admin || (*rec)->owner == user);
}

Status Provisioner::admit_create(const std::string& user, const std::vector<std::string>& groups, bool admin,
                                 const std::string& distribution) {
  auto owned = store_.list_containers(user);
  if (!owned) return owned.error();
  return may_create(config_.access, user, groups, admin, owned->size(), distribution);
}

Outcome Provisioner::exists(const request::Request& req) {
  auto rec = store_.find_container(req.container_name);
  if (!rec) return fail("", rec.error(), "exists");
  if (!rec->has_value() || ((*rec)->owner != req.username && !req.admin))
    return {exit_code::not_found, {fmt::format("absent: no container {} of yours", req.container_name)}};
  const auto& r = **rec;
  auto st = runtime_.state(r.name);
  return {exit_code::ok,
          {fmt::format("present: {}", r.name), fmt::format("  owner: {}", r.owner),
           fmt::format("  state: {} ({})", st ? *st : "MISSING", r.state), fmt::format("  ip:    {}", r.ip),
           fmt::format("  job:   {}", r.job_id)}};
}

Outcome Provisioner::list(const request::Request& req) {
  auto recs = store_.list_containers(req.admin ? "" : req.username);  // an admin sees every container
  if (!recs) return fail("", recs.error(), "list");
  Outcome o;
  for (const auto& r : *recs) o.lines.push_back(container_lines(r));
  if (o.lines.empty()) o.lines.push_back("(no containers)");
  return o;
}

Outcome Provisioner::status(const request::Request& req) {
  auto job = store_.find_job(req.job_id);
  if (!job) return fail("", job.error(), "status");
  if (!job->has_value() || ((*job)->user != req.username && !req.admin))
    return {exit_code::not_found, {fmt::format("no job {} of yours", req.job_id)}};
  const auto& j = **job;
  return {exit_code::ok,
          {fmt::format("job {}: {} {} {}", j.id, j.op, j.container, j.state), fmt::format("  step:    {}", j.step),
           fmt::format("  outcome: {}", j.message)}};
}

Outcome Provisioner::logs(const request::Request& req) {
  auto job = store_.find_job(req.job_id);
  if (!job) return fail("", job.error(), "logs");
  if (!job->has_value() || ((*job)->user != req.username && !req.admin))
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
    converge(reporter);
    return;
  }
  for (const auto& job : *jobs) {
    reporter.info(fmt::format("recovering job {} ({} {})", job.id, job.op, job.container));
    if (job.op == "create") {
      request::Request req;
      req.container_name = job.container;
      state::ContainerRecord rec;
      // A crash inside the "wazuh" step leaves an agent its undo would not know about.
      if (wazuh_ && agents_) {
        std::lock_guard lock(agents_mutex_);
        if (auto f = forget_agent(job.container); !f)
          reporter.info(fmt::format("Wazuh agent of {} not removed: {}", job.container, f.error().message));
      }
      auto s = undo_recorded(create_plan(req, job.id, rec), store_, reporter, job.id, job.step);
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
  converge(reporter);
  if (wazuh_ && agents_) retry_pending_agents(reporter);
}

void Provisioner::converge(Reporter& reporter) {
  // Whatever a crash left in nftables or nginx (a half-finished job, a missed undo), installing
  // from the state makes them match it again.
  if (forwards_) {
    if (auto s = sync_forwards(); !s) reporter.info(fmt::format("port forwards not installed: {}", s.error().message));
  }
  if (routes_) {
    if (auto s = sync_routes(); !s) reporter.info(fmt::format("HTTP routes not installed: {}", s.error().message));
  }
}

Status Provisioner::sync_network() {
  Status forwards = forwards_ ? sync_forwards() : Status();
  Status routes = routes_ ? sync_routes() : Status();
  return forwards ? routes : forwards;
}

Status Provisioner::sync_forwards() {
  if (!forwards_) return {};
  std::lock_guard lock(forwards_mutex_);
  auto ports = store_.list_ports();
  if (!ports) return ports.error();
  auto containers = store_.list_containers("");
  if (!containers) return containers.error();
  std::map<std::string, uint32_t> ip_of;
  for (const auto& c : *containers)
    if (auto ip = network::parse_ipv4(c.ip)) ip_of[c.name] = *ip;
  std::vector<network::Forward> forwards;
  for (const auto& p : *ports) {
    auto it = ip_of.find(p.container);
    if (it == ip_of.end()) continue;  // cannot happen (foreign key), and a rule to nowhere helps nobody
    forwards.push_back({p.container, p.service, p.proto, p.public_port, it->second, p.container_port});
  }
  network::NftOptions options;
  options.table = config_.ports.table;
  if (!config_.ports.public_address.empty())
    options.public_address = network::parse_ipv4(config_.ports.public_address).value_or(0);
  options.prefix = config_.pool.prefix_length();
  const uint32_t mask = options.prefix == 0 ? 0 : ~uint32_t{0} << (32 - options.prefix);
  options.subnet = config_.pool.gateway() & mask;
  options.masquerade = config_.ports.masquerade;
  return forwards_->apply(network::render_nft_ruleset(options, std::move(forwards)));
}

Status Provisioner::sync_routes(const std::string& exclude) {
  if (!routes_) return {};
  std::lock_guard lock(routes_mutex_);
  auto containers = store_.list_containers("");
  if (!containers) return containers.error();
  std::vector<network::Route> routes;
  for (const auto& c : *containers) {
    if (c.name == exclude || c.state == "deleting") continue;
    if (auto ip = network::parse_ipv4(c.ip)) routes.push_back({c.name, *ip, c.http_port});
  }
  network::NginxOptions options;
  options.domain = config_.http.domain;
  if (!config_.http.listen_address.empty())
    options.listen_address = network::parse_ipv4(config_.http.listen_address).value_or(0);
  options.listen_port = config_.http.listen_port;
  if (config_.http.tls)
    options.tls = network::NginxTls{config_.http.tls->certificate, config_.http.tls->key, config_.http.tls->listen_port};
  return routes_->install(network::render_nginx_routes(options, std::move(routes)));
}

std::vector<std::string> Provisioner::network_lines(const state::ContainerRecord& rec) const {
  std::vector<std::string> lines;
  const state::PortRecord* ssh = nullptr;
  for (const auto& p : rec.ports)
    if (p.service == "SSH") ssh = &p;
  if (ssh)
    lines.push_back(fmt::format("  ssh:   ssh -p {} root@{}", ssh->public_port, config_.public_host));
  // Forwards skip loopback (lxcprov's own sshd listens there), so on the hypervisor itself the
  // container's address is the way in.
  lines.push_back(fmt::format("  ssh:   ssh root@{}   (on the hypervisor)", rec.ip));
  if (routes_) {
    // With TLS the plain-http URL only redirects, so the https one is the address to give out.
    const bool tls = config_.http.tls.has_value();
    const uint16_t listen = tls ? config_.http.tls->listen_port : config_.http.listen_port;
    const std::string port = listen == (tls ? 443 : 80) ? "" : fmt::format(":{}", listen);
    lines.push_back(fmt::format("  http:  {}://{}.{}{}/   (to port {} in the container)", tls ? "https" : "http",
                                rec.name, config_.http.domain, port, rec.http_port));
  }
  for (const auto& p : rec.ports)
    if (p.service != "SSH")
      lines.push_back(fmt::format("  {}:  {}:{}/{} -> container port {}", p.service, config_.public_host,
                                  p.public_port, p.proto, p.container_port));
  return lines;
}

Result<wazuh::Enrollment> Provisioner::enroll_agent(const std::string& name) {
  auto e = wazuh_->enroll(name);
  if (e || e.error().code != Errc::conflict) return e;
  // authd refuses a name it knows. We hold the reservation of `name`, so that agent belongs to an
  // earlier container of the same name that is gone: remove it and enroll once more.
  auto stale = wazuh_->find(name);
  if (!stale) return stale.error();
  for (const auto& a : *stale)
    if (auto s = wazuh_->remove(a.id); !s) return s.error();
  return wazuh_->enroll(name);
}

Status Provisioner::write_container_file(const std::string& name, const std::string& path, const char* mode,
                                         const std::string& content) {
  auto r = runtime_.run(name, {"/bin/sh", "-c", write_file_script, "lxcprov-write", path, mode}, content, 30s);
  if (!r) return r.error();
  if (r->exit_status != 0)
    return make_error(Errc::internal, fmt::format("writing {} in the container failed (exit {})", path, r->exit_status));
  return {};
}

Status Provisioner::write_agent_files(const std::string& name, const wazuh::Enrollment& e) {
  auto conf = config::render_wazuh_agent_config(agent_config_template_, config_.wazuh.manager,
                                                config_.wazuh.agent_port, name);
  if (!conf) return conf.error();
  Secret keys = wazuh::client_keys(e);
  std::string input(keys.reveal());
  input += *conf;
  auto r = runtime_.run(name, {"/bin/sh", "-c", wazuh_files_script, "lxcprov-wazuh"}, input, 30s);
  std::fill(input.begin(), input.end(), '\0');  // the key was in it
  if (!r) return r.error();
  if (r->exit_status != 0)
    return make_error(Errc::internal, fmt::format("writing the Wazuh agent files failed (exit {})", r->exit_status));
  return {};
}

Status Provisioner::forget_agent(const std::string& name) {
  auto rec = agents_->find(name);
  if (!rec) return rec.error();
  if (rec->has_value() && !(*rec)->agent_id.empty()) {
    if (auto s = wazuh_->remove((*rec)->agent_id); !s) return s;
  } else if (rec->has_value() && (*rec)->state == "pending") {
    // Never enrolled by this container: nothing on the manager to remove (a stale agent of the
    // name is removed when the name is enrolled again).
  } else {
    // Pending, or a record lost to a crash: whatever agent carries the name is this container's.
    auto found = wazuh_->find(name);
    if (!found) return found.error();
    for (const auto& a : *found)
      if (auto s = wazuh_->remove(a.id); !s) return s;
  }
  return agents_->remove(name);
}

Status Provisioner::write_ldap_login(const std::string& name, const std::string& distribution) {
  const auto& L = config_.container_ldap;
  auto it = L.clients.find(distribution);
  const std::string client = it != L.clients.end() ? it->second : L.default_client;
  auto tpl = ldap_templates_.find(client);
  if (tpl == ldap_templates_.end())
    return make_error(Errc::unavailable, fmt::format("no {} template is installed", client));
  auto files = config::render_ldap_client(client, tpl->second, L.uri, L.base_dn);
  if (!files) return files.error();
  if (auto s = write_container_file(name, files->ca_path, "644", ldap_ca_pem_); !s) return s;
  if (auto s = write_container_file(name, files->config_path, "600", files->config_text); !s) return s;
  auto r = runtime_.run(name, {"/bin/sh", "-c", ldap_activate_script, "lxcprov-ldap", client}, "", 90s);
  if (!r) return r.error();
  if (r->exit_status != 0)
    return make_error(Errc::internal,
                      fmt::format("{} did not start in the container (exit {})", client, r->exit_status));
  return {};
}

void Provisioner::retry_pending_agents(Reporter& reporter) {
  if (!wazuh_ || !agents_) return;
  auto pending = agents_->pending();
  if (!pending) {
    reporter.info(fmt::format("pending Wazuh agents not read: {}", pending.error().message));
    return;
  }
  for (const auto& p : *pending) {
    if (p.attempts >= config_.wazuh.retry_attempts) continue;  // given up: logged when it happened
    std::lock_guard lock(agents_mutex_);
    // Re-read under the lock: a delete may have removed it, or the container may not be ready.
    auto c = store_.find_container(p.container);
    auto cur = agents_->find(p.container);
    if (!c || !c->has_value() || (*c)->state != "ready" || !cur || !cur->has_value() || (*cur)->state != "pending")
      continue;
    auto e = enroll_agent(p.container);
    Status s = e ? agents_->put({p.container, e->id, "enrolled", 0}) : Status(e.error());
    if (e && s) {
      if (s = write_agent_files(p.container, *e); !s) (void)forget_agent(p.container);
    }
    if (s) {
      reporter.info(fmt::format("Wazuh agent of {} enrolled (id {})", p.container, e->id));
      continue;
    }
    const int attempts = p.attempts + 1;
    (void)agents_->put({p.container, "", "pending", attempts});
    reporter.info(fmt::format("Wazuh agent of {} still pending (attempt {} of {}): {}", p.container, attempts,
                              config_.wazuh.retry_attempts, s.error().message));
    if (attempts >= config_.wazuh.retry_attempts)
      reporter.info(fmt::format("Wazuh agent of {}: retries given up; delete and re-create the container, or "
                                "enroll it by hand", p.container));
  }
}

}  // namespace lxcprov::jobs
