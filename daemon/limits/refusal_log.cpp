#include "limits/refusal_log.hpp"

#include <fmt/format.h>

namespace lxcprov::limits {

std::optional<std::string> RefusalLog::record(const std::string& source, const std::string& reason, time_point now) {
  if (!started_set_) {
    started_ = now;
    started_set_ = true;
  }
  std::pair<std::string, std::string> key{source, reason};
  auto it = kinds_.find(key);
  if (it == kinds_.end() && kinds_.size() >= max_kinds_) {
    key = {"other sources", "(too many kinds to tell apart)"};
    it = kinds_.find(key);
  }
  if (it != kinds_.end()) {
    ++it->second.counted;
    return std::nullopt;
  }
  kinds_.emplace(std::move(key), Count{});
  return fmt::format("refused a connection from {}: {} (further ones are counted, one line per {} s)", source, reason,
                     interval_.count());
}

std::vector<std::string> RefusalLog::flush(time_point now) {
  std::vector<std::string> lines;
  if (!started_set_ || now < started_ + interval_) return lines;
  const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - started_);
  for (auto it = kinds_.begin(); it != kinds_.end();) {
    if (it->second.counted == 0) {
      // Quiet for a whole interval: forgotten, so the next refusal of this kind is logged at once.
      it = kinds_.erase(it);
      continue;
    }
    lines.push_back(fmt::format("refused {} connection{} from {} in the last {} s: {}", it->second.counted,
                                it->second.counted == 1 ? "" : "s", it->first.first, elapsed.count(),
                                it->first.second));
    it->second.counted = 0;  // kept: a flood that goes on stays at one line per interval
    ++it;
  }
  started_ = now;
  if (kinds_.empty()) started_set_ = false;
  return lines;
}

}  // namespace lxcprov::limits
