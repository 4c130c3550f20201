// Entry point of the integration tests. They drive the real system (LXC, sshd, journald) and need
// root: without root or a usable LXC the binary exits 77, which ctest reports as skipped.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

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

// Every failure again at the end of the run, clipped: a CI log is often kept as its head and
// tail only, and the failures of a 400-test suite are in its middle.
class FailureRecap : public ::testing::EmptyTestEventListener {
 public:
  // Names are kept from the start events: gtest holds its own lock while it reports a result, so
  // asking it for the current test then would deadlock.
  void OnTestSuiteStart(const ::testing::TestSuite& suite) override { where_ = suite.name(); }
  void OnTestStart(const ::testing::TestInfo& test) override {
    where_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::string text = r.message();
    if (text.size() > 600) text = text.substr(0, 600) + " [...]";
    failures_.push_back(where_ + " at " + (r.file_name() ? r.file_name() : "?") + ":" +
                        std::to_string(r.line_number()) + "\n" + text);
  }
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    if (failures_.empty()) return;
    std::cout << "\n[ recap    ] " << failures_.size() << " failure(s), as they were reported:\n";
    for (size_t i = 0; i < failures_.size() && i < 10; ++i) std::cout << "[ recap    ] " << failures_[i] << "\n";
    std::cout << std::flush;
  }

 private:
  std::string where_ = "(set-up)";
  std::vector<std::string> failures_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  if (auto why = unusable_reason(); !why.empty()) {
    std::cout << "integration tests skipped: " << why << "\n";
    return 77;
  }
  lxcprov::it::install_signal_handlers();
  ::testing::UnitTest::GetInstance()->listeners().Append(new FailureRecap);
  ::testing::AddGlobalTestEnvironment(new lxcprov::it::WorldEnvironment);
  return RUN_ALL_TESTS();
}
