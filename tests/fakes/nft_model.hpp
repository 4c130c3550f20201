#pragma once
// NftModel: what nft would hold after a sequence of `nft -f` texts, for the element-level rulesets
// lxcprov renders (a whole table re-declared, or `add element` / `delete element` lines). Enough of
// nft's behaviour to test against: a text is one transaction (all or nothing); deleting an absent
// key, adding a key that holds another value, or naming a set that does not exist is refused. The
// rules themselves are kept as text and compared whole.

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lxcprov::testing {

class NftModel {
 public:
  Status apply(const std::string& text) {
    NftModel next = *this;
    if (text.find("\ntable ") != std::string::npos || text.rfind("table ", 0) == 0) {
      next = NftModel();
      next.parse_whole(text);
    } else if (auto s = next.apply_changes(text); !s) {
      return s;
    }
    *this = std::move(next);
    return {};
  }
  /// The skeleton with every set's elements, one per line, sorted: equal tables give equal text.
  std::string text() const {
    std::string out;
    for (const auto& line : skeleton_) {
      out += line + "\n";
      if (auto it = at_.find(line); it != at_.end())
        for (const auto& e : sets_.at(it->second)) out += "      " + e + "\n";
    }
    return out;
  }
  bool operator==(const NftModel& o) const { return skeleton_ == o.skeleton_ && sets_ == o.sets_; }
  size_t elements() const {
    size_t n = 0;
    for (const auto& [k, v] : sets_) n += v.size();
    return n;
  }

 private:
  static std::string key_of(const std::string& element) {
    size_t end = element.size();
    for (const char* sep : {" comment ", " : "})
      if (auto p = element.find(sep); p != std::string::npos && p < end) end = p;
    return element.substr(0, end);
  }
  static std::string trim(std::string s) {
    while (!s.empty() && (s.front() == ' ')) s.erase(s.begin());
    while (!s.empty() && (s.back() == ' ' || s.back() == ',')) s.pop_back();
    return s;
  }

  void parse_whole(const std::string& text) {
    std::istringstream in(text);
    std::string line, family, table, set;
    bool in_elements = false;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#' || line.rfind("add table", 0) == 0 || line.rfind("delete table", 0) == 0)
        continue;
      if (in_elements) {
        if (line == "    }") {
          in_elements = false;
        } else {
          sets_[family + " " + table + " " + set].insert(trim(line));
        }
        continue;
      }
      if (line.rfind("table ", 0) == 0) {
        std::istringstream words(line);
        std::string t;
        words >> t >> family >> table;
      } else if (line.rfind("  set ", 0) == 0 || line.rfind("  map ", 0) == 0) {
        set = line.substr(6, line.find(" {") - 6);
        const std::string full = family + " " + table + " " + set;
        sets_[full];
        // The header line names the set uniquely within the text: elements are printed after it.
        line = "  " + line.substr(2, 4) + full + " {";
        at_[line] = full;
      } else if (line == "    elements = {") {
        in_elements = true;
        continue;
      }
      skeleton_.push_back(line);
    }
  }

  Status apply_changes(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const bool add = line.rfind("add element ", 0) == 0;
      if (!add && line.rfind("delete element ", 0) != 0) return make_error(Errc::unavailable, "unknown: " + line);
      std::istringstream words(line);
      std::string verb, what, family, table, set;
      words >> verb >> what >> family >> table >> set;
      const auto open = line.find("{ "), close = line.rfind(" }");
      if (open == std::string::npos || close == std::string::npos || close < open)
        return make_error(Errc::unavailable, "syntax: " + line);
      const std::string element = line.substr(open + 2, close - open - 2);
      auto it = sets_.find(family + " " + table + " " + set);
      if (it == sets_.end()) return make_error(Errc::unavailable, "no such set: " + line);
      auto& elements = it->second;
      const std::string key = key_of(element);
      auto same_key = std::find_if(elements.begin(), elements.end(), [&](const auto& e) { return key_of(e) == key; });
      if (add) {
        if (same_key != elements.end() && *same_key != element)
          return make_error(Errc::unavailable, "exists with another value: " + line);
        elements.insert(element);
      } else {
        if (same_key == elements.end()) return make_error(Errc::unavailable, "no such element: " + line);
        elements.erase(same_key);
      }
    }
    return {};
  }

  std::vector<std::string> skeleton_;
  std::map<std::string, std::string> at_;  ///< skeleton line of a set's header -> its full name
  std::map<std::string, std::set<std::string>> sets_;
};

}  // namespace lxcprov::testing
