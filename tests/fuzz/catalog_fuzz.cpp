// deploy::parse_catalog (deploy/catalog.*): runtimes.json and services.json. Invariants: an
// accepted catalog holds only valid names and versions, every runtime's default is one of its
// versions and resolves, and every look-up answers without a crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "deploy/catalog.hpp"
#include "fuzz_support.hpp"

using namespace lxcprov::deploy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string request_name = in.ConsumeRandomLengthString(40);
  const std::string request_version = in.ConsumeRandomLengthString(20);
  const std::string runtimes = in.ConsumeRandomLengthString(size);
  const std::string services = in.ConsumeRemainingBytesAsString();
  auto c = parse_catalog(runtimes, services);
  if (!c) {
    if (c.error().message.empty()) std::abort();
    return 0;
  }
  for (const auto& [name, runtime] : c->runtimes) {
    if (!valid_catalog_name(name) || runtime.name != name || runtime.versions.empty()) std::abort();
    bool has_default = false;
    for (const auto& v : runtime.versions) {
      if (!valid_version(v.version) || v.packages.empty()) std::abort();
      has_default = has_default || v.version == runtime.default_version;
    }
    if (!has_default) std::abort();
    auto resolved = c->runtime(name, "");
    if (!resolved || resolved->version != runtime.default_version) std::abort();
  }
  for (const auto& [name, service] : c->services)
    if (!valid_catalog_name(name) || !c->service(name)) std::abort();
  if (auto r = c->runtime(request_name, request_version))
    if (!c->runtimes.count(request_name) || (!request_version.empty() && !version_matches(request_version, r->version)))
      lxcprov::fuzz::fail("a runtime resolved to a version that was not asked for", r->version);
  (void)c->service(request_name);
  (void)c->runtime_names();
  (void)c->service_names();
  return 0;
}
