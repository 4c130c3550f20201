// Message decoding (protocol/messages.*): the daemon decodes hello and answer from any permitted
// local peer; lxcprov-shell decodes prompt, notice, progress, output and final from the daemon.
// Invariants: an accepted message respects the documented limits, and what to_json makes of it
// decodes to the same message again.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "protocol/messages.hpp"

namespace protocol = lxcprov::protocol;

namespace {

template <class Decoded, class Decode, class Same>
void round_trip(const nlohmann::json& j, Decode decode, Same same) {
  auto m = decode(j);
  if (!m) {
    if (m.error().message.empty()) std::abort();
    return;
  }
  auto again = decode(protocol::to_json(*m));
  if (!again || !same(*m, *again)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const uint8_t which = in.ConsumeIntegralInRange<uint8_t>(0, 6);
  const auto j = nlohmann::json::parse(in.ConsumeRemainingBytesAsString(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;

  switch (which) {
    case 0: {
      auto h = protocol::hello_from_json(j);
      if (h) {
        // Only the one protocol version is spoken: the member must be exactly that number.
        const auto& v = j.at("version");
        if (!v.is_number_integer() || v.get<int64_t>() != protocol::version) std::abort();
        if (h->env.size() > protocol::max_env_vars || h->args.size() > protocol::max_args) std::abort();
        if (h->op.size() > 32 || h->session_key.size() > 16 * 1024 || h->key_id.size() > 128 ||
            h->client_addr.size() > 64)
          std::abort();
        for (const auto& [name, value] : h->env)
          if (name.empty() || name.size() > 64 || value.size() > protocol::max_value_bytes) std::abort();
      }
      round_trip<protocol::Hello>(j, protocol::hello_from_json, [](const auto& a, const auto& b) {
        return a.op == b.op && a.tty == b.tty && a.env == b.env && a.args == b.args && a.session_key == b.session_key &&
               a.key_id == b.key_id && a.client_addr == b.client_addr;
      });
      break;
    }
    case 1:
      round_trip<protocol::Answer>(j, protocol::answer_from_json,
                                   [](const auto& a, const auto& b) { return a.value == b.value; });
      break;
    case 2:
      round_trip<protocol::PromptMsg>(j, protocol::prompt_from_json, [](const auto& a, const auto& b) {
        return a.field == b.field && a.text == b.text && a.secret == b.secret && a.default_value == b.default_value;
      });
      break;
    case 3:
      round_trip<protocol::Notice>(j, protocol::notice_from_json,
                                   [](const auto& a, const auto& b) { return a.text == b.text; });
      break;
    case 4:
      round_trip<protocol::Progress>(j, protocol::progress_from_json, [](const auto& a, const auto& b) {
        return a.job == b.job && a.step == b.step && a.text == b.text;
      });
      break;
    case 5:
      round_trip<protocol::Output>(j, protocol::output_from_json, [](const auto& a, const auto& b) {
        return a.job == b.job && a.step == b.step && a.lines == b.lines;
      });
      break;
    default: {
      auto f = protocol::final_from_json(j);
      // The exit code the shell exits with must be the number the daemon sent, not a truncation.
      if (f && j.at("exit_code").get<int64_t>() != f->exit_code) std::abort();
      round_trip<protocol::Final>(j, protocol::final_from_json, [](const auto& a, const auto& b) {
        return a.exit_code == b.exit_code && a.lines == b.lines;
      });
      break;
    }
  }
  return 0;
}
