#pragma once
// LdapAuthenticator: checks a password with an LDAP simple bind (libldap), either on a DN built
// from a template or on the DN a search found. TLS is mandatory (ldaps:// or StartTLS, enforced by
// config::parse) and the certificate is verified unless the config says otherwise. Every call
// opens its own connection with a connect timeout and an operation timeout, so a dead or silent
// server costs at most those and is reported as an error: the session fails closed.
//
// Unknown users and wrong passwords give the same answer (false) and cost about the same: when a
// search finds no such user, a bind with the given password on a DN that cannot exist is still
// made, so both paths make the same round trips.

#include <chrono>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "config/config.hpp"

namespace lxcprov::auth {

class LdapAuthenticator : public Authenticator {
 public:
  explicit LdapAuthenticator(config::Ldap config) : config_(std::move(config)) {}
  /// The most one call may take before it fails closed.
  std::chrono::milliseconds budget() const;
  Result<bool> verify(const std::string& username, const Secret& password) override;
  Result<std::vector<std::string>> groups(const std::string& username) override;

 private:
  config::Ldap config_;
};

}  // namespace lxcprov::auth
