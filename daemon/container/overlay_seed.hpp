#pragma once
// Writing files into a container that has never run, through its overlay's upper directory, so
// that they are in place at the first start and nothing has to run inside it to put them there.
// Every path is resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS) under the layer's
// root: a symlink anywhere on the way (even one that stays inside) is refused rather than
// followed, so no write can land outside the layer. A directory the upper layer lacks is made
// with the owner and mode the lower layer gives it, as the overlay's own copy-up would.
// Anything unusual in the upper layer (a whiteout, an opaque directory, a non-regular file where a
// file goes) makes the seed Errc::unavailable: the caller then writes from inside after the
// start. Unlike the overlay's copy-up, a directory made here gets no extended attributes (ACLs,
// security labels) or timestamps of the lower one: lxcprov's templates have none on /etc or /root.
// Does I/O: files only.

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/result.hpp"
#include "container/first_boot.hpp"

namespace lxcprov::container {

/// The directories of an overlay rootfs ("overlay:LOWER:UPPER" in lxc.rootfs.path).
struct OverlayLayers {
  std::string lower, upper;
};

/// The layers of an lxc.rootfs.path value (container::rootfs_value), or nullopt unless it is a
/// two-layer overlay of absolute paths.
std::optional<OverlayLayers> overlay_layers(const std::string& rootfs_path);

/// Writes `boot` into the upper layer: /etc/hostname, /etc/hosts naming the host, root locked in
/// /etc/shadow, /etc/resolv.conf when `boot.dns` is not empty, /root/.ssh/authorized_keys when
/// there is a key. New files are owned by the container's root (`root_uid`, `root_gid` on the
/// host); replaced ones keep their owner and mode. Each file is replaced whole (a temporary file,
/// then rename).
Status seed_first_boot(const OverlayLayers& layers, const FirstBoot& boot, uid_t root_uid, gid_t root_gid);

}  // namespace lxcprov::container
