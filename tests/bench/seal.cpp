// lxcprov_bench_seal: what the per-create seal check costs, next to what a create costs, measured
// in one run with lxcprov's own code and no daemon, ssh or auth (tests/bench/seal_bench.sh runs it).
//   lxcprov_bench_seal LXCPATH DATABASE TEMPLATE BRIDGE NET RUNS VERIFY_RUNS
// NET: the first three octets of BRIDGE's /24 ("10.49.7"; .1 is the gateway). The template must
// be sealed in DATABASE. Each of RUNS rounds (after one warm-up round) times the seal check the
// daemon runs before a clone (seal lookup + fingerprint walk) and then an in-process create
// (clone + start + attach `true`), destroying the clone afterwards, so both see the same cache and
// load. Then VERIFY_RUNS full content walks (what `lxcprovctl template verify` does).
// Prints one markdown table row; the script prints the header.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "container/cgroup_probe.hpp"
#include "container/liblxc_runtime.hpp"
#include "container/template_seal.hpp"
#include "state/sqlite_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double median, lo, hi;
};

Stats stats(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  const double median = n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  return {median, xs.front(), xs.back()};
}

std::string show(const Stats& s) { return fmt::format("{:.2f} ms ({:.2f}–{:.2f})", s.median, s.lo, s.hi); }

}  // namespace

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  using namespace lxcprov;
  if (argc != 8) {
    std::fprintf(stderr, "usage: lxcprov_bench_seal LXCPATH DATABASE TEMPLATE BRIDGE NET RUNS VERIFY_RUNS\n");
    return 2;
  }
  const std::string lxcpath = argv[1], database = argv[2], tpl = argv[3], bridge = argv[4], net = argv[5];
  const int runs = std::atoi(argv[6]), verify_runs = std::atoi(argv[7]);
  if (runs < 1 || verify_runs < 1) return 2;

  auto store = state::SqliteStore::open(database);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  container::StoredTemplateSeals seals(**store, lxcpath);
  // The confinement lxcprovd gives every container (default config, this host's cgroup layout).
  container::LiblxcRuntime rt(
      lxcpath, container::LiblxcRuntime::confinement_for({}, container::probe_cgroup_version(), lxcpath));
  if (auto p = rt.prepare(); !p) {
    std::fprintf(stderr, "%s\n", p.error().message.c_str());
    return 1;
  }

  std::vector<double> checks, creates, walks;
  uint64_t entries = 0;
  for (int i = 0; i <= runs; ++i) {  // round 0 warms the caches and is not counted
    auto t0 = Clock::now();
    auto s = seals.check(tpl);
    auto t1 = Clock::now();
    if (!s) {
      std::fprintf(stderr, "seal check of %s: %s\n", tpl.c_str(), s.error().message.c_str());
      return 1;
    }
    // The walk alone, without the database lookup.
    auto w0 = Clock::now();
    auto m = container::measure_template(lxcpath + "/" + tpl, container::WalkMode::fingerprint);
    auto w1 = Clock::now();
    if (!m) return 1;
    entries = m->entries;

    const std::string name = fmt::format("bench-seal-{}-{}", ::getpid(), i);
    container::CloneSpec spec{name,       tpl,
                              bridge,     fmt::format("{}.{}/24", net, 10 + i % 200),
                              net + ".1", fmt::format("00:16:3e:fe:00:{:02x}", i % 256),
                              "",         {}};
    auto c0 = Clock::now();
    auto c = rt.clone(spec);
    auto st = c ? rt.start(name, 30s) : c;
    auto r = st ? rt.run(name, {"true"}, "", 30s) : Result<container::RunResult>(st.error());
    auto c1 = Clock::now();
    (void)rt.destroy(name);
    if (!c || !st || !r || r->exit_status != 0) {
      std::fprintf(stderr, "create from %s failed: %s\n", tpl.c_str(),
                   !c    ? c.error().message.c_str()
                   : !st ? st.error().message.c_str()
                         : "attach failed");
      return 1;
    }
    if (i == 0) continue;
    checks.push_back(ms(t1 - t0));
    walks.push_back(ms(w1 - w0));
    creates.push_back(ms(c1 - c0));
  }
  std::vector<double> verifies;
  for (int i = 0; i < verify_runs; ++i) {
    auto t0 = Clock::now();
    auto m = container::measure_template(lxcpath + "/" + tpl, container::WalkMode::content);
    auto t1 = Clock::now();
    if (!m) {
      std::fprintf(stderr, "content walk of %s: %s\n", tpl.c_str(), m.error().message.c_str());
      return 1;
    }
    verifies.push_back(ms(t1 - t0));
  }
  const Stats check = stats(checks), walk = stats(walks), create = stats(creates), verify = stats(verifies);
  std::printf("| %s | %llu | %s | %s | %s | %.1f%% | %s (N=%d) |\n", tpl.c_str(),
              static_cast<unsigned long long>(entries), show(check).c_str(), show(walk).c_str(), show(create).c_str(),
              100.0 * check.median / create.median, show(verify).c_str(), verify_runs);
  return 0;
}
