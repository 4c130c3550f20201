#pragma once
// Field rules for every input lxcprov accepts. Pure functions: each returns the normalised value
// or a FieldError naming the field and the rule. No I/O.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "request/request.hpp"

namespace lxcprov::request {

template <class T>
struct Checked {
  std::optional<T> value;
  std::optional<FieldError> error;
  bool ok() const { return value.has_value(); }
};

template <class T>
Checked<T> accept(T value) {
  return Checked<T>{std::move(value), std::nullopt};
}

template <class T>
Checked<T> reject(std::string_view field, std::string message) {
  return Checked<T>{std::nullopt, FieldError{std::string(field), std::move(message)}};
}

template <class T>
Checked<T> reject(FieldError error) {
  return Checked<T>{std::nullopt, std::move(error)};
}

/// PROXMOX_USERNAME: 1-32 chars, ^[a-z_][a-z0-9_.-]*$ (ASCII only).
Checked<std::string> check_username(std::string_view text);
/// PROXMOX_PASSWORD: 1-1024 bytes, no NUL, CR or LF.
Checked<std::string> check_password(std::string_view text);
/// CONTAINER_NAME: lowercased first (compatibility with the old scripts), then a DNS label:
/// 1-63 chars of [a-z0-9-], starts with a letter, does not end with '-', not reserved.
Checked<std::string> check_container_name(std::string_view text);
/// LINUX_DISTRIBUTION: empty -> default; else must be one of `allowed` (case-insensitive).
Checked<std::string> check_distribution(std::string_view text, const std::vector<std::string>& allowed,
                                        std::string_view default_value);
/// HTTP_PORT: strict decimal (no sign, spaces, leading zeros, hex), 80-60000.
Checked<uint16_t> check_http_port(std::string_view text);
/// Whether the key data of a line whose layout passed is a real key of its type (curve points, RSA
/// parameters): a cryptographic library's answer, so it is given by the caller (auth/ssh_key.hpp).
using KeyContentCheck = std::function<bool(std::string_view type, std::string_view base64)>;

/// PUBLIC_KEY: one OpenSSH public key line "TYPE BASE64 [comment]": the wire layout of the type
/// checked here, the contents by `contents_valid` when given; no options, no second line, at most
/// 8 KiB; refuses DSA and RSA under 2048 bits.
Checked<std::string> check_public_key(std::string_view text, const KeyContentCheck& contents_valid = {});
/// One extra protocol (an answer to the repeatable prompt): a name of `catalog` (case-insensitive,
/// returned as written in the catalog), not SSH (always forwarded), not already in `chosen`.
Checked<std::string> check_extra_protocol(std::string_view text, const std::vector<std::string>& catalog,
                                          const std::vector<std::string>& chosen);
/// EXTRA_PROTOCOLS: names separated by commas and/or spaces ("MYSQL,NTP"), each as above, at
/// most 16. Empty: none.
Checked<std::vector<std::string>> check_extra_protocols(std::string_view text, const std::vector<std::string>& catalog);
/// Job ids as issued by the daemon: exactly 16 lowercase hex digits.
Checked<std::string> check_job_id(std::string_view text);

}  // namespace lxcprov::request
