// The golden values of a template (container/template_digest.hpp), on synthetic entries: which change moves
// which digest, that order and access times do not, and that the manifest names what changed.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "container/template_digest.hpp"

namespace lxcprov::container {
namespace {

Entry file(std::string path, std::string bytes = "hello\n") {
  Entry e;
  e.path = std::move(path);
  e.type = FileType::regular;
  e.mode = 0644;
  e.uid = 100000;  // an id-shifted template
  e.gid = 100000;
  e.ino = 4242;
  e.nlink = 1;
  e.size = bytes.size();
  e.mtime = {1700000000, 123456789};
  e.ctime = {1700000001, 987654321};
  e.atime = {1700000002, 5};
  e.content_sha256 = sha256(bytes);
  return e;
}

Entry dir(std::string path) {
  Entry e = file(std::move(path));
  e.type = FileType::directory;
  e.mode = 0755;
  e.size = 4096;
  e.content_sha256 = {};
  return e;
}

Entry symlink(std::string path, std::string target) {
  Entry e = file(std::move(path));
  e.type = FileType::symlink;
  e.mode = 0777;
  e.size = target.size();
  e.content_sha256 = {};
  e.link_target = std::move(target);
  return e;
}

Entry device(std::string path) {
  Entry e = file(std::move(path));
  e.type = FileType::char_device;
  e.mode = 0666;
  e.size = 0;
  e.content_sha256 = {};
  e.rdev_major = 1;
  e.rdev_minor = 3;
  return e;
}

// A small template: config + rootfs with one of each kind of entry.
std::vector<Entry> tree() {
  return {file("config", "lxc.rootfs.path = dir:/x/rootfs\n"),
          dir("rootfs"),
          dir("rootfs/bin"),
          file("rootfs/bin/busybox",
               "\x7f"
               "ELF..."),
          symlink("rootfs/bin/sh", "busybox"),
          symlink("rootfs/escape", "/etc/shadow"),
          dir("rootfs/dev"),
          device("rootfs/dev/null"),
          file("rootfs/etc-passwd", "root:x:0:0::/root:/bin/sh\n")};
}

const Digest config_hash = sha256("config text");

struct Digests {
  Digest content, fingerprint;
};

Digests digests_of(const std::vector<Entry>& entries) {
  return {content_digest(entries), fingerprint_digest(entries, config_hash)};
}

// One field change to the entry at `path`, and which digests it must move.
struct Change1 {
  const char* what;
  std::string path;
  std::function<void(Entry&)> change;
  bool content_moves;
  bool fingerprint_moves;
};

TEST(SealDigest, EachFieldMovesTheDigestsItBelongsTo) {
  const Digests base = digests_of(tree());
  const std::vector<Change1> cases = {
      {"path (rename)", "rootfs/bin/busybox", [](Entry& e) { e.path = "rootfs/bin/busyboy"; }, true, true},
      {"type", "rootfs/etc-passwd", [](Entry& e) { e.type = FileType::fifo; }, true, true},
      {"permission bits", "rootfs/etc-passwd", [](Entry& e) { e.mode = 0666; }, true, true},
      {"setuid bit", "rootfs/bin/busybox", [](Entry& e) { e.mode |= 04000; }, true, true},
      {"setgid bit", "rootfs/bin/busybox", [](Entry& e) { e.mode |= 02000; }, true, true},
      {"sticky bit", "rootfs/bin", [](Entry& e) { e.mode |= 01000; }, true, true},
      {"owner", "rootfs/etc-passwd", [](Entry& e) { e.uid = 0; }, true, true},
      {"group", "rootfs/etc-passwd", [](Entry& e) { e.gid = 100001; }, true, true},
      {"content, same size", "rootfs/etc-passwd",
       [](Entry& e) { e.content_sha256 = sha256("root:x:0:0::/root:/bin/SH\n"); }, true, false},
      {"size", "rootfs/etc-passwd", [](Entry& e) { e.size += 1; }, true, true},
      {"symlink target", "rootfs/escape", [](Entry& e) { e.link_target = "/etc/passwd"; }, true, false},
      {"device major", "rootfs/dev/null", [](Entry& e) { e.rdev_major = 8; }, true, true},
      {"device minor", "rootfs/dev/null", [](Entry& e) { e.rdev_minor = 5; }, true, true},
      {"security.capability added", "rootfs/bin/busybox",
       [](Entry& e) {
         e.xattrs.push_back({"security.capability", std::string("\x01\x00\x00\x02", 4)});
       },
       true, false},
      {"ACL added", "rootfs/bin",
       [](Entry& e) {
         e.xattrs.push_back({"system.posix_acl_access", "acl"});
       },
       true, false},
      {"inode number", "rootfs/etc-passwd", [](Entry& e) { e.ino += 1; }, false, true},
      {"link count", "rootfs/etc-passwd", [](Entry& e) { e.nlink = 2; }, false, true},
      {"mtime seconds", "rootfs/etc-passwd", [](Entry& e) { e.mtime.sec += 1; }, false, true},
      {"mtime nanoseconds", "rootfs/etc-passwd", [](Entry& e) { e.mtime.nsec += 1; }, false, true},
      {"ctime seconds", "rootfs/bin/sh", [](Entry& e) { e.ctime.sec += 1; }, false, true},
      {"ctime nanoseconds", "rootfs/bin/sh", [](Entry& e) { e.ctime.nsec += 1; }, false, true},
      {"config ctime", "config", [](Entry& e) { e.ctime.nsec += 1; }, false, true},
      // In the fingerprint through config_sha256 (measure() passes it; see TheConfigHashIsPart...).
      {"config content", "config", [](Entry& e) { e.content_sha256 = sha256("lxc.rootfs.path = /y\n"); }, true, false},
      // Never recorded: reading a file (a clone boots from the template) may update them.
      {"atime", "rootfs/etc-passwd", [](Entry& e) { e.atime.sec += 100; }, false, false},
      {"atime of a directory", "rootfs/bin", [](Entry& e) { e.atime.nsec += 1; }, false, false},
      // Unused fields of a type: a regular file's device numbers, a device's content hash.
      {"device numbers of a file", "rootfs/etc-passwd", [](Entry& e) { e.rdev_major = 9; }, false, false},
  };
  for (const auto& c : cases) {
    auto entries = tree();
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.path == c.path; });
    ASSERT_NE(it, entries.end()) << c.what;
    c.change(*it);
    const Digests now = digests_of(entries);
    EXPECT_EQ(now.content != base.content, c.content_moves) << c.what;
    EXPECT_EQ(now.fingerprint != base.fingerprint, c.fingerprint_moves) << c.what;
  }
}

TEST(SealDigest, AddingOrRemovingAnEntryMovesBoth) {
  const Digests base = digests_of(tree());
  auto added = tree();
  added.push_back(file("rootfs/new"));
  auto removed = tree();
  removed.pop_back();
  for (const auto& entries : {added, removed}) {
    const Digests now = digests_of(entries);
    EXPECT_NE(now.content, base.content);
    EXPECT_NE(now.fingerprint, base.fingerprint);
  }
}

TEST(SealDigest, TheConfigHashIsPartOfTheFingerprint) {
  const auto entries = tree();
  EXPECT_NE(fingerprint_digest(entries, config_hash), fingerprint_digest(entries, sha256("other config")));
}

TEST(SealDigest, EntryOrderAndXattrOrderDoNotMatter) {
  auto entries = tree();
  entries[3].xattrs = {{"security.capability", "c"}, {"user.a", "1"}};
  const Digests base = digests_of(entries);
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) {
    std::shuffle(entries.begin(), entries.end(), rng);
    for (auto& e : entries) std::reverse(e.xattrs.begin(), e.xattrs.end());
    const Digests now = digests_of(entries);
    EXPECT_EQ(now.content, base.content);
    EXPECT_EQ(now.fingerprint, base.fingerprint);
  }
}

TEST(SealDigest, RecordsAreUnambiguous) {
  // Shifting bytes between neighbouring fields must not give the same record.
  Entry a = symlink("rootfs/ab", "c");
  Entry b = symlink("rootfs/a", "bc");
  EXPECT_NE(content_record(a), content_record(b));
  Entry x = file("rootfs/f");
  x.xattrs = {{"user.ab", "c"}};
  Entry y = file("rootfs/f");
  y.xattrs = {{"user.a", "bc"}};
  EXPECT_NE(content_record(x), content_record(y));
}

TEST(SealDigest, CanonicalOrderIsComponentWise) {
  EXPECT_TRUE(canonical_less("a", "a/b"));
  EXPECT_TRUE(canonical_less("a/b", "a-c"));  // bytewise, '-' (0x2d) < '/' (0x2f) would say otherwise
  EXPECT_TRUE(canonical_less("a/z", "a-c"));
  EXPECT_TRUE(canonical_less("config", "rootfs"));
  EXPECT_FALSE(canonical_less("a", "a"));
  std::vector<Entry> entries = {file("rootfs/a-c"), file("rootfs/a/b"), dir("rootfs/a"), dir("rootfs"), file("config")};
  sort_canonical(entries);
  std::vector<std::string> paths;
  for (const auto& e : entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"config", "rootfs", "rootfs/a", "rootfs/a/b", "rootfs/a-c"}));
}

TEST(SealDigest, MeasureFoldsBothAndNeedsOneConfig) {
  auto m = measure(tree(), true);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->entries, tree().size());
  EXPECT_EQ(m->content, content_digest(tree()));
  EXPECT_EQ(m->config_sha256, sha256("lxc.rootfs.path = dir:/x/rootfs\n"));
  EXPECT_EQ(m->fingerprint, fingerprint_digest(tree(), m->config_sha256));
  EXPECT_FALSE(m->manifest.empty());

  EXPECT_EQ(m->newest_ctime, (Timestamp{1700000001, 987654321}));

  auto fast = measure(tree(), false);
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->fingerprint, m->fingerprint);  // the per-create walk agrees with the seal's
  EXPECT_EQ(fast->content, Digest{});
  EXPECT_TRUE(fast->manifest.empty());

  auto no_config = tree();
  no_config.erase(no_config.begin());
  EXPECT_FALSE(measure(no_config, true));
  auto twice = tree();
  twice.push_back(file("rootfs/bin/busybox"));
  EXPECT_FALSE(measure(twice, true));
}

TEST(SealDigest, ManifestRoundTripsAndNamesWhatChanged) {
  auto sealed = tree();
  sort_canonical(sealed);
  auto items = decode_manifest(encode_manifest(sealed));
  ASSERT_TRUE(items) << items.error().message;
  ASSERT_EQ(items->size(), sealed.size());
  EXPECT_EQ((*items)[3].path, sealed[3].path);
  EXPECT_EQ((*items)[3].record_sha256, sha256(content_record(sealed[3])));

  auto now = tree();
  for (auto& e : now) {
    if (e.path == "rootfs/etc-passwd") e.content_sha256 = sha256("changed");
    if (e.path == "rootfs/bin/sh") e.ctime.sec += 5;  // metadata only: not a content change
  }
  std::erase_if(now, [](const Entry& e) { return e.path == "rootfs/escape"; });
  now.push_back(file("rootfs/bin/su"));
  sort_canonical(now);
  auto now_items = decode_manifest(encode_manifest(now));
  ASSERT_TRUE(now_items);
  EXPECT_EQ(diff_manifests(*items, *now_items), (std::vector<Change>{{Change::Kind::added, "rootfs/bin/su"},
                                                                     {Change::Kind::removed, "rootfs/escape"},
                                                                     {Change::Kind::changed, "rootfs/etc-passwd"}}));
  EXPECT_TRUE(diff_manifests(*items, *items).empty());
}

TEST(SealDigest, DamagedManifestsAreRefused) {
  auto sorted = tree();
  sort_canonical(sorted);
  const std::string good = encode_manifest(sorted);
  EXPECT_FALSE(decode_manifest(""));
  EXPECT_FALSE(decode_manifest("not a manifest"));
  EXPECT_FALSE(decode_manifest(good.substr(0, good.size() - 1)));  // truncated
  EXPECT_FALSE(decode_manifest(good + "x"));                       // trailing bytes
  std::string huge = good;
  const std::size_t count_at = good.find('\n') + 1;
  huge[count_at + 7] = '\x7f';  // a count of ~2^62 items
  EXPECT_FALSE(decode_manifest(huge));
}

TEST(SealDigest, Sha256MatchesKnownVectors) {
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.finish(), sha256("abc"));
  EXPECT_EQ(h.finish(), sha256(""));  // finish() resets
}

}  // namespace
}  // namespace lxcprov::container
