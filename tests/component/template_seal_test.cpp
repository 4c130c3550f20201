// The template walker and the seal check on real files (container/template_seal.hpp), and the seals in
// a real SQLite file. Needs root: it makes device nodes, files of other owners, setuid files and
// a security.capability attribute, as a real template has. Each test builds its own tree.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "../fakes/memory_store.hpp"
#include "container/template_policy.hpp"
#include "container/template_seal.hpp"
#include "log/log.hpp"
#include "state/sqlite_store.hpp"

namespace lxcprov::container {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void write(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file capability as setcap writes it (VFS_CAP_REVISION_2): cap_net_raw+ep.
std::string net_raw_capability() {
  uint32_t words[5] = {VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 1u << CAP_NET_RAW, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

void flip_byte_keep_times(const std::string& path, off_t at) {
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, at), 1);
  c = static_cast<char>(c ^ 0x01);
  ASSERT_EQ(::pwrite(fd, &c, 1, at), 1);
  ::close(fd);
  // Size, mtime and atime as before: only ctime (which cannot be set) tells.
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  ASSERT_EQ(after.st_size, st.st_size);
  ASSERT_EQ(after.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
  ASSERT_EQ(after.st_mtim.tv_sec, st.st_mtim.tv_sec);
}

class TemplateSeal : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (device nodes, owners, capabilities)";
    char tmpl[] = "/tmp/lxcprov-seal-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/tpl";
    make_tree(dir_);
  }
  void TearDown() override {
    if (root_.empty()) return;
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // A small template with one of every kind of entry a real one has.
  void make_tree(const std::string& dir) {
    const std::string r = dir + "/rootfs";
    for (const char* d : {"", "/bin", "/etc", "/dev", "/mnt"}) fs::create_directories(r + d);
    ::chmod(dir.c_str(), 0770);
    write(dir + "/config", "lxc.uts.name = tpl\nlxc.rootfs.path = dir:" + r + "\nlxc.net.0.type = empty\n", 0640);
    write(r + "/bin/tool", "#!/bin/sh\necho tool version 1\n", 0755);
    write(r + "/bin/su", "setuid root binary", 04755);
    write(r + "/bin/ping", "a ping that needs cap_net_raw", 0755);
    const std::string cap = net_raw_capability();
    ASSERT_EQ(::setxattr((r + "/bin/ping").c_str(), "security.capability", cap.data(), cap.size(), 0), 0)
        << std::strerror(errno);
    write(r + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
    ASSERT_EQ(::chown((r + "/etc/passwd").c_str(), 100000, 100000), 0);  // an id-shifted rootfs
    write(r + "/etc/shadow", "root:*:19000:0:99999:7:::\n", 0);          // unreadable by mode
    ASSERT_EQ(::symlink("/etc/shadow", (r + "/escape").c_str()), 0);     // points out of the tree
    ASSERT_EQ(::symlink("../../../../..", (r + "/up").c_str()), 0);
    ASSERT_EQ(::symlink("tool", (r + "/bin/sh").c_str()), 0);
    ASSERT_EQ(::mkfifo((r + "/dev/initctl").c_str(), 0600), 0);
    ASSERT_EQ(::mknod((r + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string sock = r + "/dev/log";
    ASSERT_LT(sock.size(), sizeof a.sun_path);
    std::strcpy(a.sun_path, sock.c_str());
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    ::close(s);
  }

  container::Measurement measure(WalkMode mode) {
    auto m = measure_template(dir_, mode);
    EXPECT_TRUE(m) << m.error().message;
    return m ? *m : container::Measurement{};
  }

  std::string root_, dir_;
};

const container::Entry* find(const std::vector<container::Entry>& entries, const std::string& path) {
  for (const auto& e : entries)
    if (e.path == path) return &e;
  return nullptr;
}

TEST_F(TemplateSeal, TheWalkSeesEveryKindAndNeverFollows) {
  auto entries = walk_template(dir_, WalkMode::content);
  ASSERT_TRUE(entries) << entries.error().message;
  // config + rootfs + bin, etc, dev, mnt + 4 in bin + 2 in etc + 3 in dev + escape, up
  EXPECT_EQ(entries->size(), 17u);
  for (const auto& e : *entries) EXPECT_TRUE(e.path == "config" || e.path.rfind("rootfs", 0) == 0) << e.path;

  const auto* escape = find(*entries, "rootfs/escape");
  ASSERT_NE(escape, nullptr);
  EXPECT_EQ(escape->type, container::FileType::symlink);
  EXPECT_EQ(escape->link_target, "/etc/shadow");
  EXPECT_EQ(escape->content_sha256, container::Digest{});  // the host's /etc/shadow was not read
  EXPECT_EQ(find(*entries, "rootfs/up")->link_target, "../../../../..");

  const auto* su = find(*entries, "rootfs/bin/su");
  ASSERT_NE(su, nullptr);
  EXPECT_EQ(su->mode, 04755u);
  const auto* ping = find(*entries, "rootfs/bin/ping");
  ASSERT_NE(ping, nullptr);
  ASSERT_EQ(ping->xattrs.size(), 1u);
  EXPECT_EQ(ping->xattrs[0], (std::pair<std::string, std::string>{"security.capability", net_raw_capability()}));
  const auto* passwd = find(*entries, "rootfs/etc/passwd");
  EXPECT_EQ(passwd->uid, 100000u);
  EXPECT_EQ(passwd->content_sha256, container::sha256("root:x:0:0:root:/root:/bin/sh\n"));
  EXPECT_EQ(find(*entries, "rootfs/etc/shadow")->content_sha256, container::sha256("root:*:19000:0:99999:7:::\n"));
  EXPECT_EQ(find(*entries, "rootfs/dev/initctl")->type, container::FileType::fifo);
  EXPECT_EQ(find(*entries, "rootfs/dev/log")->type, container::FileType::socket);
  const auto* null = find(*entries, "rootfs/dev/null");
  EXPECT_EQ(null->type, container::FileType::char_device);
  EXPECT_EQ(null->rdev_major, 1u);
  EXPECT_EQ(null->rdev_minor, 3u);
  EXPECT_TRUE(std::is_sorted(entries->begin(), entries->end(),
                             [](const auto& a, const auto& b) { return container::canonical_less(a.path, b.path); }));
}

TEST_F(TemplateSeal, WalksAgreeAndReadingTheTemplateChangesNothing) {
  const auto sealed = measure(WalkMode::content);
  EXPECT_EQ(measure(WalkMode::content).content, sealed.content);
  EXPECT_EQ(measure(WalkMode::fingerprint).fingerprint, sealed.fingerprint);
  // What a clone's boot does to its lower layer: reads files (atime may move, ctime does not).
  for (const auto& e : fs::recursive_directory_iterator(dir_ + "/rootfs"))
    if (e.is_regular_file() && !e.is_symlink()) (void)slurp(e.path());
  EXPECT_EQ(measure(WalkMode::fingerprint).fingerprint, sealed.fingerprint);
  EXPECT_EQ(measure(WalkMode::content).content, sealed.content);
}

// A change to a sealed tree: what it does, whether the content moves, and what verify names.
struct Mutation {
  const char* what;
  std::function<void(const std::string& rootfs, const std::string& dir)> apply;
  bool content_moves;
  std::vector<container::Change> names;  ///< what diff_manifests must say (content changes only)
};

TEST_F(TemplateSeal, EveryChangeIsCaughtByTheFingerprintAndVerifyNamesIt) {
  using K = container::Change::Kind;
  const std::vector<Mutation> cases = {
      {"flip one byte, same size, mtime restored",
       [](const std::string& r, const std::string&) { flip_byte_keep_times(r + "/bin/tool", 20); },
       true,
       {{K::changed, "rootfs/bin/tool"}}},
      {"chmod",
       [](const std::string& r, const std::string&) { ::chmod((r + "/etc/passwd").c_str(), 0666); },
       true,
       {{K::changed, "rootfs/etc/passwd"}}},
      {"setuid bit removed",
       [](const std::string& r, const std::string&) { ::chmod((r + "/bin/su").c_str(), 0755); },
       true,
       {{K::changed, "rootfs/bin/su"}}},
      {"chown",
       [](const std::string& r, const std::string&) { (void)::chown((r + "/etc/passwd").c_str(), 0, 0); },
       true,
       {{K::changed, "rootfs/etc/passwd"}}},
      {"rename",
       [](const std::string& r, const std::string&) { fs::rename(r + "/bin/tool", r + "/bin/tool2"); },
       true,
       {{K::removed, "rootfs/bin/tool"}, {K::added, "rootfs/bin/tool2"}}},
      {"add a file",
       [](const std::string& r, const std::string&) { write(r + "/etc/motd", "hi\n"); },
       true,
       {{K::added, "rootfs/etc/motd"}}},
      {"remove a file",
       [](const std::string& r, const std::string&) { fs::remove(r + "/etc/passwd"); },
       true,
       {{K::removed, "rootfs/etc/passwd"}}},
      {"replace a file by a symlink",
       [](const std::string& r, const std::string&) {
         fs::remove(r + "/bin/tool");
         fs::create_symlink("/bin/sh", r + "/bin/tool");
       },
       true,
       {{K::changed, "rootfs/bin/tool"}}},
      {"add a hard link",
       [](const std::string& r, const std::string&) { fs::create_hard_link(r + "/etc/shadow", r + "/etc/shadow-"); },
       true,
       {{K::added, "rootfs/etc/shadow-"}}},
      {"capability removed",
       [](const std::string& r, const std::string&) {
         ::removexattr((r + "/bin/ping").c_str(), "security.capability");
       },
       true,
       {{K::changed, "rootfs/bin/ping"}}},
      {"config edited",
       [](const std::string&, const std::string& d) { std::ofstream(d + "/config", std::ios::app) << "#\n"; },
       true,
       {{K::changed, "config"}}},
      {"mtime moved (metadata only)",
       [](const std::string& r, const std::string&) {
         const timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
         ::utimensat(AT_FDCWD, (r + "/etc/passwd").c_str(), times, 0);
       },
       false,
       {}},
      {"atime set by hand (utimensat sets ctime too)",
       [](const std::string& r, const std::string&) {
         const timespec times[2] = {{1000000000, 0}, {0, UTIME_OMIT}};
         ::utimensat(AT_FDCWD, (r + "/etc/passwd").c_str(), times, 0);
       },
       false,
       {}},
      {"file replaced by an identical copy",
       [](const std::string& r, const std::string&) {
         fs::copy_file(r + "/etc/passwd", r + "/etc/passwd.new");
         (void)::chown((r + "/etc/passwd.new").c_str(), 100000, 100000);
         fs::rename(r + "/etc/passwd.new", r + "/etc/passwd");
       },
       false,
       {}},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string dir = root_ + "/case" + std::to_string(n++);
    make_tree(dir);
    auto sealed = measure_for_seal(dir);  // as lxcprovctl seals: a change right after still shows
    ASSERT_TRUE(sealed) << sealed.error().message;
    c.apply(dir + "/rootfs", dir);
    auto fast = measure_template(dir, WalkMode::fingerprint);
    ASSERT_TRUE(fast) << fast.error().message;
    EXPECT_NE(fast->fingerprint, sealed->fingerprint);
    auto full = measure_template(dir, WalkMode::content);
    ASSERT_TRUE(full) << full.error().message;
    EXPECT_EQ(full->content != sealed->content, c.content_moves);
    auto before = container::decode_manifest(sealed->manifest);
    auto after = container::decode_manifest(full->manifest);
    ASSERT_TRUE(before && after);
    EXPECT_EQ(container::diff_manifests(*before, *after), c.names);
  }
}

TEST_F(TemplateSeal, SealingWaitsUntilTheClockIsPastTheNewestCtime) {
  // ctime ticks with the kernel's coarse clock: a change in the same tick as the tree's last one
  // could keep the ctime. Sealing right after a change therefore waits, and a change made the
  // moment the seal is taken is still seen.
  for (int round = 0; round < 20; ++round) {
    write(dir_ + "/rootfs/etc/passwd", "round " + std::to_string(round) + "\n");
    auto sealed = measure_for_seal(dir_);
    ASSERT_TRUE(sealed) << sealed.error().message;
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    EXPECT_GT((container::Timestamp{now.tv_sec, now.tv_nsec}), sealed->newest_ctime);
    flip_byte_keep_times(dir_ + "/rootfs/etc/passwd", 0);
    auto fast = measure_template(dir_, WalkMode::fingerprint);
    ASSERT_TRUE(fast);
    EXPECT_NE(fast->fingerprint, sealed->fingerprint) << "round " << round;
  }
}

TEST_F(TemplateSeal, ADirectoryOfTwelveThousandEntriesIsWalkedInOrder) {
  const std::string big = dir_ + "/rootfs/usr/share/big";
  fs::create_directories(big);
  for (int i = 0; i < 12000; ++i) {
    int fd = ::open((big + "/f" + std::to_string(i * 7919 % 12000)).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  auto entries = walk_template(dir_, WalkMode::fingerprint);
  ASSERT_TRUE(entries) << entries.error().message;
  EXPECT_EQ(entries->size(), 17u + 3 + 12000);  // + usr, usr/share, usr/share/big
  EXPECT_TRUE(std::is_sorted(entries->begin(), entries->end(),
                             [](const auto& a, const auto& b) { return container::canonical_less(a.path, b.path); }));
  const auto sealed = measure(WalkMode::content);
  EXPECT_EQ(measure(WalkMode::fingerprint).fingerprint, sealed.fingerprint);
  fs::remove(big + "/f6000");
  EXPECT_NE(measure(WalkMode::fingerprint).fingerprint, sealed.fingerprint);
}

TEST_F(TemplateSeal, DeepTreesAreWalkedUpToTheLimit) {
  // 250 levels below rootfs walk (a worker thread's stack and fds suffice); 300 are refused.
  auto nest = [](std::string path, int levels) {
    for (int i = 0; i < levels; ++i) {
      path += "/d";
      ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << std::strerror(errno);
    }
  };
  nest(dir_ + "/rootfs/mnt", 249);
  auto deep = walk_template(dir_, WalkMode::content);
  ASSERT_TRUE(deep) << deep.error().message;
  EXPECT_EQ(deep->size(), 17u + 249);
  nest(dir_ + "/rootfs/etc", 300);
  auto too_deep = walk_template(dir_, WalkMode::fingerprint);
  ASSERT_FALSE(too_deep);
  EXPECT_NE(too_deep.error().message.find("deeper than 256 levels"), std::string::npos) << too_deep.error().message;
}

TEST_F(TemplateSeal, AFileSystemMountedInsideIsRefused) {
  if (::mount("lxcprov-seal", (dir_ + "/rootfs/mnt").c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount tmpfs here: " << std::strerror(errno);
  auto m = measure_template(dir_, WalkMode::fingerprint);
  ::umount2((dir_ + "/rootfs/mnt").c_str(), MNT_DETACH);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("rootfs/mnt: a file system is mounted here"), std::string::npos)
      << m.error().message;
}

TEST_F(TemplateSeal, OnlyATemplateWhoseConfigUsesItsOwnRootfsCanBeMeasured) {
  // The config names another directory: a seal over ours would not cover what clones use.
  const std::string other = root_ + "/other";
  make_tree(other);
  write(dir_ + "/config", "lxc.rootfs.path = dir:" + other + "/rootfs\n", 0640);
  auto elsewhere = measure_template(dir_, WalkMode::content);
  ASSERT_FALSE(elsewhere);
  EXPECT_NE(elsewhere.error().message.find("not its own rootfs"), std::string::npos);

  write(dir_ + "/config", "lxc.rootfs.path = overlay:" + other + "/rootfs:" + dir_ + "/delta0\n", 0640);
  EXPECT_FALSE(measure_template(dir_, WalkMode::content));

  // Symlinks are refused where a directory must be: the rootfs, the template directory itself.
  write(dir_ + "/config", "lxc.rootfs.path = dir:" + dir_ + "/rootfs\n", 0640);
  fs::rename(dir_ + "/rootfs", dir_ + "/real");
  fs::create_directory_symlink(dir_ + "/real", dir_ + "/rootfs");
  EXPECT_FALSE(measure_template(dir_, WalkMode::fingerprint));
  fs::create_directory_symlink(other, root_ + "/linked");
  EXPECT_FALSE(measure_template(root_ + "/linked", WalkMode::fingerprint));
  EXPECT_TRUE(measure_template(other, WalkMode::fingerprint));
}

TEST_F(TemplateSeal, SnapshotClonesComeFromLxcSnapshots) {
  auto none = snapshot_clones(dir_);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  write(dir_ + "/lxc_snapshots", "/var/lib/lxcprov/lxc\nweb-1\n/var/lib/lxcprov/lxc\nweb-2\n");
  auto two = snapshot_clones(dir_);
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, (std::vector<std::string>{"web-1", "web-2"}));
  // LXC rewrites lxc_snapshots on every clone: the seal does not cover the directory itself.
  EXPECT_TRUE(measure_template(dir_, WalkMode::fingerprint));
}

class StoredSeals : public TemplateSeal {
 protected:
  void SetUp() override {
    TemplateSeal::SetUp();
    if (root_.empty()) return;
    auto s = state::SqliteStore::open(root_ + "/state.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }

  void seal_now() {
    auto m = measure_for_seal(dir_);
    ASSERT_TRUE(m) << m.error().message;
    ASSERT_TRUE(
        store_->put_template_seal({"tpl", container::to_hex(m->content), container::to_hex(m->fingerprint),
                                   container::to_hex(m->config_sha256), static_cast<int64_t>(m->entries), "", 0},
                                  m->manifest));
  }

  std::unique_ptr<state::SqliteStore> store_;
};

TEST_F(StoredSeals, TheCheckPassesOnlyASealedUnchangedTemplateAndNamesNoPath) {
  StoredTemplateSeals seals(*store_, root_);
  auto unsealed = seals.check("tpl");
  ASSERT_FALSE(unsealed);
  EXPECT_EQ(unsealed.error().message, container::not_sealed("tpl").message);

  seal_now();
  EXPECT_TRUE(seals.check("tpl"));
  EXPECT_TRUE(seals.check("tpl"));  // checking changes nothing

  flip_byte_keep_times(dir_ + "/rootfs/etc/passwd", 3);
  auto changed = seals.check("tpl");
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, Errc::unavailable);
  EXPECT_EQ(changed.error().message, container::mismatch("tpl").message);
  EXPECT_EQ(changed.error().message.find(root_), std::string::npos);

  seal_now();  // the admin re-seals: creates work again
  EXPECT_TRUE(seals.check("tpl"));

  fs::remove_all(dir_ + "/rootfs/etc");
  fs::remove_all(dir_ + "/rootfs");
  auto gone = seals.check("tpl");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, container::unreadable("tpl").message);
  EXPECT_EQ(gone.error().message.find(root_), std::string::npos);

  auto bad_name = seals.check("../tpl");
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().code, Errc::unavailable);
}

TEST_F(StoredSeals, ConcurrentChecksShareWalksAndNeverMissAnEarlierChange) {
  // Walks long enough (a few ms) that the change lands while one is under way, after it read the
  // changed file (early in walk order) and before it finished (the big directory comes last).
  const std::string big = dir_ + "/rootfs/usr/big";
  fs::create_directories(big);
  for (int i = 0; i < 4000; ++i) ::close(::open((big + "/f" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0644));
  seal_now();
  log::init(log::Mode::stderr_text, log::Level::error);  // before the threads: init is not thread-safe
  StoredTemplateSeals seals(*store_, root_);
  std::atomic<bool> changed{false}, stop{false};
  std::atomic<int> checks{0}, passed_before{0}, passed_after_change{0};
  std::vector<std::thread> creates;
  for (int t = 0; t < 8; ++t)
    creates.emplace_back([&] {
      while (!stop) {
        const bool after = changed.load();  // read before the check begins
        const bool ok = static_cast<bool>(seals.check("tpl"));
        ++checks;
        if (ok) ++(after ? passed_after_change : passed_before);
      }
    });
  std::this_thread::sleep_for(100ms);
  flip_byte_keep_times(dir_ + "/rootfs/bin/tool", 5);
  changed = true;
  std::this_thread::sleep_for(100ms);
  stop = true;
  for (auto& t : creates) t.join();
  EXPECT_GT(passed_before, 0);
  // A check that began after the change was made must never pass: shared walks included.
  EXPECT_EQ(passed_after_change, 0);
  EXPECT_LE(seals.walks(), static_cast<uint64_t>(checks.load()));
  std::cout << "[ walks    ] " << checks << " concurrent checks took " << seals.walks() << " walks\n";
}

// The sharing of walks, step by step, with a walk the test holds and releases: the template is
// "v1" until the test changes it to "v2" while the first walk is under way (having read v1).
class SharedWalks : public ::testing::Test {
 protected:
  SharedWalks() {
    const container::Digest v1 = container::sha256("v1");
    const state::TemplateSealRecord rec{"tpl", std::string(64, 'c'), container::to_hex(v1), std::string(64, 'c'), 1, "",
                                        0};
    EXPECT_TRUE(store_.put_template_seal(rec, ""));
  }

  Result<container::Measurement> walk(const std::string&) {
    std::unique_lock lock(m_);
    const int seen = version_;  // what this walk reads of the tree
    const int number = ++started_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_ >= number; });
    container::Measurement r;
    r.fingerprint = container::sha256("v" + std::to_string(seen));
    r.entries = 1;
    return r;
  }
  void wait_started(int n) {
    std::unique_lock lock(m_);
    ASSERT_TRUE(cv_.wait_for(lock, 10s, [&] { return started_ >= n; })) << "walk " << n << " never started";
  }
  void release(int n) {
    std::lock_guard lock(m_);
    released_ = n;
    cv_.notify_all();
  }
  void change() {
    std::lock_guard lock(m_);
    version_ = 2;
  }

  testing::MemoryStore store_;
  std::mutex m_;
  std::condition_variable cv_;
  int version_ = 1, started_ = 0, released_ = 0;
  StoredTemplateSeals seals_{store_, "/nonexistent", [this](const std::string& d) { return walk(d); }};
};

TEST_F(SharedWalks, ACheckNeverTakesTheAnswerOfAWalkThatBeganBeforeIt) {
  Status first, second;
  std::thread a([&] { first = seals_.check("tpl"); });
  wait_started(1);
  change();  // after walk 1 read the tree
  std::thread b([&] { second = seals_.check("tpl"); });
  std::this_thread::sleep_for(100ms);  // b is now waiting; walk 1 must not answer it
  {
    std::lock_guard lock(m_);
    EXPECT_EQ(started_, 1);  // and b did not start a walk of its own while walk 1 ran
  }
  release(1);
  wait_started(2);  // b's own walk
  release(2);
  a.join();
  b.join();
  EXPECT_TRUE(first);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, container::mismatch("tpl").message);
  EXPECT_EQ(seals_.walks(), 2u);
}

TEST_F(SharedWalks, OneWalkAnswersEveryCheckThatWaitedForIt) {
  Status first;
  std::thread a([&] { first = seals_.check("tpl"); });
  wait_started(1);
  std::vector<Status> waited(5);
  std::vector<std::thread> more;
  for (auto& s : waited) more.emplace_back([&s, this] { s = seals_.check("tpl"); });
  std::this_thread::sleep_for(100ms);  // all five wait for walk 2
  release(1);
  wait_started(2);
  release(5);  // and any later walk
  a.join();
  for (auto& t : more) t.join();
  EXPECT_TRUE(first);
  for (const auto& s : waited) EXPECT_TRUE(s);
  EXPECT_EQ(seals_.walks(), 2u);  // six checks, two walks
}

TEST_F(StoredSeals, SealsRoundTripAndAreReplacedWhole) {
  state::TemplateSealRecord a{
      "tpl-a", std::string(64, 'a'), std::string(64, 'b'), std::string(64, 'c'), 7, "distro=busybox", 1700000000};
  ASSERT_TRUE(store_->put_template_seal(a, std::string("man\0ifest", 9)));
  auto found = store_->find_template_seal("tpl-a");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ(**found, a);
  auto manifest = store_->template_seal_manifest("tpl-a");
  ASSERT_TRUE(manifest && manifest->has_value());
  EXPECT_EQ(**manifest, std::string("man\0ifest", 9));             // a BLOB: NUL bytes survive
  EXPECT_FALSE(store_->find_template_seal("TPL-A")->has_value());  // LXC names are case-sensitive

  state::TemplateSealRecord b = a;
  b.content_sha256 = std::string(64, 'd');
  b.sealed_at = 0;  // "now"
  ASSERT_TRUE(store_->put_template_seal(b, "m2"));
  auto replaced = store_->find_template_seal("tpl-a");
  EXPECT_EQ((*replaced)->content_sha256, b.content_sha256);
  EXPECT_GT((*replaced)->sealed_at, 1700000000);
  EXPECT_EQ(**store_->template_seal_manifest("tpl-a"), "m2");

  ASSERT_TRUE(store_->put_template_seal(
      {"tpl-0", std::string(64, 'e'), std::string(64, 'f'), std::string(64, '0'), 1, "", 0}, "m0"));
  auto all = store_->list_template_seals();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "tpl-0");
  EXPECT_EQ((*all)[1].name, "tpl-a");

  ASSERT_TRUE(store_->remove_template_seal("tpl-a"));
  EXPECT_FALSE(store_->find_template_seal("tpl-a")->has_value());
  EXPECT_FALSE(store_->template_seal_manifest("tpl-a")->has_value());
  EXPECT_TRUE(store_->remove_template_seal("tpl-a"));  // absent: not an error

  state::TemplateSealRecord short_digest = a;
  short_digest.fingerprint_sha256 = "abc";
  EXPECT_FALSE(store_->put_template_seal(short_digest, "m"));
}

}  // namespace
}  // namespace lxcprov::container
