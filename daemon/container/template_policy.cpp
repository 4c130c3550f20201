#include "container/template_policy.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lxcprov::container {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool valid_template_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.' || name.front() == '-') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
           ch == '.';
  });
}

std::optional<std::string> rootfs_value(std::string_view config_text) {
  std::optional<std::string> value;
  while (!config_text.empty()) {
    const std::size_t nl = config_text.find('\n');
    std::string_view line = trim(config_text.substr(0, nl));
    config_text.remove_prefix(nl == std::string_view::npos ? config_text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || trim(line.substr(0, eq)) != "lxc.rootfs.path") continue;
    value = std::string(trim(line.substr(eq + 1)));  // LXC keeps the last one
  }
  return value;
}

Result<std::string> rootfs_path(std::string_view config_text) {
  const std::optional<std::string> value = rootfs_value(config_text);
  if (!value || value->empty())
    return make_error(Errc::invalid_argument, "the template's config has no lxc.rootfs.path");
  std::string_view path = *value;
  if (path.starts_with("dir:"))
    path.remove_prefix(4);
  else if (path.starts_with("btrfs:"))
    path.remove_prefix(6);  // a subvolume is a directory too
  if (path.empty() || path.front() != '/') {
    const std::size_t colon = value->find(':');
    if (colon != std::string_view::npos && value->front() != '/')
      return make_error(Errc::invalid_argument,
                        fmt::format("the template's rootfs is of type {}; only a directory rootfs can be sealed "
                                    "(a template that is itself a snapshot clone cannot)",
                                    value->substr(0, colon)));
    return make_error(Errc::invalid_argument, "the template's lxc.rootfs.path is not an absolute path");
  }
  return std::string(path);
}

std::vector<std::string> parse_snapshot_clones(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  std::vector<std::string> clones;
  for (std::size_t i = 0; i + 1 < lines.size(); i += 2)
    if (!lines[i + 1].empty()) clones.push_back(lines[i + 1]);
  return clones;
}

Status may_seal(std::string_view name, const std::optional<std::string>& old_content, std::string_view new_content,
                const std::vector<std::string>& clones, bool force) {
  if (!old_content || *old_content == new_content || clones.empty() || force) return {};
  std::string listed;
  for (std::size_t i = 0; i < clones.size() && i < 5; ++i) listed += (i ? ", " : "") + clones[i];
  if (clones.size() > 5) listed += fmt::format(" and {} more", clones.size() - 5);
  return make_error(Errc::conflict,
                    fmt::format("template {} has {} snapshot clone{} ({}) made from the sealed content, and its "
                                "content has changed since; sealing it now would vouch for a tree those clones' "
                                "overlays were not made on. Delete the clones first, or build the new template under "
                                "another name (or pass --force if the change is safe for them)",
                                name, clones.size(), clones.size() == 1 ? "" : "s", listed));
}

}  // namespace lxcprov::container
