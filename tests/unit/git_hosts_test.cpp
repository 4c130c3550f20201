// deploy::parse_git_host and git_host_allowed: which repository hosts a config allows.

#include <gtest/gtest.h>

#include "deploy/git_hosts.hpp"

namespace lxcprov::deploy {
namespace {

TEST(GitHosts, Parse) {
  EXPECT_EQ(parse_git_host("github.com"), (GitHost{"github.com", 443}));
  EXPECT_EQ(parse_git_host("git.example.org:8443"), (GitHost{"git.example.org", 8443}));
  EXPECT_EQ(parse_git_host("10.47.0.1:3000"), (GitHost{"10.47.0.1", 3000}));
  EXPECT_EQ(parse_git_host("localhost"), (GitHost{"localhost", 443}));
  for (const char* bad : {"",
                          "GitHub.com",
                          "github.com:",
                          "github.com:0",
                          "github.com:65536",
                          "github.com:0443",
                          "github.com:x",
                          "github.com:443:1",
                          "a..b",
                          ".a",
                          "a.",
                          "-a.b",
                          "a-.b",
                          "10.0.0",
                          "300.1.1.1",
                          "user@github.com",
                          "github.com/x",
                          "[::1]",
                          "git hub.com",
                          "*.github.com"})
    EXPECT_FALSE(parse_git_host(bad)) << bad;
}

TEST(GitHosts, PlainEntriesAllowOnlyPort443) {
  const std::vector<std::string> allowed{"github.com", "git.example.org:8443", "not a host"};
  EXPECT_TRUE(git_host_allowed({"github.com", 443}, allowed));
  EXPECT_FALSE(git_host_allowed({"github.com", 8443}, allowed));
  EXPECT_TRUE(git_host_allowed({"git.example.org", 8443}, allowed));
  EXPECT_FALSE(git_host_allowed({"git.example.org", 443}, allowed));
  EXPECT_FALSE(git_host_allowed({"gitlab.com", 443}, allowed));
  EXPECT_FALSE(git_host_allowed({"github.com.evil.org", 443}, allowed));
  EXPECT_FALSE(git_host_allowed({"not a host", 443}, allowed));
}

}  // namespace
}  // namespace lxcprov::deploy
