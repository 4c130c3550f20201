// The Dialogue (request/dialogue*.cpp) driven as the session drives it, with the operation, the
// TTY, the environment, every answer and every verdict (authentication, name look-up, repository
// check) chosen by the fuzzer. Invariants: it finishes or keeps asking (no crash, no UB); every
// FieldError names a variable the protocol knows; no error, notice or prompt repeats a password,
// token or environment value; a done request holds values its field rules accept.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "request/deploy_rules.hpp"
#include "request/dialogue.hpp"

using namespace lxcprov;
using namespace lxcprov::request;

namespace {

constexpr Operation operations[] = {Operation::create, Operation::exists, Operation::destroy,
                                    Operation::status, Operation::logs,   Operation::list,
                                    Operation::update, Operation::info,   Operation::app_logs};

const std::set<std::string>& known_fields() {
  static const std::set<std::string> fields = [] {
    // "authentication" and "update" name a whole outcome (wrong password; deployment disabled).
    std::set<std::string> f{"JOB_ID", "LINES", "NAME", "authentication", "update"};
    for (auto op : operations)
      for (auto& v : accepted_env(op)) f.insert(v);
    return f;
  }();
  return fields;
}

bool is_secret_variable(const std::string& name) {
  return name == "PROXMOX_PASSWORD" || name == "PROJECT_TOKEN" || name == "GITHUB_PAT";
}

// A secret: what the fuzzer gives with the marker inside, so any echo of it is visible.
std::string secret(FuzzedDataProvider& in) {
  std::string s = fuzz::without_marker(in.ConsumeRandomLengthString(64));
  const size_t at = in.ConsumeIntegralInRange<size_t>(0, s.size());
  s.insert(at, fuzz::secret_marker);
  return s;
}

// CONTAINER_ENV_VARS in one of its forms, every value a secret.
std::string env_vars(FuzzedDataProvider& in) {
  nlohmann::json flat = nlohmann::json::object();
  const int n = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < n; ++i) flat[fuzz::without_marker(in.ConsumeRandomLengthString(12))] = secret(in);
  if (!in.ConsumeBool()) return flat.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  nlohmann::json by = {{fuzz::without_marker(in.ConsumeRandomLengthString(12)), flat}};
  return by.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::vector<std::string> plausible = {
    "y",
    "n",
    "Y",
    "",
    "alice",
    "web-1",
    "debian",
    "busybox",
    "8080",
    "3000",
    "80",
    "https://github.com/example/app",
    "https://github.com/example/app.git",
    "main",
    "release/1.2",
    ".",
    "frontend",
    "npm ci",
    "npm run build",
    "node server.js",
    R"({"frontend": "npm ci", "api": "pip install ."})",
    "nodejs",
    "nodejs@18",
    "python@3.11",
    R"({"frontend": "nodejs@20", "api": "python"})",
    "redis",
    R"(["redis", "postgresql"])",
    R"(["redis-server --port 7000"])",
    "MYSQL,NTP",
    "0123456789abcdef",
    "100",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM54Hny6rOW1MMIOh1Ci254nni9Xu5CEm5xMnwGWeZWO user@example"};

std::string value(FuzzedDataProvider& in, const std::string& name) {
  if (is_secret_variable(name)) return secret(in);
  if (name == "CONTAINER_ENV_VARS") return env_vars(in);
  if (in.ConsumeBool()) return plausible[in.ConsumeIntegralInRange<size_t>(0, plausible.size() - 1)];
  return fuzz::without_marker(in.ConsumeRandomLengthString(96));
}

void check(const FieldError& e) {
  if (!known_fields().count(e.field)) fuzz::fail("FieldError names an unknown field", e.field + ": " + e.message);
  fuzz::check_no_secret(e.message);
  fuzz::check_no_secret(e.field);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const Operation op = in.PickValueInArray(operations);

  DialogueOptions o;
  o.tty = in.ConsumeBool();
  o.distributions = {"debian", "busybox"};
  o.default_distribution = "debian";
  o.default_http_port = 3000;
  o.protocols = {"MYSQL", "NTP", "DNS"};
  if (in.ConsumeBool()) o.session_key = plausible.back();
  if (in.ConsumeBool()) o.bound_user = "alice";
  for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n)
    o.args.push_back(fuzz::without_marker(in.ConsumeRandomLengthString(24)));
  o.deploy.enabled = in.ConsumeBool();
  o.deploy.distributions = {"debian"};
  o.deploy.allowed_hosts = {"github.com", "git.example.org:8443"};
  o.deploy.allow_custom_services = in.ConsumeBool();
  o.deploy.catalog = fuzz::catalog();

  const auto names = accepted_env(op);
  std::map<std::string, std::string> env;
  for (int n = in.ConsumeIntegralInRange(0, 24); n > 0; --n) {
    const auto& name = names[in.ConsumeIntegralInRange<size_t>(0, names.size() - 1)];
    env[name] = value(in, name);
  }

  static const bool trace = std::getenv("LXCPROV_FUZZ_TRACE") != nullptr;  // triage: what was asked
  if (trace)
    for (const auto& [name, v] : env) std::fprintf(stderr, "env %s=[%s]\n", name.c_str(), v.c_str());
  Dialogue d(op, o, env);
  for (int guard = 0; guard < 200; ++guard) {
    Step s = d.next();
    for (const auto& e : s.errors) check(e);
    switch (s.kind) {
      case Step::prompt: {
        fuzz::check_no_secret(s.question.text);
        fuzz::check_no_secret(s.question.default_value);
        if (!known_fields().count(s.question.field)) std::abort();
        std::string reply;
        // CONTAINER_ENV_VARS is asked without echo, but only its values are secret: the names
        // already set are shown in the prompt.
        if (s.question.field == "CONTAINER_ENV_VARS") {
          if (in.ConsumeBool()) {
            reply = fuzz::without_marker(in.ConsumeRandomLengthString(12));
            reply += "=" + secret(in);
          } else {
            reply = env_vars(in);
          }
        } else if (s.question.secret || is_secret_variable(s.question.field))
          reply = secret(in);
        else
          reply = value(in, s.question.field);
        if (trace) std::fprintf(stderr, "ask %s -> answer [%s]\n", s.question.field.c_str(), reply.c_str());
        if (auto e = d.answer(reply)) check(*e);
        if (in.remaining_bytes() == 0) return 0;  // out of answers: a real user stops typing too
        break;
      }
      case Step::authenticate:
        d.set_authenticated(in.ConsumeBool());
        break;
      case Step::check_name:
        d.set_name_available(in.ConsumeBool());
        break;
      case Step::check_repository: {
        static const char* fields[] = {"PROJECT_REPOSITORY", "PROJECT_BRANCH", "PROJECT_ROOT", "RUNTIME_LANGUAGE"};
        std::optional<FieldError> error;
        if (in.ConsumeBool()) error = FieldError{in.PickValueInArray(fields), "is not a directory of the repository"};
        d.set_repository_checked(error, in.ConsumeBool() ? "main" : "", "0123456789abcdef0123456789abcdef01234567");
        break;
      }
      case Step::done: {
        const Request& r = d.request();
        if (r.op != op) std::abort();
        if (!r.container_name.empty() && !check_container_name(r.container_name).ok()) std::abort();
        if (op == Operation::create && (r.http_port < 80 || r.http_port > 60000)) std::abort();
        if (!r.public_key.empty() && !check_public_key(r.public_key).ok()) std::abort();
        for (const auto& note : r.notes) fuzz::check_no_secret(note);
        if (r.deploy) {
          fuzz::check_no_secret(r.deploy->repository);
          if (!r.deploy->branch.empty() && !check_branch(r.deploy->branch).ok()) std::abort();
        }
        return 0;
      }
      case Step::failed:
        if (s.errors.empty()) std::abort();
        return 0;
    }
  }
  return 0;
}
