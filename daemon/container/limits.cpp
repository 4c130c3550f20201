#include "container/limits.hpp"

#include <fmt/format.h>

namespace lxcprov::container {
namespace {

constexpr int64_t cfs_period_us = 100000;

Error bad(std::string_view key, std::string_view rule) {
  return make_error(Errc::invalid_argument, fmt::format("config limits.{}: {}", key, rule));
}

}  // namespace

Result<int64_t> parse_memory(std::string_view text) {
  constexpr std::string_view rule = "must be a number of bytes with an optional K, M or G suffix, from 4M to 1024G";
  if (text.empty() || text.size() > 16) return bad("memory", rule);
  int64_t unit = 1;
  switch (text.back()) {
    case 'K':
      unit = int64_t{1} << 10;
      break;
    case 'M':
      unit = int64_t{1} << 20;
      break;
    case 'G':
      unit = int64_t{1} << 30;
      break;
    default:
      break;
  }
  if (unit != 1) text.remove_suffix(1);
  if (text.empty() || text.size() > 13) return bad("memory", rule);
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad("memory", rule);
    value = value * 10 + (c - '0');
  }
  if (value > (int64_t{1} << 40) / unit) return bad("memory", rule);
  value *= unit;
  if (value < (int64_t{4} << 20)) return bad("memory", rule);
  return value;
}

Result<int64_t> parse_cpu_quota(std::string_view text) {
  constexpr std::string_view rule =
      "must be a number of CPUs from 0.01 to 1024 with at most two decimals, e.g. \"0.5\"";
  const auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 4 || frac.size() > 2 || (dot != std::string_view::npos && frac.empty()))
    return bad("cpus", rule);
  int64_t hundredths = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return bad("cpus", rule);
    hundredths = hundredths * 10 + (c - '0');
  }
  hundredths *= 100;
  int64_t scale = 10;
  for (char c : frac) {
    if (c < '0' || c > '9') return bad("cpus", rule);
    hundredths += (c - '0') * scale;
    scale /= 10;
  }
  if (hundredths < 1 || hundredths > 1024 * 100) return bad("cpus", rule);
  return hundredths * cfs_period_us / 100;
}

Status check_limits(const config::Limits& limits) {
  if (!limits.memory.empty())
    if (auto r = parse_memory(limits.memory); !r) return r.error();
  if (!limits.cpus.empty())
    if (auto r = parse_cpu_quota(limits.cpus); !r) return r.error();
  if (limits.pids < 0 || limits.pids > 4'194'304) return bad("pids", "must be from 0 (no limit) to 4194304");
  if (limits.cgroup != "auto" && limits.cgroup != "v1" && limits.cgroup != "v2")
    return bad("cgroup", "must be \"auto\", \"v1\" or \"v2\"");
  return {};
}

Result<std::vector<std::pair<std::string, std::string>>> limit_keys(const config::Limits& limits,
                                                                    CgroupVersion version) {
  if (auto s = check_limits(limits); !s) return s.error();
  const bool v2 = version == CgroupVersion::v2;
  std::vector<std::pair<std::string, std::string>> keys;
  if (!limits.memory.empty()) {
    const int64_t bytes = *parse_memory(limits.memory);
    if (v2) {
      keys.emplace_back("lxc.cgroup2.memory.max", std::to_string(bytes));
    } else {
      keys.emplace_back("lxc.cgroup.memory.limit_in_bytes", std::to_string(bytes));
    }
  }
  if (!limits.cpus.empty()) {
    const int64_t quota = *parse_cpu_quota(limits.cpus);
    if (v2) {
      keys.emplace_back("lxc.cgroup2.cpu.max", fmt::format("{} {}", quota, cfs_period_us));
    } else {
      keys.emplace_back("lxc.cgroup.cpu.cfs_period_us", std::to_string(cfs_period_us));
      keys.emplace_back("lxc.cgroup.cpu.cfs_quota_us", std::to_string(quota));
    }
  }
  if (limits.pids > 0)
    keys.emplace_back(v2 ? "lxc.cgroup2.pids.max" : "lxc.cgroup.pids.max", std::to_string(limits.pids));
  return keys;
}

}  // namespace lxcprov::container
