#pragma once
// Escaping of user-supplied values before they go into LDAP filters and DNs. Pure. A username like
// `*)(uid=*` must match itself and nothing else, and `x,ou=admins` must not move the DN.

#include <string>
#include <string_view>

namespace lxcprov::auth {

/// RFC 4515 assertion value: `*` `(` `)` `\` NUL and every byte outside printable ASCII as \XX.
std::string escape_ldap_filter(std::string_view value);
/// RFC 4514 attribute value: `,` `+` `"` `\` `<` `>` `;` `=`, a leading `#` or space and a trailing
/// space are backslash-escaped; NUL and bytes outside printable ASCII as \XX.
std::string escape_ldap_dn(std::string_view value);
/// `pattern` with every "%u" replaced by `user` and every "%d" by `dn` (both already escaped).
std::string fill_ldap_pattern(std::string_view pattern, std::string_view user, std::string_view dn = {});

}  // namespace lxcprov::auth
