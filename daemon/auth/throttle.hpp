#pragma once
// Throttle: brute-force protection for password checks. Pure (the caller passes the time), so
// unit tests drive it with a fake clock. Failures are counted per key: the user name ("user:NAME",
// authoritative) and the ssh client address the shell forwards ("src:ADDR", advisory: the shell
// could lie, which is why the user key is counted too). The first `free_failures` cost nothing;
// each further failure doubles the delay before the answer (up to max_delay); `lockout_failures`
// within `window` refuse every attempt on that key for `lockout`, right or wrong password.
// Keys are counted whether or not the user exists, so a lockout reveals nothing.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace lxcprov::auth {

/// One key's throttle state with wall-clock times (unix ms), as it is kept across restarts.
struct ThrottleEntry {
  std::string key;
  int failures = 0;
  int64_t last_ms = 0;
  int64_t locked_until_ms = 0;  ///< 0 = not locked
  bool operator==(const ThrottleEntry&) const = default;
};

/// Where throttle state outlives the process (state/sqlite_throttle_records.*: the state database).
class ThrottleRecords {
 public:
  virtual ~ThrottleRecords() = default;
  /// Every kept entry.
  virtual Result<std::vector<ThrottleEntry>> load() = 0;
  /// Replaces the entries of these keys.
  virtual Status save(const std::vector<ThrottleEntry>& entries) = 0;
  virtual Status forget(const std::string& key) = 0;
  /// Drops entries whose last failure is before `before_ms` and that are not locked at `now_ms`.
  virtual Status prune(int64_t before_ms, int64_t now_ms) = 0;
};

class Throttle {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit Throttle(config::Throttle policy) : policy_(policy) {}

  /// Before checking: how long any of `keys` is still locked (0 = not locked).
  std::chrono::seconds locked_for(const std::vector<std::string>& keys, time_point now);
  /// After a failed check: records it on every key and returns how long to wait before answering.
  std::chrono::milliseconds record_failure(const std::vector<std::string>& keys, time_point now);
  /// After a successful check: forgets the user key's failures (not the source's).
  void record_success(const std::string& user_key, time_point now);

  size_t tracked() const;

  /// The state of `keys` (those tracked), with steady times turned into wall-clock ms by the pair
  /// (now, wall_now_ms) the caller read together.
  std::vector<ThrottleEntry> entries_of(const std::vector<std::string>& keys, time_point now,
                                        int64_t wall_now_ms) const;
  /// Takes entries back after a restart (the reverse conversion); entries already forgotten by
  /// the window and not locked are skipped. Returns how many were taken.
  size_t restore(const std::vector<ThrottleEntry>& entries, time_point now, int64_t wall_now_ms);

  /// Entries are dropped once idle for a window; this caps memory under a flood of new keys.
  static constexpr size_t max_entries = 100000;

 private:
  struct Entry {
    int failures = 0;
    time_point last{};
    time_point locked_until{};
  };
  void prune(time_point now);

  config::Throttle policy_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  time_point last_prune_{};
};

}  // namespace lxcprov::auth
