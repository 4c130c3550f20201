// fleet::relay_command: the entry's ssh to a node checks the node's host key against the entry's
// own file, uses the entry's key only, forwards nothing, and keeps the endpoint out of the options.

#include "fleet/relay_command.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace lxcprov::fleet {
namespace {

config::Fleet::Entry entry() {
  config::Fleet::Entry e;
  e.enabled = true;
  e.key = "/etc/lxcprov/fleet/id_ed25519";
  e.known_hosts = "/etc/lxcprov/fleet/known_hosts";
  return e;
}

bool has_pair(const std::vector<std::string>& argv, const std::string& a, const std::string& b) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == a && argv[i + 1] == b) return true;
  return false;
}

TEST(RelayCommand, TheNodesHostKeyIsCheckedAndNothingIsForwarded) {
  auto argv = relay_command(entry(), "10.99.0.2:2222");
  ASSERT_TRUE(argv.has_value()) << argv.error().message;
  EXPECT_EQ(argv->front(), "/usr/bin/ssh");
  EXPECT_TRUE(has_pair(*argv, "-F", "/dev/null")) << "no user or system ssh_config";
  for (const char* option : {"BatchMode=yes", "IdentitiesOnly=yes", "IdentityFile=/etc/lxcprov/fleet/id_ed25519",
                             "StrictHostKeyChecking=yes", "UserKnownHostsFile=/etc/lxcprov/fleet/known_hosts",
                             "GlobalKnownHostsFile=/dev/null", "ForwardAgent=no", "ClearAllForwardings=yes"})
    EXPECT_TRUE(has_pair(*argv, "-o", option)) << option;
  EXPECT_TRUE(has_pair(*argv, "-p", "2222"));
  EXPECT_TRUE(has_pair(*argv, "-l", "lxcprov-fleet"));
  ASSERT_GE(argv->size(), 2u);
  EXPECT_EQ((*argv)[argv->size() - 2], "--") << "the host can never be read as an option";
  EXPECT_EQ(argv->back(), "10.99.0.2");
  EXPECT_TRUE(std::find(argv->begin(), argv->end(), "-T") != argv->end()) << "no tty";
  EXPECT_TRUE(has_pair(*argv, "-o", "ControlMaster=auto"));
  EXPECT_TRUE(has_pair(*argv, "-o", "ControlPath=/run/lxcprov/fleet/%C"));
  EXPECT_TRUE(has_pair(*argv, "-o", "ControlPersist=300"));
  auto e = entry();
  e.persist = std::chrono::seconds(0);
  auto unshared = relay_command(e, "10.99.0.2");
  ASSERT_TRUE(unshared.has_value());
  EXPECT_TRUE(has_pair(*unshared, "-o", "ControlMaster=no"));
  EXPECT_TRUE(has_pair(*unshared, "-o", "ControlPath=none"));
}

TEST(RelayCommand, APortDefaultsTo22AndABadEndpointIsRefused) {
  auto plain = relay_command(entry(), "hv2.example.org");
  ASSERT_TRUE(plain.has_value());
  EXPECT_TRUE(has_pair(*plain, "-p", "22"));
  EXPECT_EQ(plain->back(), "hv2.example.org");
  for (const char* bad : {"", "-oProxyCommand=x", "hv:0", "hv:70000", "hv:22x", ":22"})
    EXPECT_FALSE(relay_command(entry(), bad).has_value()) << bad;
}

}  // namespace
}  // namespace lxcprov::fleet
