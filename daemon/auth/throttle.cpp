#include "auth/throttle.hpp"

#include <algorithm>

namespace lxcprov::auth {

std::chrono::seconds Throttle::locked_for(const std::vector<std::string>& keys, time_point now) {
  std::lock_guard lock(mutex_);
  std::chrono::seconds longest{0};
  for (const auto& k : keys) {
    auto it = entries_.find(k);
    if (it == entries_.end() || it->second.locked_until <= now) continue;
    // Rounded up: "try again in 0 s" while still locked would be a lie.
    auto left = std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
    longest = std::max(longest, left);
  }
  return longest;
}

std::chrono::milliseconds Throttle::record_failure(const std::vector<std::string>& keys, time_point now) {
  std::lock_guard lock(mutex_);
  // Pruning walks every entry: done only when full, and at most once a second, so a flood of
  // fresh keys costs O(1) per failure instead of O(n).
  if (entries_.size() >= max_entries && now - last_prune_ >= std::chrono::seconds(1)) {
    prune(now);
    last_prune_ = now;
  }
  int worst = 0;
  for (const auto& k : keys) {
    if (entries_.size() >= max_entries && !entries_.count(k)) continue;  // flooded: keep the known ones
    Entry& e = entries_[k];
    if (e.failures > 0 && now - e.last > policy_.window) e.failures = 0;
    ++e.failures;
    e.last = now;
    if (e.failures >= policy_.lockout_failures) e.locked_until = now + policy_.lockout;
    worst = std::max(worst, e.failures);
  }
  if (worst <= policy_.free_failures) return std::chrono::milliseconds(0);
  const int doublings = std::min(worst - policy_.free_failures - 1, 30);
  const auto delay = policy_.base_delay * (int64_t{1} << doublings);
  return std::min<std::chrono::milliseconds>(delay, policy_.max_delay);
}

void Throttle::record_success(const std::string& user_key, time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(user_key);
  // A lockout stands even against the right password: otherwise guessing could continue.
  if (it != entries_.end() && it->second.locked_until <= now) entries_.erase(it);
}

size_t Throttle::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

namespace {
int64_t to_wall(Throttle::time_point t, Throttle::time_point now, int64_t wall_now_ms) {
  if (t == Throttle::time_point{}) return 0;
  return wall_now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
}
}  // namespace

std::vector<ThrottleEntry> Throttle::entries_of(const std::vector<std::string>& keys, time_point now,
                                                int64_t wall_now_ms) const {
  std::lock_guard lock(mutex_);
  std::vector<ThrottleEntry> out;
  for (const auto& k : keys) {
    auto it = entries_.find(k);
    if (it == entries_.end()) continue;
    const Entry& e = it->second;
    out.push_back({k, e.failures, to_wall(e.last, now, wall_now_ms),
                   e.locked_until > now ? to_wall(e.locked_until, now, wall_now_ms) : 0});
  }
  return out;
}

size_t Throttle::restore(const std::vector<ThrottleEntry>& entries, time_point now, int64_t wall_now_ms) {
  std::lock_guard lock(mutex_);
  size_t taken = 0;
  const int64_t window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(policy_.window).count();
  for (const auto& r : entries) {
    if (entries_.size() >= max_entries) break;
    const bool locked = r.locked_until_ms > wall_now_ms;
    if (!locked && (r.failures <= 0 || wall_now_ms - r.last_ms > window_ms)) continue;
    Entry e;
    e.failures = r.failures;
    // A last failure "in the future" (the clock went back) counts as now.
    e.last = now - std::chrono::milliseconds(std::max<int64_t>(0, wall_now_ms - r.last_ms));
    // Never longer than the policy's lockout: a stored value is not trusted beyond it.
    if (locked)
      e.locked_until = now + std::min<std::chrono::milliseconds>(
                                 std::chrono::milliseconds(r.locked_until_ms - wall_now_ms), policy_.lockout);
    entries_[r.key] = e;
    ++taken;
  }
  return taken;
}

void Throttle::prune(time_point now) {
  std::erase_if(entries_,
                [&](const auto& kv) { return now - kv.second.last > policy_.window && kv.second.locked_until <= now; });
}

}  // namespace lxcprov::auth
