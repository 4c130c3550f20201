#pragma once
// The golden values of a template (R-ATT-1): canonical per-entry records and the two digests
// folded from them, plus the manifest that lets `verify` name what changed. Pure: the entries
// come from the walker (container/template_seal.hpp), which does the I/O. Any thread.
//
// Two digests over the same entries ("config" and everything under "rootfs", never followed):
//  - content digest: what a clone sees: path, type, mode (with setuid/setgid/sticky), owner,
//    the bytes of every regular file, symlink targets, device numbers and extended attributes
//    (security.capability, ACLs...). Costs a read of every file; used by seal and verify.
//  - fingerprint: what the inodes say: path, inode number, type, mode, owner, link count, size,
//    mtime and ctime to the nanosecond, plus the config file's content hash. Every write, chmod,
//    chown, rename, link, unlink and xattr change sets the ctime of the inode (or of its parent
//    directory) to the current time, and no system call sets ctime to a chosen value, so an equal
//    fingerprint means nothing was changed through the file system since the seal. Costs an
//    lstat per entry (no file reads); used before every clone.
// Access time is in Entry (the walker sees it) but in neither record: a clone booting reads the
// template's files through its overlay, which may update atime without changing anything.

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace lxcprov::container {

using Digest = std::array<uint8_t, 32>;

enum class FileType : uint8_t { regular = 1, directory, symlink, char_device, block_device, fifo, socket };

struct Timestamp {
  int64_t sec = 0;
  int64_t nsec = 0;
  bool operator==(const Timestamp&) const = default;
  auto operator<=>(const Timestamp&) const = default;
};

/// One file system entry of a template as lstat saw it (never followed).
struct Entry {
  std::string path;  ///< relative to the template directory: "config", "rootfs", "rootfs/bin/sh"
  FileType type = FileType::regular;
  uint32_t mode = 0;  ///< permission bits with setuid, setgid and sticky (st_mode & 07777)
  uint32_t uid = 0, gid = 0;
  uint64_t ino = 0, nlink = 0, size = 0;
  uint32_t rdev_major = 0, rdev_minor = 0;  ///< device nodes only
  Timestamp mtime, ctime;
  Timestamp atime;  ///< deliberately in neither record (see the header)

  // Filled by a content walk only (and for "config" by every walk).
  Digest content_sha256{};                                  ///< regular files: SHA-256 of the bytes
  std::string link_target;                                  ///< symlinks
  std::vector<std::pair<std::string, std::string>> xattrs;  ///< name -> value; any order
};

/// The bytes hashed for `e` in the content digest. Fields are length-prefixed, so two different
/// entries never encode alike.
std::string content_record(const Entry& e);
/// The bytes hashed for `e` in the fingerprint.
std::string fingerprint_record(const Entry& e);

/// True when `a` sorts before `b` in the walk order: component by component, bytewise, so a
/// directory comes right before its contents ("a" < "a/b" < "a-c").
bool canonical_less(std::string_view a, std::string_view b);

/// Sorts into the canonical order. The digests below depend only on the set of entries.
void sort_canonical(std::vector<Entry>& entries);

/// SHA-256 over every content_record, in canonical order.
Digest content_digest(std::vector<Entry> entries);
/// SHA-256 over `config_sha256` and every fingerprint_record, in canonical order.
Digest fingerprint_digest(std::vector<Entry> entries, const Digest& config_sha256);

/// What a walk yields once folded.
struct Measurement {
  Digest content{};  ///< all zero for a fingerprint-only walk
  Digest fingerprint{};
  Digest config_sha256{};
  uint64_t entries = 0;
  std::string manifest;    ///< encode_manifest() of a content walk; empty otherwise
  Timestamp newest_ctime;  ///< the latest ctime of any entry (see container::measure_for_seal)
};

/// Folds a walk. `with_content`: the entries carry content (a content walk). Errc::invalid_argument
/// when there is no "config" entry or a path repeats.
Result<Measurement> measure(std::vector<Entry> entries, bool with_content);

// --- manifest: one digest per entry, so verify can say which path changed --------------------

struct ManifestItem {
  std::string path;
  Digest record_sha256{};  ///< SHA-256 of the entry's content_record
  bool operator==(const ManifestItem&) const = default;
};

/// Versioned binary form of the per-entry digests of canonically sorted `entries`.
std::string encode_manifest(const std::vector<Entry>& sorted_entries);
/// Errc::invalid_argument when `bytes` is not a manifest this version wrote.
Result<std::vector<ManifestItem>> decode_manifest(std::string_view bytes);

struct Change {
  enum class Kind { added, removed, changed };
  Kind kind = Kind::changed;
  std::string path;
  bool operator==(const Change&) const = default;
};

/// What differs between a sealed manifest and a current one, in canonical path order.
std::vector<Change> diff_manifests(const std::vector<ManifestItem>& sealed, const std::vector<ManifestItem>& now);

/// "added", "removed", "changed".
std::string_view to_string(Change::Kind kind);

/// Lowercase hex.
std::string to_hex(const Digest& d);
/// SHA-256 of `bytes`.
Digest sha256(std::string_view bytes);

/// Incremental SHA-256 (OpenSSL EVP), for the walker's file reads. Not copyable.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  /// The digest of everything given; the object is reset for reuse.
  Digest finish();

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace lxcprov::container
