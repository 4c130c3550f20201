// lxcprovd_faulty: lxcprovd with its store and runtime wrapped by tests/fakes/faulty_edges.hpp, so
// end-to-end tests can make a create fail at a chosen step by naming the container after it, or
// (--crash-at before:STEP | after:STEP | after:finish) SIGKILL the daemon at a step boundary of any
// job, or (--pause-at, the same points) SIGSTOP it there once. Test-only: built with the tests, never installed.
// Otherwise the same command line as lxcprovd.

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "../fakes/faulty_edges.hpp"
#include "wiring/daemon.hpp"

int main(int argc, char** argv) {
  using namespace lxcprov;
  // Taken off the command line here, so run_daemon sees exactly lxcprovd's arguments.
  std::optional<testing::CrashPoint> crash;
  std::vector<char*> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const bool pause = std::strcmp(argv[i], "--pause-at") == 0;
    if ((pause || std::strcmp(argv[i], "--crash-at") == 0) && i + 1 < argc) {
      crash = testing::parse_crash_point(argv[++i]);
      if (!crash) {
        std::fprintf(stderr, "lxcprovd_faulty: %s: expected before:STEP, after:STEP or after:finish\n", argv[i - 1]);
        return 2;
      }
      crash->pause = pause;
    } else {
      args.push_back(argv[i]);
    }
  }
  args.push_back(nullptr);
  std::unique_ptr<testing::FaultyStore> store;
  std::unique_ptr<testing::FaultyRuntime> runtime;
  wiring::EdgeWrappers wrappers;
  wrappers.store = [&](state::Store& real) -> state::Store& {
    return *(store = std::make_unique<testing::FaultyStore>(real, crash));
  };
  wrappers.runtime = [&](container::ContainerRuntime& real) -> container::ContainerRuntime& {
    return *(runtime = std::make_unique<testing::FaultyRuntime>(real));
  };
  return wiring::run_daemon(static_cast<int>(args.size() - 1), args.data(), wrappers);
}
