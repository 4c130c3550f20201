#include "auth/key_binding.hpp"

#include "auth/key_registry.hpp"
#include "auth/ssh_key.hpp"

namespace lxcprov::auth {

Result<std::string> KeyBinding::user_of(const std::string& session_key, const std::string& key_id) {
  const Error refused = make_error(Errc::auth_failed, "authentication failed");
  const Result<std::string> none = std::string();
  if (session_key.empty()) return key_id.empty() ? none : refused;
  auto fp = key_fingerprint(session_key);
  if (!fp) return key_id.empty() ? none : refused;
  if (!key_id.empty() && key_id != *fp) return refused;
  auto keys = load_key_registry(host_, keys_file_);
  if (!keys) return make_error(Errc::unavailable, keys.error().message);
  auto owner = owner_of(*keys, *fp);
  if (!owner) return key_id.empty() ? none : refused;  // deleted since login
  return *owner;
}

}  // namespace lxcprov::auth
