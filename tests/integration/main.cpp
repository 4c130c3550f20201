// Entry point of the integration tests. They drive the real system (LXC, sshd, journald) and need
// root: without root or a usable LXC the binary exits 77, which ctest reports as skipped.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "world.hpp"

namespace {

// Why the suite cannot run here, or "" when it can.
std::string unusable_reason() {
  if (::geteuid() != 0) return "needs root (it drives LXC, sshd and a bridge)";
  for (const char* tool : {"lxc-create", "lxc-info", "lxc-attach", "lxc-ls", "lxc-destroy", "ssh", "ssh-keygen"})
    if (std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) != 0)
      return std::string(tool) + " is not installed";
  if (!std::filesystem::exists("/usr/sbin/sshd")) return "sshd is not installed";
  if (!std::filesystem::exists("/sys/fs/cgroup")) return "no cgroup filesystem";
  if (std::system("command -v busybox >/dev/null 2>&1") != 0) return "busybox is not installed (template)";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  if (auto why = unusable_reason(); !why.empty()) {
    std::cout << "integration tests skipped: " << why << "\n";
    return 77;
  }
  lxcprov::it::install_signal_handlers();
  ::testing::AddGlobalTestEnvironment(new lxcprov::it::WorldEnvironment);
  return RUN_ALL_TESTS();
}
