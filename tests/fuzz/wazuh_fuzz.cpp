// The Wazuh manager's replies (wazuh/api.*, wazuh/enrollment.*): what a manager, or whoever sits
// at its address, sends back. Invariants: an enrollment is accepted only for the expected name
// with a digits id and a bounded key, and its client.keys line is exactly one line; parsed agents
// have digit ids; reasons are printable; nothing crashes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "wazuh/api.hpp"
#include "wazuh/enrollment.hpp"

using namespace lxcprov;
using namespace lxcprov::wazuh;

namespace {

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

void printable(std::string_view s) {
  for (char ch : s)
    if (const auto c = static_cast<unsigned char>(ch); c < 0x20 || c == 0x7f) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0: {
      const std::string name = in.ConsumeBool() ? "web-1" : in.ConsumeRandomLengthString(40);
      auto e = parse_reply(in.ConsumeRemainingBytesAsString(), name);
      if (e) {
        if (e->name != name || !digits(e->id) || !valid_agent_name(e->name)) std::abort();
        const auto k = e->key.reveal();
        if (k.empty() || k.size() > 256) std::abort();
        const Secret line = client_keys(*e);
        const auto l = line.reveal();
        if (l.empty() || l.back() != '\n' || l.find('\n') != l.size() - 1) std::abort();
      } else {
        printable(e.error().message);
      }
      break;
    }
    case 1: {
      const std::string name = in.ConsumeRandomLengthString(40);
      const std::string ip = in.ConsumeRandomLengthString(40);
      auto r = render_request(name, ip, Secret(in.ConsumeRemainingBytesAsString()));
      if (r) {
        const auto l = r->reveal();
        if (!valid_agent_name(name) || l.empty() || l.back() != '\n' || l.find('\n') != l.size() - 1) std::abort();
      }
      break;
    }
    case 2: {
      auto t = parse_token(in.ConsumeRemainingBytesAsString());
      if (t && t->reveal().empty()) std::abort();
      break;
    }
    case 3: {
      auto agents = parse_agents(in.ConsumeRemainingBytesAsString());
      if (agents)
        for (const auto& a : *agents)
          if (!digits(a.id) || !valid_agent_name(a.name)) std::abort();
      break;
    }
    default: {
      const std::string id = in.ConsumeRandomLengthString(8);
      const std::string body = in.ConsumeRemainingBytesAsString();
      if (auto s = parse_delete(body, id); !s) printable(s.error().message);
      printable(error_reason(body));
      (void)find_target(id);
      (void)delete_target(id);
      break;
    }
  }
  return 0;
}
