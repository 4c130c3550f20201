// deploy::merge and place_env (deploy/merge.*), and the stored form of a DeploySpec
// (deploy/spec.*: the deployments row an update reads back). Invariants: a merged spec is
// complete (a repository; each component has a start command unless there is a root start),
// keeps every stored service, and survives to_stored_json / from_stored_json unchanged; a row
// from_stored_json accepts also survives the round trip; errors name the variable to fix.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "deploy/merge.hpp"
#include "deploy/spec.hpp"

using namespace lxcprov;
using namespace lxcprov::deploy;

namespace {

std::string pick(FuzzedDataProvider& in, std::initializer_list<const char*> choices) {
  if (in.ConsumeIntegralInRange(0, 7) == 0) {
    // ASCII only: every value the daemon has came through a JSON frame nlohmann checked as UTF-8,
    // and to_stored_json (nlohmann's dump) throws on anything else.
    std::string s = in.ConsumeRandomLengthString(24);
    for (char& c : s)
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    return s;
  }
  const auto i = in.ConsumeIntegralInRange<size_t>(0, choices.size() - 1);
  return *(choices.begin() + static_cast<std::ptrdiff_t>(i));
}

DeploySpec spec(FuzzedDataProvider& in) {
  DeploySpec s;
  s.repository = pick(in, {"", "https://github.com/example/app", "https://git.example.org:8443/a/b"});
  s.branch = pick(in, {"", "main", "dev"});
  s.root = pick(in, {"", "app", "srv/web"});
  s.multi = in.ConsumeBool();
  for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    Component c;
    c.path = pick(in, {"", "frontend", "api"});
    c.runtime = pick(in, {"", "nodejs", "python"});
    c.version = pick(in, {"", "18", "3.11"});
    c.install = pick(in, {"", "npm ci"});
    c.build = pick(in, {"", "npm run build"});
    c.start = pick(in, {"", "node server.js", "gunicorn app:app"});
    s.components.push_back(c);
  }
  s.root_start = pick(in, {"", "./run.sh"});
  for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) s.services.push_back(pick(in, {"redis", "postgresql"}));
  for (int n = in.ConsumeIntegralInRange(0, 1); n > 0; --n) s.custom_services.push_back(pick(in, {"redis-server"}));
  s.commit = pick(in, {"", "0123456789abcdef0123456789abcdef01234567"});
  return s;
}

void round_trip(const DeploySpec& s) {
  auto back = from_stored_json(to_stored_json(s));
  if (!back || !(*back == s)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeIntegralInRange(0, 3) == 0) {
    // A deployments row as read back from the state database.
    const std::string row = in.ConsumeRemainingBytesAsString();
    if (auto s = from_stored_json(row)) round_trip(*s);
    return 0;
  }
  const DeploySpec stored = spec(in);
  const DeploySpec given = spec(in);
  Given which;
  which.root = in.ConsumeBool();
  which.multi = in.ConsumeBool();
  which.env_for_every_component = in.ConsumeBool();
  auto merged = merge(stored, given, which);
  if (!merged) {
    const auto& m = merged.error().message;
    if (m.empty() || m.find(':') == std::string::npos) std::abort();
    return 0;
  }
  if (merged->repository.empty()) std::abort();
  if (merged->root_start.empty())
    for (const auto& c : merged->components)
      if (c.start.empty()) std::abort();
  // (A stored spec without a repository stands for "nothing stored": the update says everything.)
  if (!stored.repository.empty())
    for (const auto& s : stored.services)
      if (std::find(merged->services.begin(), merged->services.end(), s) == merged->services.end()) std::abort();
  round_trip(*merged);

  DeploySecrets secrets;
  if (in.ConsumeBool()) {
    std::map<std::string, EnvVars> env;
    for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n)
      env[pick(in, {"", "frontend", "api", "other"})]["KEY"] = Secret("value");
    secrets.env = std::move(env);
  }
  if (auto placed = place_env(*merged, which, secrets); !placed) {
    if (placed.error().message.find("CONTAINER_ENV_VARS") == std::string::npos) std::abort();
  }
  return 0;
}
