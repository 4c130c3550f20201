// Every field rule (request/validation.*, request/deploy_rules.*, request/deploy_forms.*) on
// fuzzer-chosen text. Invariants: an error names the field it was asked about; no message holds a
// control character (a value repeated raw could drive the user's terminal) or repeats a
// password, token or environment value; a normalised value passes its rule again unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "request/deploy_forms.hpp"
#include "request/deploy_rules.hpp"
#include "request/validation.hpp"

using namespace lxcprov;
using namespace lxcprov::request;

namespace {

void check_message(const FieldError& e, std::string_view field) {
  if (e.field != field) std::abort();
  if (e.message.empty()) std::abort();
  fuzz::check_no_secret(e.message);
  for (char ch : e.message)
    if (const auto c = static_cast<unsigned char>(ch); c < 0x20 || c == 0x7f) std::abort();
}

template <class T>
std::optional<T> checked(const Checked<T>& c, std::string_view field) {
  if (c.ok() == c.error.has_value()) std::abort();  // exactly one of value and error
  if (c.error) check_message(*c.error, field);
  return c.value;
}

template <class T, class Again>
void stable(const Checked<T>& c, std::string_view field, Again again) {
  if (const auto v = checked(c, field)) {
    auto second = again(*v);
    if (!second.ok() || *second.value != *v) std::abort();
  }
}

std::string secret_text(FuzzedDataProvider& in) {
  std::string s = fuzz::without_marker(in.ConsumeRandomLengthString(256));
  s.insert(in.ConsumeIntegralInRange<size_t>(0, s.size()), fuzz::secret_marker);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const uint8_t rule = in.ConsumeIntegral<uint8_t>();
  const std::vector<std::string> distributions{"debian", "busybox"};
  const std::vector<std::string> protocols{"MYSQL", "NTP", "DNS"};
  const std::vector<std::string> hosts{"github.com", "git.example.org:8443"};
  const auto& catalog = fuzz::catalog();

  switch (rule % 24) {
    case 0: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      stable(check_username(text), "PROXMOX_USERNAME", [](auto& v) { return check_username(v); });
      break;
    }
    case 1:
      checked(check_password(secret_text(in)), "PROXMOX_PASSWORD");
      break;
    case 2: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      stable(check_container_name(text), "CONTAINER_NAME", [](auto& v) { return check_container_name(v); });
      break;
    }
    case 3: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      stable(check_distribution(text, distributions, "debian"), "LINUX_DISTRIBUTION",
             [&](auto& v) { return check_distribution(v, distributions, "debian"); });
      break;
    }
    case 4: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      stable(check_http_port(text), "HTTP_PORT", [](auto& v) { return check_http_port(std::to_string(v)); });
      break;
    }
    case 5: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      stable(check_public_key(text), "PUBLIC_KEY", [](auto& v) { return check_public_key(v); });
      break;
    }
    case 6: {
      std::vector<std::string> chosen;
      if (in.ConsumeBool()) chosen.push_back("NTP");
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      checked(check_extra_protocol(text, protocols, chosen), "EXTRA_PROTOCOLS");
      break;
    }
    case 7: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      if (const auto v = checked(check_extra_protocols(text, protocols), "EXTRA_PROTOCOLS"))
        if (v->size() > 16) std::abort();
      break;
    }
    case 8: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      checked(check_job_id(text), "JOB_ID");
      break;
    }
    case 9: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      checked(check_yes_no("DEPLOY_ON_START", text), "DEPLOY_ON_START");
      break;
    }
    case 10: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      stable(check_repository(text, hosts), "PROJECT_REPOSITORY", [&](auto& v) { return check_repository(v, hosts); });
      break;
    }
    case 11: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      stable(check_branch(text), "PROJECT_BRANCH", [](auto& v) { return check_branch(v); });
      break;
    }
    case 12: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      stable(check_repo_path("PROJECT_ROOT", text), "PROJECT_ROOT",
             [](auto& v) { return check_repo_path("PROJECT_ROOT", v); });
      break;
    }
    case 13: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      checked(check_command("BUILD_COMMAND", text), "BUILD_COMMAND");
      break;
    }
    case 14: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      if (const auto v = checked(check_runtime(text, catalog), "RUNTIME_LANGUAGE"))
        if (!catalog.runtime(v->name, v->version)) std::abort();
      break;
    }
    case 15:
      checked(check_token("PROJECT_TOKEN", secret_text(in)), "PROJECT_TOKEN");
      break;
    case 16: {
      const std::string name = fuzz::without_marker(in.ConsumeRandomLengthString(300));
      if (auto e = check_env_name(name)) {
        check_message(*e, "CONTAINER_ENV_VARS");
      } else if (auto v = check_env_value(name, secret_text(in))) {
        check_message(*v, "CONTAINER_ENV_VARS");
      }
      break;
    }
    case 17: {
      std::vector<std::string> chosen;
      if (in.ConsumeBool()) chosen.push_back("redis");
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      checked(check_service(text, catalog, chosen), "SERVICES");
      break;
    }
    case 18: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      checked(check_custom_command(text), "CUSTOM_SERVICES");
      break;
    }
    case 19: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      (void)looks_like_object(text);
      if (const auto v = checked(check_commands_json("INSTALL_COMMAND", text), "INSTALL_COMMAND"))
        for (const auto& [path, command] : *v) {
          if (!check_repo_path("INSTALL_COMMAND", path).ok() && !path.empty()) std::abort();
          (void)shown_path(path);
        }
      break;
    }
    case 20: {
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      checked(check_runtimes_json(text, catalog), "RUNTIME_LANGUAGE");
      break;
    }
    case 21: {
      // Values carry the marker; names and paths must not (they may be shown).
      nlohmann::json flat = nlohmann::json::object();
      for (int n = in.ConsumeIntegralInRange(0, 6); n > 0; --n) {
        const std::string name = fuzz::without_marker(in.ConsumeRandomLengthString(16));
        switch (in.ConsumeIntegralInRange(0, 3)) {
          case 0:
            flat[name] = secret_text(in);
            break;
          case 1:
            flat[name] = in.ConsumeIntegral<int64_t>();
            break;
          case 2:
            flat[name] = nlohmann::json::array({secret_text(in)});
            break;
          default:
            flat[name] = {{"x", secret_text(in)}};
            break;
        }
      }
      nlohmann::json j = flat;
      if (in.ConsumeBool()) j = {{fuzz::without_marker(in.ConsumeRandomLengthString(16)), flat}};
      checked(check_env_json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)), "CONTAINER_ENV_VARS");
      break;
    }
    case 22: {
      EnvForm form;
      for (int n = in.ConsumeIntegralInRange(1, 4); n > 0; --n) {
        const std::string answer = fuzz::without_marker(in.ConsumeRandomLengthString(20)) + "=" + secret_text(in);
        if (auto e = add_env_answer(answer, form)) check_message(*e, "CONTAINER_ENV_VARS");
      }
      break;
    }
    default: {
      const bool services = in.ConsumeBool();
      const bool allowed = in.ConsumeBool();
      const std::string text = fuzz::without_marker(in.ConsumeRemainingBytesAsString());
      if (services)
        checked(check_services(text, catalog), "SERVICES");
      else
        checked(check_custom_services(text, allowed), "CUSTOM_SERVICES");
      break;
    }
  }
  return 0;
}
