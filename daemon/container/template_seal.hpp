#pragma once
// The template walker: reads a template directory (<lxcpath>/<name>) into container::Entry values, and
// the per-create seal check built on it. I/O (the file system, the state database); blocking;
// thread-safe (no shared state: each call walks on its own).
//
// The walk covers the template's "config" file and its "rootfs" tree, nothing else: LXC writes
// lxc_snapshots into the template directory on every snapshot clone, so the directory itself
// changes with each create. Nothing is ever followed: every name is opened relative to its parent
// directory's descriptor with O_NOFOLLOW (directories also O_DIRECTORY) and stat'ed with
// AT_SYMLINK_NOFOLLOW, so a symlink anywhere in the rootfs (to "/", to a host file) is recorded
// as a symlink and its target is never read. Device nodes, fifos and sockets are only stat'ed,
// never opened. Runs as root, so file modes do not limit what is read; the owner may be any id
// (an unprivileged template is owned by shifted ids). A file system mounted inside the rootfs is
// refused: a clone's overlay would see what is under it, not what the walk would read.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "container/template_digest.hpp"
#include "container/template_seals.hpp"
#include "state/store.hpp"

namespace lxcprov::container {

enum class WalkMode {
  fingerprint,  ///< lstat only (and the small config file): the per-create check
  content,      ///< also every regular file's bytes, symlink targets and xattrs: seal and verify
};

/// Walks the template directory `dir` and folds it (container::measure). Also checks that the
/// config's lxc.rootfs.path is the walked rootfs (else the seal would cover a tree clones do not
/// use). Errors name paths relative to `dir` ("rootfs/etc/shadow: ..."): for admins, not users.
Result<container::Measurement> measure_template(const std::string& dir, WalkMode mode);

/// What `lxcprovctl template seal` stores: a content walk, then, once the clock is past the
/// newest ctime in the tree, a fingerprint walk that must agree. ctime has the kernel's coarse
/// clock granularity (one tick, 1-10 ms), so a change within the tick of an entry's last change
/// could keep its ctime; after the wait, any change moves some ctime. Errc::conflict when the tree
/// changed during the walks, Errc::timeout when a ctime lies in the future (the clock was set back).
Result<container::Measurement> measure_for_seal(const std::string& dir);

/// The raw entries of a walk, unsorted (tests and benchmarks).
Result<std::vector<container::Entry>> walk_template(const std::string& dir, WalkMode mode);

/// The snapshot clones LXC lists as depending on the template in `dir` (its lxc_snapshots file);
/// empty when there is none.
Result<std::vector<std::string>> snapshot_clones(const std::string& dir);

/// The build script's note in `dir` (its marker file, first line), or "".
std::string build_note(const std::string& dir);

/// container::TemplateSeals on the state database: compares a fingerprint walk of
/// <lxcpath>/<template> with the stored seal. Refusals carry the user-safe messages of
/// container/template_seals.hpp; the reason (with paths) goes to the daemon log only.
///
/// Concurrent checks of one template share walks: a check waits for the first walk that starts
/// after it was called (never one already under way, which may have read part of the tree before
/// a change the caller must see), and one walk answers every check waiting for it. So K creates at
/// once cost one or two walks, not K. Thread-safe.
class StoredTemplateSeals : public container::TemplateSeals {
 public:
  /// How a template directory is walked; measure_template(dir, WalkMode::fingerprint) unless a
  /// test gives another.
  using Walk = std::function<Result<container::Measurement>(const std::string& dir)>;

  StoredTemplateSeals(state::Store& store, std::string lxcpath, Walk walk = {});
  Status check(const std::string& template_name) override;
  /// Fingerprint walks done so far (all templates): tests and benchmarks.
  uint64_t walks() const;

 private:
  struct Walks {
    bool running = false;
    uint64_t started = 0, finished = 0;                  ///< generations
    std::optional<Result<container::Measurement>> last;  ///< of generation `finished`
  };
  /// The result of a fingerprint walk of `name` that started after this call.
  Result<container::Measurement> fresh_walk(const std::string& name);

  state::Store& store_;
  std::string lxcpath_;
  Walk walk_;
  mutable std::mutex mutex_;
  std::condition_variable walked_;
  std::map<std::string, Walks> walks_;  ///< guarded by mutex_
  uint64_t walk_count_ = 0;             ///< guarded by mutex_
};

}  // namespace lxcprov::container
