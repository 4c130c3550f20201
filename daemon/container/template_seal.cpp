// The template walker and the per-create seal check (see template_seal.hpp).

#include "container/template_seal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

#include "container/template_policy.hpp"
#include "log/log.hpp"

namespace lxcprov::container {
namespace {

constexpr int max_depth = 256;                      // deeper than any real rootfs; bounds the fds held open
constexpr std::size_t max_config_bytes = 1u << 20;  // an LXC config is a few KiB
constexpr std::size_t max_xattr_bytes = 1u << 16;   // the kernel's own limit for one value
constexpr std::size_t read_chunk = 256u << 10;
// scripts/build-template.sh's note of what it built (the newer name first).
constexpr const char* build_markers[] = {".lxcprov-template-built", ".lxcprov-template-sealed"};

Error walk_error(std::string_view rel, std::string_view what) {
  return make_error(Errc::io, fmt::format("template walk: {}: {}", rel, what));
}

Error errno_error(std::string_view rel, int err) {
  return walk_error(rel, std::error_code(err, std::generic_category()).message());
}

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

Result<container::FileType> type_of(mode_t m, std::string_view rel) {
  if (S_ISREG(m)) return container::FileType::regular;
  if (S_ISDIR(m)) return container::FileType::directory;
  if (S_ISLNK(m)) return container::FileType::symlink;
  if (S_ISCHR(m)) return container::FileType::char_device;
  if (S_ISBLK(m)) return container::FileType::block_device;
  if (S_ISFIFO(m)) return container::FileType::fifo;
  if (S_ISSOCK(m)) return container::FileType::socket;
  return walk_error(rel, "unknown file type");
}

Result<container::Entry> entry_from_stat(const struct stat& st, std::string rel) {
  auto type = type_of(st.st_mode, rel);
  if (!type) return type.error();
  container::Entry e;
  e.path = std::move(rel);
  e.type = *type;
  e.mode = static_cast<uint32_t>(st.st_mode & 07777);
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.ino = st.st_ino;
  e.nlink = st.st_nlink;
  e.size = static_cast<uint64_t>(st.st_size);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    e.rdev_major = major(st.st_rdev);
    e.rdev_minor = minor(st.st_rdev);
  }
  e.mtime = {st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  e.ctime = {st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
  e.atime = {st.st_atim.tv_sec, st.st_atim.tv_nsec};
  return e;
}

// Every extended attribute, through `list` and `get` (the f* calls on a descriptor, or the l*
// calls on a path that is never followed). `names` and `value` are the caller's scratch buffers,
// reused across entries: most entries have no attributes, and none should pay for an allocation.
template <class List, class Get>
Status read_xattrs(container::Entry& e, List list, Get get, std::string& names, std::string& value) {
  if (names.size() < 4096) names.resize(4096);
  ssize_t n;
  for (;;) {
    n = list(names.data(), names.size());
    if (n >= 0) break;
    if (errno == ENOTSUP || errno == ENODATA) return {};
    if (errno != ERANGE || names.size() >= (1u << 20)) return errno_error(e.path, errno);
    names.resize(names.size() * 4);
  }
  if (n == 0) return {};
  if (value.size() < max_xattr_bytes) value.resize(max_xattr_bytes);
  const std::string_view listed(names.data(), static_cast<std::size_t>(n));
  for (std::size_t pos = 0; pos < listed.size();) {
    const std::size_t end = listed.find('\0', pos);
    const std::string name(listed.substr(pos, end - pos));
    pos = end == std::string_view::npos ? listed.size() : end + 1;
    if (name.empty()) continue;
    const ssize_t v = get(name.c_str(), value.data(), value.size());
    if (v < 0) {
      if (errno == ENODATA) continue;  // removed between the list and the read
      return errno_error(e.path, errno);
    }
    e.xattrs.emplace_back(name, value.substr(0, static_cast<std::size_t>(v)));
  }
  return {};
}

class Walker {
 public:
  explicit Walker(WalkMode mode) : content_(mode == WalkMode::content), buf_(read_chunk) {}

  std::vector<container::Entry> entries;
  std::string config_text;
  dev_t rootfs_dev = 0;
  ino_t rootfs_ino = 0;

  Status walk(const std::string& dir) {
    // O_NOFOLLOW on the template directory too: a symlinked template is not what LXC's
    // lxc_snapshots bookkeeping and our seal would be about.
    Fd top(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!top.ok())
      return errno == ENOENT ? make_error(Errc::not_found, "template walk: no such template directory")
                             : errno_error(".", errno);
    if (auto s = read_config(top.get()); !s) return s;
    struct stat st {};
    if (::fstatat(top.get(), "rootfs", &st, AT_SYMLINK_NOFOLLOW) != 0) return errno_error("rootfs", errno);
    if (!S_ISDIR(st.st_mode)) return walk_error("rootfs", "is not a directory");
    Fd root(::openat(top.get(), "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.ok()) return errno_error("rootfs", errno);
    if (auto s = same_inode(root.get(), st, "rootfs"); !s) return s;
    rootfs_dev = st.st_dev;
    rootfs_ino = st.st_ino;
    auto e = entry_from_stat(st, "rootfs");
    if (!e) return e.error();
    if (content_) {
      if (auto s = fd_xattrs(*e, root.get()); !s) return s;
    }
    entries.push_back(std::move(*e));
    return visit_dir(root.get(), "rootfs", 1);
  }

 private:
  static Status same_inode(int fd, const struct stat& want, std::string_view rel) {
    struct stat got {};
    if (::fstat(fd, &got) != 0) return errno_error(rel, errno);
    if (got.st_ino != want.st_ino || got.st_dev != want.st_dev || (got.st_mode & S_IFMT) != (want.st_mode & S_IFMT))
      return walk_error(rel, "changed while it was being read");
    return {};
  }

  Status fd_xattrs(container::Entry& e, int fd) {
    return read_xattrs(
        e, [fd](char* b, std::size_t n) { return ::flistxattr(fd, b, n); },
        [fd](const char* name, char* b, std::size_t n) { return ::fgetxattr(fd, name, b, n); }, xattr_names_,
        xattr_value_);
  }

  // For entries that are never opened (symlinks, devices, fifos, sockets): the l* calls through
  // the parent's descriptor, which do not follow the final name.
  Status path_xattrs(container::Entry& e, int dfd, const char* name) {
    const std::string path = fmt::format("/proc/self/fd/{}/{}", dfd, name);
    return read_xattrs(
        e, [&](char* b, std::size_t n) { return ::llistxattr(path.c_str(), b, n); },
        [&](const char* xname, char* b, std::size_t n) { return ::lgetxattr(path.c_str(), xname, b, n); }, xattr_names_,
        xattr_value_);
  }

  // Opens a regular file for reading without following it, without blocking (a fifo swapped in
  // after the lstat would otherwise hang the walk) and without touching its atime.
  static int open_regular(int dfd, const char* name) {
    const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    int fd = ::openat(dfd, name, flags | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = ::openat(dfd, name, flags);  // O_NOATIME needs ownership or CAP_FOWNER
    return fd;
  }

  Status hash_file(container::Entry& e, int fd, const struct stat& st) {
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    container::Sha256 h;
    uint64_t total = 0;
    for (;;) {
      const ssize_t n = ::read(fd, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(e.path, errno);
      if (n == 0) break;
      h.update(buf_.data(), static_cast<std::size_t>(n));
      total += static_cast<uint64_t>(n);
    }
    if (total != static_cast<uint64_t>(st.st_size)) return walk_error(e.path, "changed while it was being read");
    e.content_sha256 = h.finish();
    return {};
  }

  Status read_config(int top) {
    struct stat st {};
    if (::fstatat(top, "config", &st, AT_SYMLINK_NOFOLLOW) != 0) return errno_error("config", errno);
    if (!S_ISREG(st.st_mode)) return walk_error("config", "is not a regular file");
    if (static_cast<uint64_t>(st.st_size) > max_config_bytes) return walk_error("config", "is larger than 1 MiB");
    Fd fd(open_regular(top, "config"));
    if (!fd.ok()) return errno_error("config", errno);
    if (auto s = same_inode(fd.get(), st, "config"); !s) return s;
    config_text.assign(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t off = 0;
    while (off < config_text.size()) {
      const ssize_t n = ::read(fd.get(), config_text.data() + off, config_text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("config", errno);
      if (n == 0) break;
      off += static_cast<std::size_t>(n);
    }
    char extra;
    if (off != config_text.size() || ::read(fd.get(), &extra, 1) != 0)
      return walk_error("config", "changed while it was being read");
    auto e = entry_from_stat(st, "config");
    if (!e) return e.error();
    // Both walks hash the config: it is small, and the fingerprint includes its content.
    e->content_sha256 = container::sha256(config_text);
    if (content_) {
      if (auto s = fd_xattrs(*e, fd.get()); !s) return s;
    }
    entries.push_back(std::move(*e));
    return {};
  }

  struct Name {
    std::string name;
    unsigned char type;  ///< d_type: DT_DIR, DT_REG..., or DT_UNKNOWN
    bool operator<(const Name& o) const { return name < o.name; }
  };

  // getdents64 on the directory's own descriptor: no duplicate descriptor, no DIR stream (per
  // directory that is four system calls fewer, a fifth of a Debian template's walk).
  Result<std::vector<Name>> names_in(int dfd, std::string_view rel) {
    std::vector<Name> names;
    // A member, not a stack array: the walk recurses up to max_depth levels on a worker thread.
    char* buf = dents_.data();
    for (;;) {
      const ssize_t n = ::getdents64(dfd, buf, dents_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(rel, errno);
      if (n == 0) break;
      for (ssize_t off = 0; off < n;) {
        const auto* d = reinterpret_cast<const dirent64*>(buf + off);
        off += d->d_reclen;
        if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
        names.push_back({d->d_name, d->d_type});
      }
    }
    // Bytewise, which with '/' as separator is the canonical order (container::canonical_less).
    std::sort(names.begin(), names.end());
    return names;
  }

  Status visit_dir(int dfd, const std::string& rel, int depth) {
    if (depth > max_depth) return walk_error(rel, "directories nest deeper than 256 levels");
    auto names = names_in(dfd, rel);
    if (!names) return names.error();
    for (const auto& [name, d_type] : *names) {
      std::string child = rel + "/" + name;
      struct stat st {};
      Fd sub;
      if (d_type == DT_DIR) {
        // Open, then stat what was opened: one system call fewer than lstat + open + fstat, and
        // the stat is of the very directory walked. Anything else here now (the entry was
        // replaced since the listing) is looked at afresh below.
        sub = Fd(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub.ok() && ::fstat(sub.get(), &st) != 0) return errno_error(child, errno);
        if (!sub.ok() && errno != ENOTDIR && errno != ELOOP) return errno_error(child, errno);
      }
      if (!sub.ok()) {
        if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno_error(child, errno);
        if (S_ISDIR(st.st_mode)) {
          sub = Fd(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
          if (!sub.ok()) return errno_error(child, errno);
          if (auto s = same_inode(sub.get(), st, child); !s) return s;
        }
      }
      if (st.st_dev != rootfs_dev)
        return walk_error(child,
                          "a file system is mounted here inside the template; unmount it (a clone would not "
                          "see it, so a seal cannot cover it)");
      auto e = entry_from_stat(st, std::move(child));
      if (!e) return e.error();
      if (sub.ok()) {
        if (content_) {
          if (auto s = fd_xattrs(*e, sub.get()); !s) return s;
        }
        const std::string path = e->path;
        entries.push_back(std::move(*e));
        if (auto s = visit_dir(sub.get(), path, depth + 1); !s) return s;
        continue;
      }
      if (content_) {
        if (S_ISREG(st.st_mode)) {
          Fd fd(open_regular(dfd, name.c_str()));
          if (!fd.ok()) return errno_error(e->path, errno);
          if (auto s = same_inode(fd.get(), st, e->path); !s) return s;
          if (auto s = hash_file(*e, fd.get(), st); !s) return s;
          if (auto s = fd_xattrs(*e, fd.get()); !s) return s;
        } else {
          if (S_ISLNK(st.st_mode)) {
            // readlinkat never follows; size+1 tells a target that grew since the lstat.
            std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
            const ssize_t n = ::readlinkat(dfd, name.c_str(), target.data(), target.size());
            if (n < 0) return errno_error(e->path, errno);
            if (static_cast<std::size_t>(n) != static_cast<std::size_t>(st.st_size))
              return walk_error(e->path, "changed while it was being read");
            target.resize(static_cast<std::size_t>(n));
            e->link_target = std::move(target);
          }
          if (auto s = path_xattrs(*e, dfd, name.c_str()); !s) return s;
        }
      }
      entries.push_back(std::move(*e));
    }
    return {};
  }

  bool content_;
  std::vector<char> buf_;                               ///< file reads
  std::vector<char> dents_ = std::vector<char>(32768);  ///< getdents64; all names are copied out before recursing
  std::string xattr_names_, xattr_value_;               ///< scratch of read_xattrs
};

Result<Walker> run_walk(const std::string& dir, WalkMode mode) {
  Walker w(mode);
  if (auto s = w.walk(dir); !s) return s.error();
  return w;
}

}  // namespace

Result<std::vector<container::Entry>> walk_template(const std::string& dir, WalkMode mode) {
  auto w = run_walk(dir, mode);
  if (!w) return w.error();
  return std::move(w->entries);
}

Result<container::Measurement> measure_template(const std::string& dir, WalkMode mode) {
  auto w = run_walk(dir, mode);
  if (!w) return w.error();
  // LXC follows the configured path (symlinks included): it must lead to the rootfs walked.
  auto rootfs = container::rootfs_path(w->config_text);
  if (!rootfs) return rootfs.error();
  struct stat st {};
  if (::stat(rootfs->c_str(), &st) != 0 || st.st_dev != w->rootfs_dev || st.st_ino != w->rootfs_ino)
    return make_error(Errc::invalid_argument,
                      "the template's lxc.rootfs.path is not its own rootfs directory; a seal would not cover "
                      "what clones use");
  return container::measure(std::move(w->entries), mode == WalkMode::content);
}

Result<container::Measurement> measure_for_seal(const std::string& dir) {
  auto m = measure_template(dir, WalkMode::content);
  if (!m) return m;
  // 50 ms is several ticks at any HZ; a tree last touched longer ago (every template but one
  // sealed right after its build) does not wait at all.
  const container::Timestamp past{m->newest_ctime.sec + (m->newest_ctime.nsec + 50'000'000) / 1'000'000'000,
                                  (m->newest_ctime.nsec + 50'000'000) % 1'000'000'000};
  for (int waited_ms = 0;; waited_ms += 10) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (container::Timestamp{now.tv_sec, now.tv_nsec} > past) break;
    if (waited_ms >= 2000)
      return make_error(Errc::timeout,
                        "an entry of the template was changed in the future (was the clock set "
                        "back?); seal it once the clock has passed that time");
    ::usleep(10'000);
  }
  auto again = measure_template(dir, WalkMode::fingerprint);
  if (!again) return again.error();
  if (again->fingerprint != m->fingerprint)
    return make_error(Errc::conflict,
                      "the template changed while it was being sealed; stop whatever writes to it "
                      "and seal again");
  return m;
}

Result<std::vector<std::string>> snapshot_clones(const std::string& dir) {
  Fd top(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top.ok()) return errno_error(".", errno);
  Fd fd(::openat(top.get(), "lxc_snapshots", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno == ENOENT) return std::vector<std::string>();  // LXC removes it with the last clone
    return errno_error("lxc_snapshots", errno);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("lxc_snapshots", errno);
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_config_bytes) return walk_error("lxc_snapshots", "is larger than 1 MiB");
  }
  return container::parse_snapshot_clones(text);
}

std::string build_note(const std::string& dir) {
  Fd top(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top.ok()) return "";
  for (const char* marker : build_markers) {
    Fd fd(::openat(top.get(), marker, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.ok()) continue;
    char buf[512];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) return "";
    std::string note(buf, static_cast<std::size_t>(n));
    note = note.substr(0, note.find('\n'));
    // One printable line: it is stored as text and shown to admins.
    std::erase_if(note, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
    return note.substr(0, 200);
  }
  return "";
}

StoredTemplateSeals::StoredTemplateSeals(state::Store& store, std::string lxcpath, Walk walk)
    : store_(store), lxcpath_(std::move(lxcpath)), walk_(std::move(walk)) {
  if (!walk_) walk_ = [](const std::string& dir) { return measure_template(dir, WalkMode::fingerprint); };
}

uint64_t StoredTemplateSeals::walks() const {
  std::lock_guard lock(mutex_);
  return walk_count_;
}

Result<container::Measurement> StoredTemplateSeals::fresh_walk(const std::string& name) {
  std::unique_lock lock(mutex_);
  Walks& w = walks_[name];              // std::map: the reference survives other templates' insertions
  const uint64_t need = w.started + 1;  // the first walk that starts from now on
  while (w.finished < need) {
    if (w.running) {
      walked_.wait(lock);
      continue;
    }
    w.running = true;
    const uint64_t generation = ++w.started;
    ++walk_count_;
    lock.unlock();
    auto m = walk_(lxcpath_ + "/" + name);
    lock.lock();
    w.last = std::move(m);
    w.finished = generation;
    w.running = false;
    walked_.notify_all();
  }
  return *w.last;
}

Status StoredTemplateSeals::check(const std::string& name) {
  if (!container::valid_template_name(name)) return container::unreadable(name);
  const auto t0 = std::chrono::steady_clock::now();
  auto sealed = store_.find_template_seal(name);
  if (!sealed) {
    log::warn(fmt::format("seal check of template {}: {}", name, sealed.error().message));
    return container::unreadable(name);
  }
  if (!sealed->has_value()) return container::not_sealed(name);
  auto now = fresh_walk(name);
  if (!now) {
    // The reason may name paths in the template: the daemon log is for the admin only.
    log::warn(fmt::format("seal check of template {}: {}", name, now.error().message));
    return container::unreadable(name);
  }
  const std::string fingerprint = container::to_hex(now->fingerprint);
  if (fingerprint != (*sealed)->fingerprint_sha256) {
    log::warn(
        fmt::format("template {} does not match its seal: fingerprint {} over {} entries, sealed {} over {} "
                    "entries; creates from it are refused until `lxcprovctl template verify {}` and a new seal",
                    name, fingerprint.substr(0, 16), now->entries, (*sealed)->fingerprint_sha256.substr(0, 16),
                    (*sealed)->entries, name));
    return container::mismatch(name);
  }
  log::debug(fmt::format("template {} matches its seal ({} entries, checked in {:.1f} ms)", name, now->entries,
                         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()));
  return {};
}

}  // namespace lxcprov::container
