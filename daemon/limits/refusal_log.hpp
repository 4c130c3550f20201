#pragma once
// RefusalLog: what the daemon log says about refused connections when someone floods it. Pure
// (the caller passes the time and writes the lines). The first refusal of a kind (source +
// reason) is logged at once; the rest of the interval only counts, and one line per interval
// gives the count: "refused 4998 connections from uid 65534 in the last 60 s: not an allowed
// peer". A flood of any size costs a line per kind per interval, and the kinds are bounded too:
// beyond max_kinds, new ones are counted together under "other sources".

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lxcprov::limits {

class RefusalLog {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit RefusalLog(std::chrono::seconds interval, size_t max_kinds = 256)
      : interval_(interval), max_kinds_(max_kinds) {}

  /// One refusal of a connection from `source` for `reason`. A line to log now, or nothing when
  /// it was counted.
  std::optional<std::string> record(const std::string& source, const std::string& reason, time_point now);
  /// The counts of the interval that ended, once `now` reaches it (else nothing). Call at least
  /// once an interval.
  std::vector<std::string> flush(time_point now);
  /// When flush() next has something to say about, at the earliest.
  time_point interval_end() const { return started_ + interval_; }

  size_t kinds() const { return kinds_.size(); }
  std::chrono::seconds interval() const { return interval_; }

 private:
  struct Count {
    uint64_t counted = 0;  ///< refusals not logged one by one in this interval
  };
  std::chrono::seconds interval_;
  size_t max_kinds_;
  time_point started_{};
  bool started_set_ = false;
  std::map<std::pair<std::string, std::string>, Count> kinds_;
};

}  // namespace lxcprov::limits
