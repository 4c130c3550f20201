#pragma once
// What the audit trail records: one Event per authentication result, job boundary (accepted,
// finished) and admin change. Each kind has a stable name (the trail's "event" field) and a fixed
// 128-bit MESSAGE_ID for journald, as systemd catalogs do: `journalctl MESSAGE_ID=...` finds every
// event of a kind whatever the message text says. Never put a secret in any field.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lxcprov::audit {

enum class Kind {
  auth_password,    ///< a password check (result: success, failure, locked, unavailable)
  auth_key,         ///< a session bound (or refused) by its ssh key
  create_accepted,  ///< a create job was recorded (or refused before one was: result refused)
  create_finished,
  update_accepted,
  update_finished,
  delete_accepted,
  delete_finished,
  user_add,  ///< lxcprovctl: password file
  user_passwd,
  user_del,
  key_add,  ///< lxcprovctl: key registry and authorized_keys
  key_del,
  key_sync,
  template_seal,  ///< lxcprovctl: template seals and builds
  template_unseal,
  template_build,
  node_add,  ///< lxcprovctl: the fleet's node registry
  node_drain,
  node_undrain,
  node_remove,
};

/// "auth.password", "create.finished", "user.add", ...
std::string_view name(Kind kind);
/// 32 lowercase hex digits, fixed forever for the kind.
std::string_view message_id(Kind kind);
std::optional<Kind> kind_named(std::string_view name);

struct Event {
  Kind kind = Kind::auth_password;
  std::string actor;   ///< who: the lxcprov user (or the name tried), the admin's account
  std::string source;  ///< from where: "ssh 203.0.113.7", "local", "lxcprovctl loginuid 1000 (ann)"
  int64_t uid = -1;    ///< the peer's uid (SO_PEERCRED) or lxcprovctl's; -1 unknown
  std::string target;  ///< what: the container, the user, the key fingerprint, the template
  std::string result;  ///< "success", "failure", "refused", "exit 0", ...
  std::string detail;  ///< the job id, a reason; short and never secret
};

}  // namespace lxcprov::audit
