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

void Throttle::prune(time_point now) {
  std::erase_if(entries_,
                [&](const auto& kv) { return now - kv.second.last > policy_.window && kv.second.locked_until <= now; });
}

}  // namespace lxcprov::auth
