// lxcprovd_faulty: lxcprovd with its store and runtime wrapped by tests/fakes/faulty_edges.hpp, so
// end-to-end tests can make a create fail at a chosen step by naming the container after it.
// Test-only: built with the tests, never installed. Same command line as lxcprovd.

#include <memory>

#include "../fakes/faulty_edges.hpp"
#include "wiring/daemon.hpp"

int main(int argc, char** argv) {
  using namespace lxcprov;
  std::unique_ptr<testing::FaultyStore> store;
  std::unique_ptr<testing::FaultyRuntime> runtime;
  wiring::EdgeWrappers wrappers;
  wrappers.store = [&](state::Store& real) -> state::Store& {
    return *(store = std::make_unique<testing::FaultyStore>(real));
  };
  wrappers.runtime = [&](container::ContainerRuntime& real) -> container::ContainerRuntime& {
    return *(runtime = std::make_unique<testing::FaultyRuntime>(real));
  };
  return wiring::run_daemon(argc, argv, wrappers);
}
