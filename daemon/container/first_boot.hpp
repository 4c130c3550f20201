#pragma once
// FirstBoot: what lxcprov puts into a new container's files (hostname, hosts, resolver, the
// owner's key, root's password locked), and the edits of existing files that implies. Pure: the
// runtime writes the result before the first start (ContainerRuntime::seed), or the configure
// script does the same from inside when that cannot be done safely.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace lxcprov::container {

struct FirstBoot {
  std::string hostname;          ///< validated container name
  std::string authorized_key;    ///< one validated public key line, "" = none
  std::vector<std::string> dns;  ///< validated IPv4 name servers, none = resolv.conf left alone
};

/// `hosts` with a "127.0.1.1<TAB>name" line appended unless a line already ends in whitespace
/// followed by `name` (what `grep -q "[[:space:]]name$"` finds).
std::string hosts_naming(const std::string& hosts, const std::string& name);

/// `shadow` with root's password field prefixed by "!" (what `passwd -l root` does); unchanged
/// when it already starts with "!". nullopt when there is no root entry.
std::optional<std::string> shadow_with_root_locked(const std::string& shadow);

/// resolv.conf naming `dns`, one "nameserver" line each.
std::string resolv_conf(const std::vector<std::string>& dns);

/// The host uid (or gid) that root of a container maps to under `idmap` lines ("u 0 100000 65536",
/// "g 0 100000 65536"); nullopt when root is not mapped for `kind` ('u' or 'g').
std::optional<unsigned> mapped_root(const std::vector<std::string>& idmap, char kind);

}  // namespace lxcprov::container
