#include "network/nft_elements.hpp"

#include <fmt/format.h>

namespace lxcprov::network {

std::vector<NftElementChange> diff_elements(const NftTableElements& before, const NftTableElements& after) {
  static const std::map<std::string, std::string> none;
  auto of = [](const NftTableElements& t, const std::string& set) -> const std::map<std::string, std::string>& {
    auto it = t.sets.find(set);
    return it == t.sets.end() ? none : it->second;
  };
  std::vector<NftElementChange> deletes, adds;
  for (const auto& [set, old_elements] : before.sets) {
    const auto& now = of(after, set);
    for (const auto& [key, rest] : old_elements) {
      auto it = now.find(key);
      if (it == now.end() || it->second != rest) deletes.push_back({false, set, {key, rest}});
    }
  }
  for (const auto& [set, new_elements] : after.sets) {
    const auto& old = of(before, set);
    for (const auto& [key, rest] : new_elements) {
      auto it = old.find(key);
      if (it == old.end() || it->second != rest) adds.push_back({true, set, {key, rest}});
    }
  }
  deletes.insert(deletes.end(), adds.begin(), adds.end());
  return deletes;
}

std::string render_element_changes(const std::string& family, const std::string& table,
                                   const std::vector<NftElementChange>& changes) {
  std::string out;
  for (const auto& c : changes) {
    if (c.add)
      out += fmt::format("add element {} {} {} {{ {}{} }}\n", family, table, c.set, c.element.key, c.element.rest);
    else
      out += fmt::format("delete element {} {} {} {{ {} }}\n", family, table, c.set, c.element.key);
  }
  return out;
}

std::string render_elements_block(const std::map<std::string, std::string>& elements) {
  if (elements.empty()) return "";
  std::string out = "    elements = {\n";
  size_t i = 0;
  for (const auto& [key, rest] : elements)
    out += fmt::format("      {}{}{}\n", key, rest, ++i < elements.size() ? "," : "");
  return out + "    }\n";
}

}  // namespace lxcprov::network
