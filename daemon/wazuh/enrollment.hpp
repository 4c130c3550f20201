#pragma once
// The Wazuh agent enrollment protocol (wazuh-authd, TLS on port 1515), as documented by Wazuh and
// implemented by its agent-auth/agentd: the client sends one line
//   [OSSEC PASS: <password> ]OSSEC A:'<agent name>'[ IP:'<ip>']\n
// and authd answers with one line, either
//   OSSEC K:'<id> <name> <ip> <key>'
// or "ERROR: <reason>" (e.g. "ERROR: Invalid password", "ERROR: Duplicate agent name: <name>").
// The four fields of a K: answer are exactly one line of the agent's client.keys. Pure: the TLS
// exchange is wazuh/wazuh_client.

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/secret.hpp"

namespace lxcprov::wazuh {

/// What authd assigned: one client.keys entry.
struct Enrollment {
  std::string id;    ///< decimal digits, e.g. "007"
  std::string name;  ///< the agent name (== the container name)
  std::string ip;    ///< "any" or the address the key is bound to
  Secret key;        ///< the agent's shared key: only ever written to client.keys
};

/// Agent names authd accepts (OS_IsValidName): 2..128 of [A-Za-z0-9._-].
bool valid_agent_name(std::string_view name);

/// The request line, newline-terminated. `ip`: "" sends no IP field (authd then registers "any"
/// unless it uses the source address). Errc::invalid_argument for a bad name or IP, or a password
/// containing a control character or a space at either end (authd's password match would fail).
Result<Secret> render_request(std::string_view agent_name, std::string_view ip, const Secret& password);

/// Parses authd's answer strictly: one K: line whose id is digits, whose name equals
/// `expected_name` and whose key is 1..256 base64/hex characters. An "ERROR: " answer becomes
/// Errc::conflict ("Duplicate agent name"), Errc::permission_denied ("Invalid password") or
/// Errc::unavailable (anything else), with the manager's reason (printable ASCII, bounded).
Result<Enrollment> parse_reply(std::string_view reply, std::string_view expected_name);

/// "<id> <name> <ip> <key>\n": the agent's /var/ossec/etc/client.keys.
Secret client_keys(const Enrollment& e);

}  // namespace lxcprov::wazuh
