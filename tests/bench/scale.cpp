// lxcprov_bench_scale: what a create and a delete cost lxcprov's own code as the number of
// existing containers grows, and what the whole-state path they replaced costs in the same run.
//   lxcprov_bench_scale DIR ROUNDS SIZES        (SIZES: "0,250,500,1000", ascending: containers are
//                                                only added)
// Run by tests/bench/scale_bench.sh inside a network namespace of its own (`unshare -n`), so the
// nftables tables and the nginx it starts (on 127.0.0.1 of that namespace) meet no one's traffic.
//
// Everything but liblxc is real: the Provisioner's create and delete plans, SqliteStore, the
// isolation, forwarding and routing features with NftApplier (nft -f against the kernel) and
// NginxInstaller (nginx -t and reload of a running nginx). The runtime is the recording fake, so the
// existing containers are rows, nft elements and nginx routes made by the same plan a real create
// runs, without processes: clone, start and configure do not depend on how many containers exist,
// and everything that does is here. For each size N (the containers created up to N first):
//   - ROUNDS creates + deletes of one more container (median ms), and the create's network steps;
//   - before: what one create's network steps cost when each regenerated its whole table or file
//     (the features' converge(), and the nginx include with one server block per route, as it was);
//   - convergence: every feature's whole state applied (what start-up does), and this process's RSS.
// Prints markdown table rows; the script prints the header.

#include <unistd.h>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "../fakes/call_log.hpp"
#include "../fakes/fake_template_seals.hpp"
#include "../fakes/recording_edges.hpp"
#include "config/config.hpp"
#include "forwarding/forwarding_feature.hpp"
#include "forwarding/nft_ruleset.hpp"
#include "host/local_host.hpp"
#include "isolation/isolation_feature.hpp"
#include "jobs/provisioner.hpp"
#include "network/nft_applier.hpp"
#include "routing/nginx_installer.hpp"
#include "routing/nginx_routes.hpp"
#include "routing/routing_feature.hpp"
#include "state/sqlite_store.hpp"

namespace {

using namespace lxcprov;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> xs) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  const size_t n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

class Steps : public jobs::Reporter {
 public:
  void step_started(std::string_view) override {}
  void step_finished(std::string_view step, std::chrono::microseconds took) override {
    took_[std::string(step)] = static_cast<double>(took.count()) / 1000.0;
  }
  void step_failed(std::string_view step, const Error& e) override {
    std::fprintf(stderr, "step %.*s failed: %s\n", static_cast<int>(step.size()), step.data(), e.message.c_str());
  }
  void undo_failed(std::string_view, const Error&) override {}
  void info(std::string_view text) override {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(text.size()), text.data());
  }
  double took(const std::string& step) const {
    auto it = took_.find(step);
    return it == took_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> took_;
};

double rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// The include file as it was before the route map: one server block per route.
std::string server_blocks(const config::Config& c, const std::vector<state::ContainerRecord>& rows) {
  std::string out = "map $http_upgrade $lxcprov_connection_upgrade {\n  default upgrade;\n  ''      close;\n}\n";
  for (const auto& r : rows)
    out += fmt::format(
        "server {{\n  listen {}:{};\n  server_name {}.{};\n  location / {{\n    proxy_pass http://{}:{};\n"
        "    proxy_http_version 1.1;\n    proxy_set_header Host $host;\n    proxy_set_header X-Real-IP $remote_addr;\n"
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "    proxy_set_header X-Forwarded-Proto $scheme;\n    proxy_set_header Upgrade $http_upgrade;\n"
        "    proxy_set_header Connection $lxcprov_connection_upgrade;\n    proxy_buffering off;\n"
        "    proxy_read_timeout 300s;\n  }}\n}}\n",
        c.http.listen_address, c.http.listen_port, r.name, c.http.domain, r.ip, r.http_port);
  return out;
}

// No containers at all, and safe from any thread: for the burst, where jobs run at once.
class NullRuntime : public container::ContainerRuntime {
 public:
  explicit NullRuntime(std::chrono::milliseconds start = {}) : start_(start) {}
  bool exists(const std::string& name) override { return name.rfind("tpl-", 0) == 0; }
  Result<std::string> state(const std::string&) override { return std::string("RUNNING"); }
  Result<std::vector<std::string>> list() override { return std::vector<std::string>{}; }
  Status clone(const container::CloneSpec&) override { return {}; }
  Status seed(const std::string&, const container::FirstBoot&) override { return {}; }  // as lxcprovd's does
  Status start(const std::string&, std::chrono::milliseconds) override {
    std::this_thread::sleep_for(start_);
    return {};
  }
  Result<container::RunResult> run(const std::string&, const std::vector<std::string>&, const std::string&,
                                   std::chrono::milliseconds) override {
    return container::RunResult{0, ""};
  }
  Result<container::RunResult> run_as(const std::string&, const std::vector<std::string>&,
                                      const container::RunOptions&) override {
    return container::RunResult{0, ""};
  }
  Status stop(const std::string&) override { return {}; }
  Status destroy(const std::string&) override { return {}; }

 private:
  std::chrono::milliseconds start_;
};

// Counts what reaches nft and nginx.
class CountingNft : public network::RulesetApplier {
 public:
  explicit CountingNft(network::RulesetApplier& real) : real_(real) {}
  Status apply(const std::string& text) override {
    ++calls;
    return real_.apply(text);
  }
  std::atomic<int> calls{0};

 private:
  network::RulesetApplier& real_;
};

// Counts nginx reloads (an install of the text nginx already runs reloads nothing).
class CountingHost : public host::Host {
 public:
  explicit CountingHost(host::Host& real) : real_(real) {}
  Result<std::string> read_file(const std::string& path) override { return real_.read_file(path); }
  Status replace_file(const std::string& path, std::string_view content, const host::FileMode& mode) override {
    return real_.replace_file(path, content, mode);
  }
  Result<host::ProcessResult> run(const std::vector<std::string>& argv, std::string_view input,
                                  std::chrono::milliseconds timeout) override {
    // Every reload follows one `nginx -t` (the reload itself is a signal, not a process).
    if (std::find(argv.begin(), argv.end(), "-t") != argv.end()) ++reloads;
    return real_.run(argv, input, timeout);
  }
  Result<host::ProcessResult> run_as(const std::vector<std::string>& argv, const host::RunAsOptions& o) override {
    return real_.run_as(argv, o);
  }
  std::atomic<int> reloads{0};

 private:
  host::Host& real_;
};

int fail(const std::string& what) {
  std::fprintf(stderr, "lxcprov_bench_scale: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return fail("usage: lxcprov_bench_scale DIR ROUNDS SIZES");
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);  // as lxcprovd sets it (daemon/wiring/daemon.cpp)
  const fs::path dir = argv[1];
  const int rounds = std::atoi(argv[2]);
  std::vector<int> sizes;
  {
    std::stringstream ss(argv[3]);
    for (std::string s; std::getline(ss, s, ',');) sizes.push_back(std::stoi(s));
  }
  fs::create_directories(dir / "logs");

  config::Config c = config::defaults();
  c.network.bridge = "lxbench0";
  c.network.subnet = "10.250.0.0/20";
  c.network.gateway = "10.250.0.1";
  c.network.first = "10.250.0.10";
  c.network.last = "10.250.15.250";
  c.network.dns = {};
  auto pool = network::IpPool::parse(c.network.subnet, c.network.gateway, c.network.first, c.network.last);
  if (!pool) return fail(pool.error().message);
  c.pool = *pool;
  c.ports.table = "lxbench";
  c.ports.ssh_first = 30000;
  c.ports.ssh_last = 39999;
  c.isolation.table = "lxbench_iso";
  c.http.listen_address = "127.0.0.1";
  c.http.listen_port = 18080;
  c.http.include_file = (dir / "routes.conf").string();

  const std::string conf = (dir / "nginx.conf").string();
  std::ofstream(conf) << "pid " << (dir / "nginx.pid").string() << ";\nerror_log " << (dir / "logs/error.log").string()
                      << ";\nworker_processes 1;\nevents {}\nhttp {\n  access_log off;\n"
                      << "  server_names_hash_bucket_size 128;\n  include " << c.http.include_file << ";\n}\n";
  std::ofstream(c.http.include_file) << "";
  host::LocalHost host;
  auto started = host.run({c.http.nginx, "-p", dir.string(), "-c", conf}, "", 30s);
  if (!started || started->exit_status != 0) return fail("nginx did not start");

  auto store = state::SqliteStore::open((dir / "state.db").string());
  if (!store) return fail(store.error().message);
  network::NftApplier iso_nft("the container isolation");
  network::NftApplier fwd_nft("the port forwards");
  // As lxcprovd wires it: the reload signals the master named by the config's pid file.
  auto nginx_settings = routing::local_nginx_settings(c.http.nginx, dir.string(), conf, c.http.include_file, 30s);
  nginx_settings.pid_file = routing::nginx_pid_path(host.read_file(conf).value_or(""), dir.string());
  routing::NginxInstaller nginx(host, nginx_settings);
  isolation::IsolationFeature isolation(c, **store, iso_nft);
  forwarding::ForwardingFeature forwarding(c, **store, fwd_nft);
  routing::RoutingFeature routing(c, **store, nginx);
  testing::CallLog log;
  testing::RecordingRuntime runtime(log);
  testing::FakeTemplateSeals seals;
  jobs::Provisioner provisioner(c, **store, runtime, seals, container::CgroupVersion::v2,
                                {&isolation, &forwarding, &routing});
  provisioner.set_concurrently(jobs::sequentially);  // the recording runtime is single-threaded
  Steps steps;
  provisioner.converge(steps);

  int jobs = 0;
  auto request = [&](const std::string& name, int user) {
    request::Request r;
    r.username = "user" + std::to_string(user % 7);
    r.container_name = name;
    r.distribution = "busybox";
    r.http_port = 8080;
    r.public_key = "ssh-ed25519 AAAA bench";
    return r;
  };
  auto create = [&](const std::string& name, int user) {
    const std::string job = fmt::format("{:016x}", ++jobs);
    (void)(*store)->create_job({job, state::JobKind::create, name, "user", state::JobState::pending, "", 0, "", 1, 1});
    return provisioner.create(request(name, user), job, steps).exit_code;
  };
  auto destroy = [&](const std::string& name, int user) {
    const std::string job = fmt::format("{:016x}", ++jobs);
    (void)(*store)->create_job({job, state::JobKind::destroy, name, "user", state::JobState::pending, "", 0, "", 1, 1});
    return provisioner.destroy(request(name, user), job, steps).exit_code;
  };

  // The create as lxcprovd runs it: a start that takes what busybox's takes (26 ms, the daemon's
  // own step timing in docs/benchmarks.md), with the forwards and the route beside it on threads.
  NullRuntime busybox_start(26ms);
  jobs::Provisioner as_run(c, **store, busybox_start, seals, container::CgroupVersion::v2,
                           {&isolation, &forwarding, &routing});

  int existing = 0;
  double base_create = 0, base_network = 0, base_as_run = 0;
  for (int n : sizes) {
    for (; existing < n; ++existing)
      if (create(fmt::format("fill-{}", existing), existing) != 0) return fail("a fill create failed");
    std::vector<double> creates, deletes, network, old_nft, old_nginx, converge, as_run_creates;
    std::map<std::string, std::vector<double>> by_step;
    for (int i = 0; i <= rounds; ++i) {  // round 0 warms up
      auto t0 = Clock::now();
      if (create("probe", i) != 0) return fail("the probe create failed");
      const double took = ms(Clock::now() - t0);
      const double net = steps.took("isolate") + steps.took("ports") + steps.took("route");
      t0 = Clock::now();
      if (destroy("probe", i) != 0) return fail("the probe delete failed");
      const double del = ms(Clock::now() - t0);
      {
        const std::string job = fmt::format("{:016x}", ++jobs);
        (void)(*store)->create_job(
            {job, state::JobKind::create, "probe-run", "user", state::JobState::pending, "", 0, "", 1, 1});
        const auto r0 = Clock::now();
        if (as_run.create(request("probe-run", i), job, steps).exit_code != 0) return fail("the as-run create failed");
        if (i) as_run_creates.push_back(ms(Clock::now() - r0));
        const std::string del_job = fmt::format("{:016x}", ++jobs);
        (void)(*store)->create_job(
            {del_job, state::JobKind::destroy, "probe-run", "user", state::JobState::pending, "", 0, "", 1, 1});
        if (as_run.destroy(request("probe-run", i), del_job, steps).exit_code != 0)
          return fail("the as-run delete failed");
      }
      if (i == 0) continue;
      creates.push_back(took);
      deletes.push_back(del);
      network.push_back(net);
      for (const char* step : {"reserve", "isolate", "ports", "route", "ready"})
        by_step[step].push_back(steps.took(step));
    }
    // Before: each create's isolate and ports steps applied the whole table, its route step the
    // whole include with a server block per route (n + 1 of them, the new one included).
    auto rows = (*store)->list_containers("");
    if (!rows) return fail(rows.error().message);
    for (int i = 0; i <= rounds; ++i) {
      auto t0 = Clock::now();
      if (!isolation.converge() || !forwarding.converge()) return fail("whole nft apply failed");
      const double nft = ms(Clock::now() - t0);
      // The existing routes and the new container's; its port alternates so every install changes the
      // file, as every create did.
      auto these = *rows;
      state::ContainerRecord probe;
      probe.name = "probe";
      probe.ip = "10.250.15.250";
      probe.http_port = static_cast<uint16_t>(8080 + i % 2);
      these.push_back(probe);
      t0 = Clock::now();
      if (auto s = nginx.install(server_blocks(c, these)); !s) return fail("nginx server blocks: " + s.error().message);
      const double ngx = ms(Clock::now() - t0);
      if (i == 0) continue;
      old_nft.push_back(nft);
      old_nginx.push_back(ngx);
    }
    for (int i = 0; i <= rounds; ++i) {
      // Start-up convergence believes nothing: every table and the include are applied whole.
      std::ofstream(c.http.include_file) << "";
      routing::NginxInstaller fresh(host, nginx_settings);
      routing::RoutingFeature fresh_routing(c, **store, fresh);
      auto t0 = Clock::now();
      if (!isolation.converge() || !forwarding.converge() || !fresh_routing.converge()) return fail("converge failed");
      if (i) converge.push_back(ms(Clock::now() - t0));
    }
    if (!routing.converge()) return fail("routing converge failed");
    const double mc = median(creates), mn = median(network), mr = median(as_run_creates);
    if (base_create == 0) base_create = mc, base_network = mn, base_as_run = mr;  // the first row is the baseline
    std::printf("| %d | %.1f | %.2f× | %.1f | %.2f× | %.1f | %.2f× | %.1f | %.1f | %.1f | %.1f | %.1f |\n", n, mr,
                base_as_run > 0 ? mr / base_as_run : 0, mc, base_create > 0 ? mc / base_create : 0, mn,
                base_network > 0 ? mn / base_network : 0, median(deletes), median(old_nft), median(old_nginx),
                median(converge), rss_mb());
    std::fprintf(stderr, "steps at %d:", n);
    for (const auto& [step, xs] : by_step) std::fprintf(stderr, " %s %.1f ms", step.c_str(), median(xs));
    std::fprintf(stderr, "\n");
    std::fflush(stdout);
  }

  for (int i = 0; i < existing; ++i) (void)destroy(fmt::format("fill-{}", i), i);

  // Bursts: K creates handed to `workers` job threads at once (the daemon's jobs pool), against
  // the same K one after another, with the runtime doing nothing so only lxcprov's own work and
  // nft/nginx remain. Each feature's sync reads the state under its lock, so the first job to get
  // it installs every reservation made so far and the jobs queued behind it find nothing to do.
  NullRuntime null;
  CountingNft iso_count(iso_nft), fwd_count(fwd_nft);
  isolation::IsolationFeature iso2(c, **store, iso_count);
  forwarding::ForwardingFeature fwd2(c, **store, fwd_count);
  CountingHost counting_host(host);
  routing::NginxInstaller nginx2(counting_host, nginx_settings);
  routing::RoutingFeature routing2(c, **store, nginx2);
  jobs::Provisioner burst(c, **store, null, seals, container::CgroupVersion::v2, {&iso2, &fwd2, &routing2});
  burst.converge(steps);
  std::mutex jobs_mutex;

  // Overlap: a start that takes what busybox's takes (the daemon's own step timing, 26 ms in
  // docs/benchmarks.md) with ports and route in sequence after it, and beside it.
  {
    NullRuntime slow(26ms);
    jobs::Provisioner overlap(c, **store, slow, seals, container::CgroupVersion::v2, {&iso2, &fwd2, &routing2});
    std::vector<double> in_sequence, beside;
    for (int i = 0; i <= 2 * rounds + 1; ++i) {
      const bool threads = i % 2 == 1;  // interleaved
      overlap.set_concurrently(threads ? jobs::Concurrently(jobs::on_threads) : jobs::Concurrently(jobs::sequentially));
      const std::string job = fmt::format("{:016x}", ++jobs);
      (void)(*store)->create_job(
          {job, state::JobKind::create, "overlap", "user", state::JobState::pending, "", 0, "", 1, 1});
      auto t0 = Clock::now();
      if (overlap.create(request("overlap", i), job, steps).exit_code != 0) return fail("overlap create failed");
      const double took = ms(Clock::now() - t0);
      const std::string del = fmt::format("{:016x}", ++jobs);
      (void)(*store)->create_job(
          {del, state::JobKind::destroy, "overlap", "user", state::JobState::pending, "", 0, "", 1, 1});
      if (overlap.destroy(request("overlap", i), del, steps).exit_code != 0) return fail("overlap delete failed");
      if (i < 2) continue;
      (threads ? beside : in_sequence).push_back(took);
    }
    std::printf("\n| create with a 26 ms start (no container otherwise) | median ms | ratio |\n|---|---|---|\n");
    std::printf("| ports and route after the start (before) | %.1f | 1.00× |\n", median(in_sequence));
    std::printf("| ports and route beside the start (group) | %.1f | %.2f× |\n", median(beside),
                median(beside) / median(in_sequence));
    std::fflush(stdout);
  }

  std::printf(
      "\n| K | one at a time, ms | burst on %d workers, ms | ratio | nft applies (isolation + forwards) | nginx "
      "reloads | failures | duplicate IPs or ports |\n",
      c.workers);
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (int k : {10, 50, 100}) {
    auto run_jobs = [&](const std::string& prefix, int threads, bool create_them) {
      std::atomic<int> next{0}, failures{0};
      std::vector<std::thread> runners;
      for (int t = 0; t < threads; ++t)
        runners.emplace_back([&] {
          for (int i; (i = next++) < k;) {
            const std::string name = fmt::format("{}{}", prefix, i);
            std::string job;
            {
              std::lock_guard lock(jobs_mutex);
              job = fmt::format("{:016x}", ++jobs);
            }
            (void)(*store)->create_job({job, create_them ? state::JobKind::create : state::JobKind::destroy, name,
                                        "user", state::JobState::pending, "", 0, "", 1, 1});
            class Quiet : public jobs::Reporter {
              void step_started(std::string_view) override {}
              void step_finished(std::string_view, std::chrono::microseconds) override {}
              void step_failed(std::string_view, const Error&) override {}
              void undo_failed(std::string_view, const Error&) override {}
              void info(std::string_view) override {}
            } quiet;
            const auto o =
                create_them ? burst.create(request(name, i), job, quiet) : burst.destroy(request(name, i), job, quiet);
            if (o.exit_code != 0) ++failures;
          }
        });
      for (auto& t : runners) t.join();
      return failures.load();
    };
    auto t0 = Clock::now();
    int failures = run_jobs("seq-", 1, true);
    const double sequential = ms(Clock::now() - t0);
    failures += run_jobs("seq-", 1, false);
    iso_count.calls = 0, fwd_count.calls = 0;
    const int nginx_before = counting_host.reloads;
    t0 = Clock::now();
    failures += run_jobs("burst-", c.workers, true);
    const double wall = ms(Clock::now() - t0);
    const int nft_calls = iso_count.calls + fwd_count.calls;
    const int nginx_calls = counting_host.reloads - nginx_before;
    auto rows = (*store)->list_containers("");
    auto ports = (*store)->list_ports();
    std::set<std::string> ips, publics;
    size_t n_rows = 0, n_ports = 0;
    if (rows)
      for (const auto& r : *rows) ips.insert(r.ip), ++n_rows;
    if (ports)
      for (const auto& p : *ports) publics.insert(p.proto + std::to_string(p.public_port)), ++n_ports;
    const size_t duplicates = (n_rows - ips.size()) + (n_ports - publics.size());
    failures += run_jobs("burst-", c.workers, false);
    std::printf("| %d | %.0f | %.0f | %.2f× | %d (%d one at a time) | %d (%d one at a time) | %d | %zu |\n", k,
                sequential, wall, wall / sequential, nft_calls, 2 * k, nginx_calls, k, failures, duplicates);
    std::fflush(stdout);
  }
  (void)iso_nft.apply(isolation::render_isolation_removal(c.isolation.table));
  (void)fwd_nft.apply(forwarding::render_nft_removal(c.ports.table));
  (void)host.run({c.http.nginx, "-p", dir.string(), "-c", conf, "-s", "stop"}, "", 30s);
  return 0;
}
