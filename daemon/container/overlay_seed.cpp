#include "container/overlay_seed.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "common/fd.hpp"

namespace lxcprov::container {
namespace {

// glibc 2.36 has no openat2 wrapper.
int open_beneath(int root, const std::string& rel, int flags, mode_t mode = 0) {
  open_how how{};
  how.flags = static_cast<__u64>(static_cast<unsigned>(flags | O_CLOEXEC));
  how.mode = (flags & O_CREAT) ? static_cast<__u64>(mode) : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
}

Error refused(const std::string& path, const std::string& why) {
  return make_error(Errc::unavailable, "cannot write " + path + " before the first start: " + why);
}

Error failed(const std::string& path, int err) {
  // A symlink on the way, a directory where a file goes, a mount point, no openat2: not a plain
  // tree (whiteouts and other special files are refused by type before they are opened).
  if (err == ELOOP || err == EXDEV || err == ENOTDIR || err == EISDIR || err == ENOSYS)
    return refused(path, std::strerror(err));
  return make_error(Errc::io, "writing " + path + " into the new container failed: " + std::strerror(err));
}

// "etc/ssh/x" -> {"etc", "ssh", "x"}; paths are constants of lxcprov, absolute, without "." or "..".
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Present with any value (a size query: a short buffer would fail with ERANGE and read as absent).
bool opaque(int dir) {
  for (const char* name : {"user.overlay.opaque", "trusted.overlay.opaque"})
    if (::fgetxattr(dir, name, nullptr, 0) >= 0) return true;
  return false;
}

// Who a file belongs to, in host ids.
struct Owner {
  uid_t uid;
  gid_t gid;
  mode_t mode;
};

struct File {
  std::string content;
  Owner owner;
};

class Layers {
 public:
  static Result<Layers> open(const OverlayLayers& l) {
    Layers out;
    out.lower_ = Fd(::open(l.lower.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    out.upper_ = Fd(::open(l.upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!out.lower_.valid() || !out.upper_.valid()) return failed("the rootfs", errno);
    return out;
  }

  // The file at `path` as the container will see it, with its owner and mode: the upper layer's,
  // else the lower's; nullopt when neither has it.
  Result<std::optional<File>> read(const std::string& path) {
    auto dir = upper_dir(path, false, 0, 0);
    if (!dir) return dir.error();
    const std::string rel = path.substr(1);
    // Looked at before it is opened for reading: a FIFO would block the job and a device would be
    // opened by root; a whiteout (0:0 character device) means the lower layer's file is gone.
    int root = upper_.get();
    Fd at(open_beneath(root, rel, O_PATH | O_NOFOLLOW));
    if (!at.valid() && errno == ENOENT) at = Fd(open_beneath(root = lower_.get(), rel, O_PATH | O_NOFOLLOW));
    if (!at.valid() && errno == ENOENT) return std::optional<File>();
    if (!at.valid()) return failed(path, errno);
    struct stat st {};
    if (::fstat(at.get(), &st) != 0) return failed(path, errno);
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return refused(path, "a whiteout");
    if (!S_ISREG(st.st_mode)) return refused(path, "not a regular file");
    Fd fd(open_beneath(root, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK));
    struct stat again {};
    if (!fd.valid() || ::fstat(fd.get(), &again) != 0) return failed(path, errno);
    if (again.st_dev != st.st_dev || again.st_ino != st.st_ino) return refused(path, "changed while read");
    File file{{}, {st.st_uid, st.st_gid, st.st_mode & 07777}};
    std::string& content = file.content;
    char buf[8192];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failed(path, errno);
      if (n == 0) break;
      content.append(buf, static_cast<std::size_t>(n));
      if (content.size() > (1u << 20)) return refused(path, "larger than 1 MiB");
    }
    return std::optional<File>(std::move(file));
  }

  // The upper layer's directory `path` (made like the lower layer's when missing) set to `mode`
  // and `uid`:`gid` whatever the template gave it, as `chmod 700 /root/.ssh` did.
  Status own_dir(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
    auto dir = upper_dir(path + "/.", true, uid, gid);
    if (!dir) return dir.error();
    if (::fchmod(dir->get(), mode) != 0 || ::fchown(dir->get(), uid, gid) != 0) return failed(path, errno);
    return {};
  }

  // Replaces `path` in the upper layer with `content`, owned as `owner` says; `durable` when it
  // replaces a file the container already has (flushed before the rename). Directories it must make
  // belong to `owner`'s uid and gid where the lower layer has none.
  Status replace(const std::string& path, const std::string& content, const Owner& owner, bool durable) {
    auto dir = upper_dir(path, true, owner.uid, owner.gid);
    if (!dir) return dir.error();
    const std::string base = components(path).back();
    const std::string tmp = ".lxcprov-" + base + ".tmp";
    (void)::unlinkat(dir->get(), tmp.c_str(), 0);  // a leftover of a job that crashed here
    Fd fd(::openat(dir->get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return failed(path, errno);
    auto fail = [&](int err) {
      (void)::unlinkat(dir->get(), tmp.c_str(), 0);
      return failed(path, err);
    };
    std::size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(errno);
      done += static_cast<std::size_t>(n);
    }
    // Mode first: once the file is the container's, changing it takes CAP_FOWNER.
    if (::fchmod(fd.get(), owner.mode) != 0 || ::fchown(fd.get(), owner.uid, owner.gid) != 0) return fail(errno);
    // A replaced file must not come back empty after a power cut (an empty shadow in the upper
    // layer would hide the template's); new files cost no more than the old in-container writes.
    if (durable && ::fdatasync(fd.get()) != 0) return fail(errno);
    if (::renameat(dir->get(), tmp.c_str(), dir->get(), base.c_str()) != 0) return fail(errno);
    return {};
  }

 private:
  // The upper layer's directory holding `path`, made (when `make`) like the lower layer's, or
  // 0700 `uid`:`gid` where the lower layer has none. Refused when a directory on the way is opaque
  // (the lower layer no longer shows through it).
  Result<Fd> upper_dir(const std::string& path, bool make, uid_t uid, gid_t gid) {
    auto parts = components(path);
    parts.pop_back();
    Fd dir(::fcntl(upper_.get(), F_DUPFD_CLOEXEC, 0));
    std::string prefix;
    for (const auto& part : parts) {
      prefix += "/" + part;
      Fd next(open_beneath(dir.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      if (!next.valid() && errno == ENOENT && make) {
        // As the overlay's copy-up would make it: the lower layer's owner and mode.
        Fd lower(open_beneath(lower_.get(), prefix.substr(1), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
        struct stat st {};
        st.st_uid = uid, st.st_gid = gid, st.st_mode = 0700;
        if (!lower.valid() && errno != ENOENT) return failed(prefix, errno);
        if (lower.valid() && ::fstat(lower.get(), &st) != 0) return failed(prefix, errno);
        if (::mkdirat(dir.get(), part.c_str(), 0700) != 0 && errno != EEXIST) return failed(prefix, errno);
        next = Fd(open_beneath(dir.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
        if (!next.valid()) return failed(prefix, errno);
        if (::fchmod(next.get(), st.st_mode & 07777) != 0 || ::fchown(next.get(), st.st_uid, st.st_gid) != 0)
          return failed(prefix, errno);
      } else if (!next.valid() && errno == ENOENT) {
        return Fd(-1);  // not in the upper layer: nothing there can hide the lower one
      } else if (!next.valid()) {
        return failed(prefix, errno);
      } else if (opaque(next.get())) {
        return refused(prefix, "an opaque overlay directory");
      }
      dir = std::move(next);
    }
    return dir;
  }

  Fd lower_, upper_;
};

}  // namespace

std::optional<OverlayLayers> overlay_layers(const std::string& rootfs_path) {
  std::string rest;
  for (const char* prefix : {"overlay:", "overlayfs:"})
    if (rootfs_path.rfind(prefix, 0) == 0) rest = rootfs_path.substr(std::strlen(prefix));
  const std::size_t colon = rest.find(':');
  if (colon == std::string::npos || rest.find(':', colon + 1) != std::string::npos) return std::nullopt;
  OverlayLayers l{rest.substr(0, colon), rest.substr(colon + 1)};
  if (l.lower.empty() || l.upper.empty() || l.lower[0] != '/' || l.upper[0] != '/') return std::nullopt;
  return l;
}

Status seed_first_boot(const OverlayLayers& layers, const FirstBoot& boot, uid_t root_uid, gid_t root_gid) {
  auto tree = Layers::open(layers);
  if (!tree) return tree.error();
  // What is read comes first, so a refusal there leaves the layer as it was; one while writing
  // (a symlink at /root) leaves files the inside configure writes again whole.
  auto hosts = tree->read("/etc/hosts");
  if (!hosts) return hosts.error();
  auto shadow = tree->read("/etc/shadow");
  if (!shadow) return shadow.error();
  if (!*shadow) return refused("/etc/shadow", "missing");
  auto locked = shadow_with_root_locked((*shadow)->content);
  if (!locked) return refused("/etc/shadow", "no root entry");

  const Owner root_file{root_uid, root_gid, 0644}, root_secret{root_uid, root_gid, 0600};
  if (auto s = tree->replace("/etc/hostname", boot.hostname + "\n", root_file, false); !s) return s;
  if (*hosts)
    if (auto named = hosts_naming((*hosts)->content, boot.hostname); named != (*hosts)->content)
      if (auto s = tree->replace("/etc/hosts", named, (*hosts)->owner, true); !s) return s;
  if (*locked != (*shadow)->content)
    if (auto s = tree->replace("/etc/shadow", *locked, (*shadow)->owner, true); !s) return s;
  if (!boot.dns.empty())
    if (auto s = tree->replace("/etc/resolv.conf", resolv_conf(boot.dns), root_file, false); !s) return s;
  if (!boot.authorized_key.empty()) {
    // sshd ignores the keys in a .ssh others can write (StrictModes).
    if (auto s = tree->own_dir("/root/.ssh", 0700, root_uid, root_gid); !s) return s;
    if (auto s = tree->replace("/root/.ssh/authorized_keys", boot.authorized_key + "\n", root_secret, false); !s)
      return s;
  }
  return {};
}

}  // namespace lxcprov::container
