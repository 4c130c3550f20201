// seed_first_boot against real directories: the layers of an overlay that was never mounted, made
// in a temporary directory (root only: the files belong to a container's mapped ids).

#include "container/overlay_seed.hpp"
#include "../support/text_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

namespace lxcprov::container {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kRoot = 100000;
constexpr gid_t kShadowGroup = 100042;
constexpr gid_t kAdm = 100004;  // another owner than the container's root, to see it copied

using lxcprov::testing::read_text_file;

void write(const std::string& path, const std::string& content, mode_t mode, uid_t uid, gid_t gid) {
  std::ofstream(path) << content;
  ASSERT_EQ(::chown(path.c_str(), uid, gid), 0);
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

void mkdir_as(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  fs::create_directories(path);
  ASSERT_EQ(::chown(path.c_str(), uid, gid), 0);
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

struct Owner {
  uid_t uid;
  gid_t gid;
  mode_t mode;
  bool operator==(const Owner&) const = default;
};
std::ostream& operator<<(std::ostream& o, const Owner& w) {
  return o << w.uid << ":" << w.gid << " " << std::oct << w.mode << std::dec;
}
Owner owner(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {0, 0, 0};
  return {st.st_uid, st.st_gid, st.st_mode & 07777};
}

class OverlaySeed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (files owned by mapped ids)";
    char tmpl[] = "/tmp/lxcprov-seed-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    layers_ = {dir_ + "/lower", dir_ + "/upper"};
    mkdir_as(layers_.lower, 0755, kRoot, kRoot);
    mkdir_as(layers_.upper, 0755, kRoot, kRoot);
    mkdir_as(layers_.lower + "/etc", 0751, kRoot, kAdm);
    mkdir_as(layers_.lower + "/root", 0710, kRoot, kRoot);
    write(layers_.lower + "/etc/hosts", "127.0.0.1 localhost\n", 0664, kRoot, kAdm);
    write(layers_.lower + "/etc/shadow", "root:*:19000:0:99999:7:::\n", 0640, kRoot, kShadowGroup);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  Status seed(const FirstBoot& boot) { return seed_first_boot(layers_, boot, kRoot, kRoot); }

  std::string dir_;
  OverlayLayers layers_;
};

TEST_F(OverlaySeed, WritesIntoTheUpperLayerOnlyMakingDirectoriesAsCopyUpWould) {
  ASSERT_TRUE(seed({"web", "ssh-ed25519 AAAA k", {"192.0.2.53"}}));
  const std::string up = layers_.upper;
  EXPECT_EQ(read_text_file(up + "/etc/hostname"), "web\n");
  EXPECT_EQ(read_text_file(up + "/etc/hosts"), "127.0.0.1 localhost\n127.0.1.1\tweb\n");
  EXPECT_EQ(read_text_file(up + "/etc/shadow"), "root:!*:19000:0:99999:7:::\n");
  EXPECT_EQ(read_text_file(up + "/etc/resolv.conf"), "nameserver 192.0.2.53\n");
  EXPECT_EQ(read_text_file(up + "/root/.ssh/authorized_keys"), "ssh-ed25519 AAAA k\n");
  // Directories as the lower layer has them; new ones the container root's, 0700.
  EXPECT_EQ(owner(up + "/etc"), (Owner{kRoot, kAdm, 0751}));
  EXPECT_EQ(owner(up + "/root"), (Owner{kRoot, kRoot, 0710}));
  EXPECT_EQ(owner(up + "/root/.ssh"), (Owner{kRoot, kRoot, 0700}));
  EXPECT_EQ(owner(up + "/root/.ssh/authorized_keys"), (Owner{kRoot, kRoot, 0600}));
  EXPECT_EQ(owner(up + "/etc/hostname"), (Owner{kRoot, kRoot, 0644}));
  // A replaced file keeps its owner and mode (shadow is root:shadow 0640 on Debian).
  EXPECT_EQ(owner(up + "/etc/shadow"), (Owner{kRoot, kShadowGroup, 0640}));
  EXPECT_EQ(owner(up + "/etc/hosts"), (Owner{kRoot, kAdm, 0664}));
  // The lower layer (the template) is untouched, and no temporary file is left.
  EXPECT_EQ(read_text_file(layers_.lower + "/etc/shadow"), "root:*:19000:0:99999:7:::\n");
  EXPECT_FALSE(fs::exists(layers_.lower + "/etc/hostname"));
  for (const auto& e : fs::recursive_directory_iterator(up))
    EXPECT_EQ(e.path().filename().string().find(".lxcprov-"), std::string::npos) << e.path();
}

// What `chmod 700 /root/.ssh` did: a template's own .ssh that others could write is tightened, or
// sshd (StrictModes) would ignore the key.
TEST_F(OverlaySeed, RootsSshDirectoryIsTheContainerRootsAnd0700WhateverTheTemplateHad) {
  mkdir_as(layers_.lower + "/root/.ssh", 0777, kRoot + 5, kAdm);
  ASSERT_TRUE(seed({"web", "ssh-ed25519 AAAA k", {}}));
  EXPECT_EQ(owner(layers_.upper + "/root/.ssh"), (Owner{kRoot, kRoot, 0700}));
  EXPECT_EQ(owner(layers_.lower + "/root/.ssh"), (Owner{kRoot + 5, kAdm, 0777}));  // the template's, untouched
}

TEST_F(OverlaySeed, TheUpperLayersFileWinsAndASecondSeedChangesNothingMore) {
  mkdir_as(layers_.upper + "/etc", 0755, kRoot, kRoot);
  write(layers_.upper + "/etc/hosts", "127.0.0.1 localhost\n10.0.0.9 web\n", 0644, kRoot, kRoot);
  ASSERT_TRUE(seed({"web", "", {}}));
  EXPECT_EQ(read_text_file(layers_.upper + "/etc/hosts"), "127.0.0.1 localhost\n10.0.0.9 web\n");
  EXPECT_FALSE(fs::exists(layers_.upper + "/etc/resolv.conf"));  // no servers: left alone
  EXPECT_FALSE(fs::exists(layers_.upper + "/root/.ssh"));        // no key
  ASSERT_TRUE(seed({"web", "", {}}));
  EXPECT_EQ(read_text_file(layers_.upper + "/etc/shadow"), "root:!*:19000:0:99999:7:::\n");
}

TEST_F(OverlaySeed, WhatItCannotWriteSafelyIsUnavailableNotFollowed) {
  struct Case {
    const char* what;
    std::function<void(const OverlayLayers&)> make;
  };
  std::string outside;  // in each case's own temporary directory
  const Case cases[] = {
      {"a symlinked directory in the upper layer",
       [&](const OverlayLayers& l) { fs::create_directory_symlink(outside, l.upper + "/root"); }},
      {"a symlinked directory in the lower layer",
       [&](const OverlayLayers& l) {
         fs::remove_all(l.lower + "/root");
         fs::create_directory_symlink(outside, l.lower + "/root");
       }},
      {"a FIFO to read (it must not block)",
       [&](const OverlayLayers& l) {
         fs::remove(l.lower + "/etc/hosts");
         ASSERT_EQ(::mkfifo((l.lower + "/etc/hosts").c_str(), 0644), 0);
       }},
      {"a device to read",
       [&](const OverlayLayers& l) {
         fs::remove(l.lower + "/etc/shadow");
         ASSERT_EQ(::mknod((l.lower + "/etc/shadow").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
       }},
      {"a symlinked file to read",
       [&](const OverlayLayers& l) {
         fs::remove(l.lower + "/etc/hosts");
         fs::create_symlink("/etc/passwd", l.lower + "/etc/hosts");
       }},
      {"a whiteout where a file is read",
       [&](const OverlayLayers& l) {
         mkdir_as(l.upper + "/etc", 0755, kRoot, kRoot);
         ASSERT_EQ(::mknod((l.upper + "/etc/shadow").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
       }},
      {"an opaque upper directory",
       [&](const OverlayLayers& l) {
         mkdir_as(l.upper + "/etc", 0755, kRoot, kRoot);
         ASSERT_EQ(::setxattr((l.upper + "/etc").c_str(), "user.overlay.opaque", "y", 1, 0), 0);
       }},
      {"an opaque upper directory (trusted.*, a long value)",
       [&](const OverlayLayers& l) {
         mkdir_as(l.upper + "/etc", 0755, kRoot, kRoot);
         ASSERT_EQ(::setxattr((l.upper + "/etc").c_str(), "trusted.overlay.opaque", "yes-opaque", 10, 0), 0);
       }},
      {"no /etc/shadow", [&](const OverlayLayers& l) { fs::remove(l.lower + "/etc/shadow"); }},
      {"no root in /etc/shadow",
       [&](const OverlayLayers& l) { write(l.lower + "/etc/shadow", "daemon:*:1::::::\n", 0640, kRoot, kRoot); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    TearDown();
    SetUp();
    mkdir_as(outside = dir_ + "/outside", 0755, 0, 0);
    c.make(layers_);
    auto s = seed({"web", "ssh-ed25519 AAAA k", {"192.0.2.53"}});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::unavailable) << s.error().message;
    EXPECT_NE(s.error().message.find("before the first start"), std::string::npos) << s.error().message;
    EXPECT_TRUE(fs::is_empty(outside));
  }
}

TEST(OverlayLayers, OnlyATwoLayerOverlayOfAbsolutePaths) {
  auto l = overlay_layers("overlay:/var/lib/lxc/tpl/rootfs:/var/lib/lxc/web/delta0");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->lower, "/var/lib/lxc/tpl/rootfs");
  EXPECT_EQ(l->upper, "/var/lib/lxc/web/delta0");
  EXPECT_TRUE(overlay_layers("overlayfs:/a:/b"));
  for (const char* other : {"dir:/var/lib/lxc/web/rootfs", "/var/lib/lxc/web/rootfs", "overlay:/a:/b:/c",
                            "overlay:a:/b", "overlay:/a:", "overlay::/b", ""})
    EXPECT_FALSE(overlay_layers(other)) << other;
}

}  // namespace
}  // namespace lxcprov::container
