#pragma once
// The rules around sealing a template, apart from the digests: which names are templates, where
// a template's rootfs must be for its seal to cover what clones see, which snapshot clones depend
// on it (LXC's lxc_snapshots file) and when a seal may be replaced. Pure; any thread.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lxcprov::container {

/// A container name LXC accepts and that is never a path: [A-Za-z0-9_.-], not starting with '.'
/// or '-', no "..", at most 128 characters (the rule of container::LiblxcRuntime).
bool valid_template_name(std::string_view name);

/// The last lxc.rootfs.path of an LXC config's text as written, type prefix and all
/// ("overlay:LOWER:UPPER", "dir:/path", "/path"); nullopt when there is none. liblxc's
/// get_config_item drops the type, so whoever needs it reads the saved file through this.
std::optional<std::string> rootfs_value(std::string_view config_text);

/// The rootfs directory a template's config gives LXC (the last lxc.rootfs.path, "dir:" removed).
/// Errc::invalid_argument when there is none, it is relative, or it is not a plain directory (an
/// "overlay:" rootfs: the template is itself a snapshot clone, and its lower layer is not sealed).
Result<std::string> rootfs_path(std::string_view config_text);

/// The clones listed in the text of LXC's lxc_snapshots file in a template's directory: pairs
/// of lines (lxcpath, name), one pair per snapshot clone that still depends on the template.
std::vector<std::string> parse_snapshot_clones(std::string_view text);

/// Whether `template_name` may be sealed with content digest `new_content` (hex).
/// `old_content`: the sealed digest, if any. Re-sealing the same content (to refresh the
/// fingerprint after a copy or a touch) is always allowed. New content is refused with
/// Errc::conflict while snapshot clones depend on the template, unless `force`: their overlays
/// were made on the sealed tree, and a seal over a changed lower layer would vouch for a tree
/// they were not made on.
Status may_seal(std::string_view template_name, const std::optional<std::string>& old_content,
                std::string_view new_content, const std::vector<std::string>& clones, bool force);

}  // namespace lxcprov::container
