#pragma once
// Confinement (config "confinement"): what keeps root inside a container from being root on the
// host, as lxc.* config keys and LXC's seccomp policy text. Pure: the liblxc runtime writes the
// keys into every container it clones and the policy into the file they name.
//
// Layers, each of which must hold on its own (this host may have no LSM at all):
// - a user namespace (lxc.idmap): container uid/gid 0..count-1 are host ids first..first+count-1,
//   so container root owns nothing of the host's and has no capability outside the container;
// - seccomp: LXC's default deny list plus the keyring, kexec and module calls;
// - capabilities dropped even inside the namespace;
// - proc and sys mounted mixed (read-only but for the namespaced parts), cgroup mixed;
// - the device cgroup: LXC's default allow-list (null, zero, full, random, urandom, tty, console,
//   ptmx, pts, fuse), nothing else can be opened;
// - AppArmor's generated profile where the host has AppArmor (LXC ignores it where it has not).
// All containers share one id range: overlay snapshot clones share the template's files, which
// are owned by the mapped ids, so a per-container range would need a full copy of the rootfs.

#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "container/limits.hpp"

namespace lxcprov::container {

using ConfigItems = std::vector<std::pair<std::string, std::string>>;

/// Checks the "confinement" values (errors name the key and the rule).
Status check_confinement(const config::Confinement& c);

/// "u 0 100000 65536" and "g 0 100000 65536".
std::vector<std::string> idmap_lines(const config::Confinement& c);

/// The lxc.* keys every container gets, in order; repeated keys (lxc.idmap, device rules) appear
/// once per value. `seccomp_path` is where the policy from seccomp_policy() is installed.
ConfigItems confinement_keys(const config::Confinement& c, CgroupVersion version, const std::string& seccomp_path);

/// The seccomp policy file (LXC's format version 2, a deny list).
std::string seccomp_policy(const config::Confinement& c);

/// Keys an operator's lxc_config may not set: they would undo the confinement or the network.
bool confinement_key(std::string_view key);

}  // namespace lxcprov::container
