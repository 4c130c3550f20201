#pragma once
// FakeTemplateSeals: a recording container::TemplateSeals for tests of the create plan. Each check is
// appended to `checked` (and to `events`, when set, so a test can see it came before the clone);
// the answer is `verdicts[name]`, OK when absent. Single-threaded use only.

#include <map>
#include <string>
#include <vector>

#include "container/template_seals.hpp"

namespace lxcprov::testing {

class FakeTemplateSeals : public container::TemplateSeals {
 public:
  Status check(const std::string& template_name) override {
    checked.push_back(template_name);
    if (events) events->push_back("seal-check " + template_name);
    auto it = verdicts.find(template_name);
    return it == verdicts.end() ? Status() : it->second;
  }

  std::map<std::string, Status> verdicts;
  std::vector<std::string> checked;
  std::vector<std::string>* events = nullptr;
};

}  // namespace lxcprov::testing
