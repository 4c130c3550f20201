// lxcprov_bench_floor: the in-process floor of a create, with lxcprov's own liblxc runtime and no
// daemon, ssh, auth or state: clone (overlay snapshot) + start + attach `true`, N times.
//   lxcprov_bench_floor LXCPATH TEMPLATE BRIDGE N
// Prints one line per run: "total_ms clone_ms start_ms attach_ms". Destroys what it makes.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "container/cgroup_probe.hpp"
#include "container/liblxc_runtime.hpp"

int main(int argc, char** argv) {
  using clock = std::chrono::steady_clock;
  using namespace std::chrono_literals;
  if (argc != 5) {
    std::fprintf(stderr, "usage: lxcprov_bench_floor LXCPATH TEMPLATE BRIDGE N\n");
    return 2;
  }
  // The confinement lxcprovd gives every container (default config, this host's cgroup layout).
  const auto version = lxcprov::container::probe_cgroup_version();
  lxcprov::container::LiblxcRuntime rt(argv[1],
                                       lxcprov::container::LiblxcRuntime::confinement_for({}, version, argv[1]));
  if (auto p = rt.prepare(); !p) {
    std::fprintf(stderr, "%s\n", p.error().message.c_str());
    return 1;
  }
  const int n = std::atoi(argv[4]);
  auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  for (int i = 0; i < n; ++i) {
    const std::string name = fmt::format("bench-floor-{}-{}", ::getpid(), i);
    // Addresses in 10.47.1.x: outside lxcprov's default pool, never routed anywhere.
    lxcprov::container::CloneSpec spec{name,        argv[2],
                                       argv[3],     fmt::format("10.47.1.{}/24", 10 + i % 200),
                                       "10.47.1.1", fmt::format("00:16:3e:ff:00:{:02x}", i % 256),
                                       "",          {}};
    auto t0 = clock::now();
    auto c = rt.clone(spec);
    auto t1 = clock::now();
    auto s = c ? rt.start(name, 10s) : c;
    auto t2 = clock::now();
    auto r = s ? rt.run(name, {"true"}, "", 10s) : lxcprov::Result<lxcprov::container::RunResult>(s.error());
    auto t3 = clock::now();
    (void)rt.destroy(name);
    if (!c || !s || !r || r->exit_status != 0) {
      std::fprintf(stderr, "run %d failed\n", i);
      return 1;
    }
    std::printf("%.2f %.2f %.2f %.2f\n", ms(t3 - t0), ms(t1 - t0), ms(t2 - t1), ms(t3 - t2));
    std::fflush(stdout);
  }
  return 0;
}
