#pragma once
// KeyBinding: which user a session's ssh key names, by the key registry (auth/key_registry.hpp)
// read through a Host on every call, so an admin's `lxcprovctl key del` applies at once. Uses
// libssh for the fingerprint. Blocking (a file read): call from a worker thread. Thread-safe.

#include <string>

#include "common/result.hpp"
#include "host/host.hpp"

namespace lxcprov::auth {

class KeyBinding {
 public:
  KeyBinding(host::Host& host, std::string keys_file) : host_(host), keys_file_(std::move(keys_file)) {}

  /// The user `session_key` is registered to, or "" when it is none (the password flow decides).
  /// `key_id` (the authorized_keys command's --key-id), when given, must be the key's fingerprint
  /// and the key still registered: Errc::auth_failed otherwise. Errc::unavailable when the
  /// registry cannot be read.
  Result<std::string> user_of(const std::string& session_key, const std::string& key_id);

 private:
  host::Host& host_;
  std::string keys_file_;
};

}  // namespace lxcprov::auth
