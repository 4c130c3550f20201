#pragma once
// The documented exit codes of lxcprov-shell, one per error class (docs/protocol.md).

#include "common/result.hpp"

namespace lxcprov {

namespace exit_code {
inline constexpr int ok = 0;           ///< success; for container-exists: the name is free
inline constexpr int internal = 1;     ///< internal failure (rolled back)
inline constexpr int bad_input = 2;    ///< a field broke a rule, or a required field is missing
inline constexpr int auth = 3;         ///< authentication failed or not authorized
inline constexpr int conflict = 4;     ///< the name is taken
inline constexpr int not_found = 5;    ///< no such container or job of yours
inline constexpr int unavailable = 6;  ///< pool exhausted, server busy or a dependency is down
inline constexpr int protocol = 7;     ///< the daemon could not be reached or spoke nonsense
// The old container-exists contract, which the old CI client branches on: 0 = free (create it),
// 2 = exists and is yours (update it), 1 = anything else (authentication failed, not yours, bad
// input, unavailable).
inline constexpr int legacy_update = 2;
inline constexpr int legacy_refused = 1;
}  // namespace exit_code

inline int exit_code_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return exit_code::bad_input;
    case Errc::auth_failed:
    case Errc::permission_denied:
      return exit_code::auth;
    case Errc::conflict:
      return exit_code::conflict;
    case Errc::not_found:
      return exit_code::not_found;
    case Errc::unavailable:
    case Errc::timeout:
      return exit_code::unavailable;
    case Errc::io:
    case Errc::internal:
      return exit_code::internal;
  }
  return exit_code::internal;
}

}  // namespace lxcprov
