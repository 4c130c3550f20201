// Key parsing (auth/ssh_key.*, through libssh): what lxcprovctl and the daemon accept as a user's
// public key. Invariants: an accepted key's line passes the pure PUBLIC_KEY rule and the
// cryptographic check, and has a fingerprint of the documented shape equal to key_fingerprint's.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <libssh/libssh.h>

#include "auth/ssh_key.hpp"
#include "request/validation.hpp"

using namespace lxcprov;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    ssh_set_log_level(SSH_LOG_NOLOG);
    return true;
  }();
  (void)quiet;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto key = auth::parse_single_key(text);
  (void)auth::looks_like_fingerprint(text);
  if (!key) {
    if (key.error().message.empty()) std::abort();
    return 0;
  }
  if (!auth::looks_like_fingerprint(key->fingerprint)) std::abort();
  if (!auth::key_contents_valid(key->type, key->data)) std::abort();
  if (!request::check_public_key(key->line(), auth::key_contents_valid).ok()) std::abort();
  auto fp = auth::key_fingerprint(key->line());
  if (!fp || *fp != key->fingerprint) std::abort();
  return 0;
}
