#include "auth/ssh_key.hpp"

#include <libssh/libssh.h>

#include <memory>
#include <vector>

#include <fmt/format.h>

#include "request/validation.hpp"

namespace lxcprov::auth {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Error bad_key(std::string_view why) { return make_error(Errc::invalid_argument, fmt::format("key: {}", why)); }

}  // namespace

bool key_contents_valid(std::string_view type, std::string_view base64) {
  const std::string type_z(type), data_z(base64);
  const ssh_keytypes_e want = ssh_key_type_from_name(type_z.c_str());
  if (want == SSH_KEYTYPE_UNKNOWN) return false;
  ssh_key raw = nullptr;
  if (ssh_pki_import_pubkey_base64(data_z.c_str(), want, &raw) != SSH_OK || raw == nullptr) {
    if (raw != nullptr) ssh_key_free(raw);
    return false;
  }
  const bool same = ssh_key_type(raw) == want;
  ssh_key_free(raw);
  return same;
}

Result<std::string> key_fingerprint(std::string_view key_line) {
  auto checked = request::check_public_key(key_line, key_contents_valid);
  if (!checked.ok()) return bad_key(checked.error->message);
  const std::string& line = *checked.value;
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 + 1);
  const std::string type = line.substr(0, sp1);
  const std::string data = line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
  ssh_key raw = nullptr;
  if (ssh_pki_import_pubkey_base64(data.c_str(), ssh_key_type_from_name(type.c_str()), &raw) != SSH_OK || !raw) {
    if (raw) ssh_key_free(raw);
    return bad_key("key data is not a valid key of that type");
  }
  std::unique_ptr<std::remove_pointer_t<ssh_key>, void (*)(ssh_key)> key(raw, ssh_key_free);
  unsigned char* hash = nullptr;
  size_t hash_len = 0;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_len) != 0 || !hash)
    return make_error(Errc::internal, "key: cannot hash the key");
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len);
  ssh_clean_pubkey_hash(&hash);
  if (!fp) return make_error(Errc::internal, "key: cannot format the fingerprint");
  std::string out(fp);
  ssh_string_free_char(fp);
  return out;
}

bool looks_like_fingerprint(std::string_view text) {
  if (text.size() != 7 + 43 || !text.starts_with("SHA256:")) return false;
  for (char c : text.substr(7))
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return false;
  return true;
}

Result<ParsedKey> parse_single_key(std::string_view input) {
  if (input.size() > 64 * 1024) return bad_key("input is larger than 64 KiB; give exactly one key line");
  std::vector<std::string_view> lines;
  while (!input.empty()) {
    const auto nl = input.find('\n');
    const std::string_view line = trim(input.substr(0, nl));
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    lines.push_back(line);
  }
  if (lines.empty()) return bad_key("no key given; pipe one OpenSSH public key line (e.g. ~/.ssh/id_ed25519.pub)");
  if (lines.size() > 1) return bad_key(fmt::format("{} keys given; add exactly one key per command", lines.size()));
  auto checked = request::check_public_key(lines.front(), key_contents_valid);
  if (!checked.ok()) return bad_key(checked.error->message);
  ParsedKey k;
  const std::string& line = *checked.value;
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 + 1);
  k.type = line.substr(0, sp1);
  k.data = line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
  if (sp2 != std::string::npos) k.comment = line.substr(sp2 + 1);
  auto fp = key_fingerprint(k.type + " " + k.data);
  if (!fp) return fp.error();
  k.fingerprint = *fp;
  return k;
}

}  // namespace lxcprov::auth
