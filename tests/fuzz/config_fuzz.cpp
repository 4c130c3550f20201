// config::parse (config/*.cpp): lxcprovd.json over the embedded defaults. Root writes the file,
// but every value reaches nft, nginx, sshd or a remote shell, so a rule that lets a bad value
// through, or a crash on a hand-edited file, matters. Invariants: no crash or UB; an accepted
// config has a non-empty pool, and an error says what is wrong.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto c = lxcprov::config::parse(text);
  if (!c) {
    if (c.error().message.empty()) std::abort();
    return 0;
  }
  (void)c->distribution_names();
  for (const auto& name : c->distribution_names())
    if (c->find_distribution(name) == nullptr) std::abort();
  (void)lxcprov::config::usable_name_servers(text);
  return 0;
}
