// The first-boot file edits: what `grep -q ... || printf >> /etc/hosts`, `passwd -l root` and the
// resolv.conf loop of the configure script do, as pure functions.

#include <gtest/gtest.h>

#include "container/first_boot.hpp"

namespace lxcprov::container {
namespace {

TEST(FirstBoot, HostsGainsTheNameOnceAndOnlyWhenNoLineEndsWithIt) {
  struct Case {
    std::string hosts, name, want;
  };
  const Case cases[] = {
      {"127.0.0.1\tlocalhost\n", "web", "127.0.0.1\tlocalhost\n127.0.1.1\tweb\n"},
      {"127.0.0.1 localhost", "web", "127.0.0.1 localhost\n127.0.1.1\tweb\n"},  // no final newline
      {"", "web", "127.0.1.1\tweb\n"},
      {"127.0.1.1\tweb\n", "web", "127.0.1.1\tweb\n"},
      {"10.0.0.5 other web\n", "web", "10.0.0.5 other web\n"},
      // Only a whole last word counts: "myweb" and "web2" are other names.
      {"127.0.1.1 myweb\n", "web", "127.0.1.1 myweb\n127.0.1.1\tweb\n"},
      {"127.0.1.1 web2\n", "web", "127.0.1.1 web2\n127.0.1.1\tweb\n"},
      {"web\n", "web", "web\n127.0.1.1\tweb\n"},
  };
  for (const auto& c : cases) EXPECT_EQ(hosts_naming(c.hosts, c.name), c.want) << c.hosts;
}

TEST(FirstBoot, RootIsLockedLikePasswdDashL) {
  EXPECT_EQ(shadow_with_root_locked("root:*:19000:0:99999:7:::\nnobody:*:1::::::\n"),
            "root:!*:19000:0:99999:7:::\nnobody:*:1::::::\n");
  EXPECT_EQ(shadow_with_root_locked("root:$y$abc:1::::::\n"), "root:!$y$abc:1::::::\n");
  EXPECT_EQ(shadow_with_root_locked("daemon:*:1::::::\nroot::1::::::\n"), "daemon:*:1::::::\nroot:!:1::::::\n");
  EXPECT_EQ(shadow_with_root_locked("root:!*:1::::::\n"), "root:!*:1::::::\n");  // already locked
  EXPECT_EQ(shadow_with_root_locked("rootless:*:1::::::\n"), std::nullopt);
  EXPECT_EQ(shadow_with_root_locked("nobody:*:1::::::\n"), std::nullopt);
  EXPECT_EQ(shadow_with_root_locked(""), std::nullopt);
}

TEST(FirstBoot, ResolvConfNamesEachServer) {
  EXPECT_EQ(resolv_conf({"10.0.3.1", "192.0.2.53"}), "nameserver 10.0.3.1\nnameserver 192.0.2.53\n");
  EXPECT_EQ(resolv_conf({}), "");
}

TEST(FirstBoot, MappedRootIsTheHostIdOfIdZero) {
  const std::vector<std::string> idmap = {"u 0 100000 65536", "g 0 200000 65536"};
  EXPECT_EQ(mapped_root(idmap, 'u'), 100000u);
  EXPECT_EQ(mapped_root(idmap, 'g'), 200000u);
  EXPECT_EQ(mapped_root({"u 1 100000 65536"}, 'u'), std::nullopt);  // root not mapped
  EXPECT_EQ(mapped_root({"u 0 100000 0"}, 'u'), std::nullopt);
  EXPECT_EQ(mapped_root({"garbage"}, 'u'), std::nullopt);
  EXPECT_EQ(mapped_root({}, 'g'), std::nullopt);
}

}  // namespace
}  // namespace lxcprov::container
