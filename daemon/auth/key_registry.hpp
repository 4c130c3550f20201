#pragma once
// The key registry: which SSH public key belongs to which user, gitolite-style. It lives in one
// root-only file (default /etc/lxcprov/keys, mode 0600) managed by `lxcprovctl key add|del|list`;
// lxcprovd re-reads it on every key-bound session, so a deleted key stops working at once.
//
//   <user> <SHA256:fingerprint> <type> <base64> [comment]
//
// From the registry lxcprovctl renders the authorized_keys file of every ssh account into a
// root-owned directory (AuthorizedKeysFile /etc/lxcprov/authorized_keys/%u), so neither the users
// nor the accounts can edit it. Every line there is
//
//   restrict,pty,command="<shell> --socket <sock> --key-id <fp> <op>" <type> <base64> lxcprov:<user>
//
// `restrict` turns off every forwarding, user rc and any restriction OpenSSH adds later; `pty` is
// given back so interactive prompts work. The identity is NOT taken from that command line: the
// daemon maps the key sshd verified (ExposeAuthInfo) to its user through this registry.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "host/host.hpp"

namespace lxcprov::auth {

struct RegisteredKey {
  std::string user;
  std::string fingerprint;
  std::string type;
  std::string data;
  std::string comment;
  bool operator==(const RegisteredKey&) const = default;
};

/// One ssh account and the operation its forced command runs.
struct Account {
  std::string name;  ///< "create-container"
  std::string op;    ///< "create"
};
/// The three accounts scripts/setup-sshd.sh creates.
std::vector<Account> default_accounts();

Result<std::vector<RegisteredKey>> parse_key_registry(std::string_view text);
std::string render_key_registry(const std::vector<RegisteredKey>& keys);
/// A missing file is an empty registry.
Result<std::vector<RegisteredKey>> load_key_registry(host::Host& host, const std::string& path);
/// Replaced durably, mode 0600 (Host::replace_file).
Status save_key_registry(host::Host& host, const std::string& path, const std::vector<RegisteredKey>& keys);

/// The owner of the key with `fingerprint`, or nullopt.
std::optional<std::string> owner_of(const std::vector<RegisteredKey>& keys, std::string_view fingerprint);

/// The authorized_keys text of one account.
std::string render_authorized_keys(const std::vector<RegisteredKey>& keys, const Account& account,
                                   const std::string& shell, const std::string& socket);
/// Rewrites DIR/<account> for every account atomically (0644 root: sshd reads it before it
/// switches to the account; StrictModes wants it unwritable by others). Creates DIR (0755).
Status write_authorized_keys(host::Host& host, const std::string& dir, const std::vector<RegisteredKey>& keys,
                             const std::vector<Account>& accounts, const std::string& shell, const std::string& socket);

}  // namespace lxcprov::auth
