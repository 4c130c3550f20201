#pragma once
// Authenticator: checks a username and password. Implementations: PasswordFileAuthenticator (the
// embedded default, below); an LDAP backend plugs in here. Thread-safe; blocks (hashing costs tens
// of milliseconds on purpose), so call it from a worker thread.

#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "host/host.hpp"

namespace lxcprov::auth {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  /// true: the password is right. false: unknown user or wrong password (indistinguishable by
  /// message and, as far as possible, by time). An error: the backend could not answer (fail closed).
  virtual Result<bool> verify(const std::string& username, const Secret& password) = 0;
  /// The directory groups of `username` (for admin groups and per-group distributions). The
  /// password file has none: its groups come from the config. An error: fail closed.
  virtual Result<std::vector<std::string>> groups(const std::string& username) {
    (void)username;
    return std::vector<std::string>{};
  }
};

/// The local password file: one "name:$scrypt$..." line per user, mode 0600, owned by root,
/// managed with `lxcprovctl user add|passwd|del`. Re-read on every check, so changes apply at once.
class PasswordFileAuthenticator : public Authenticator {
 public:
  PasswordFileAuthenticator(host::Host& host, std::string path) : host_(host), path_(std::move(path)) {}
  Result<bool> verify(const std::string& username, const Secret& password) override;

 private:
  host::Host& host_;
  std::string path_;
};

}  // namespace lxcprov::auth
