#pragma once
// SSH public keys as identities: parsing an admin's `lxcprovctl key add` input and the SHA256
// fingerprint that names a key everywhere (registry, authorized_keys, logs). libssh parses and
// hashes the key; nothing here reads a file. The per-line rules (type, size, no options, no DSA,
// RSA >= 2048) are check_public_key's, so a key an admin registers obeys the same rules as
// PUBLIC_KEY.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lxcprov::auth {

struct ParsedKey {
  std::string type;         ///< "ssh-ed25519", ...
  std::string data;         ///< the base64 blob
  std::string comment;      ///< printable ASCII, may be empty
  std::string fingerprint;  ///< "SHA256:<base64 without padding>", as ssh-keygen -l prints it
  std::string line() const { return comment.empty() ? type + " " + data : type + " " + data + " " + comment; }
};

/// What request::check_public_key leaves to a cryptographic library: the base64 data is a valid
/// key (curve point, RSA parameters) of `type`.
bool key_contents_valid(std::string_view type, std::string_view base64);

/// Exactly one key in `input` (blank lines and '#' comment lines ignored). Several keys, options,
/// DSA, small RSA or malformed data are refused with a sentence saying which.
Result<ParsedKey> parse_single_key(std::string_view input);

/// The SHA256 fingerprint of an OpenSSH public key line (options not allowed), via libssh.
Result<std::string> key_fingerprint(std::string_view key_line);

/// True for strings shaped like a fingerprint this module makes ("SHA256:" + 43 base64 chars).
bool looks_like_fingerprint(std::string_view text);

}  // namespace lxcprov::auth
