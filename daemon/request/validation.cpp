#include "request/validation.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace lxcprov::request {

// No message below ever contains the input: values may be secrets (a password pasted into the
// wrong prompt) or carry terminal escapes, and the rule alone tells the user what to fix.

namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// ASCII-only on purpose: std::tolower depends on the locale, and a locale that folds non-ASCII
// letters would let homoglyphs through.
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

// --- public key helpers ------------------------------------------------------------------------

constexpr size_t max_public_key_bytes = 8 * 1024;

enum class KeyLayout { rsa, ed25519, sk_ed25519, ecdsa, sk_ecdsa };

struct KeyKind {
  std::string_view name;
  KeyLayout layout;
};

// ssh-rsa means the key format; the signature algorithm (rsa-sha2-256/512) is negotiated by sshd,
// so old "ssh-rsa" lines are still fine keys.
constexpr std::array<KeyKind, 7> allowed_key_kinds{{
    {"ssh-ed25519", KeyLayout::ed25519},
    {"ecdsa-sha2-nistp256", KeyLayout::ecdsa},
    {"ecdsa-sha2-nistp384", KeyLayout::ecdsa},
    {"ecdsa-sha2-nistp521", KeyLayout::ecdsa},
    {"ssh-rsa", KeyLayout::rsa},
    {"sk-ssh-ed25519@openssh.com", KeyLayout::sk_ed25519},
    {"sk-ecdsa-sha2-nistp256@openssh.com", KeyLayout::sk_ecdsa},
}};

constexpr std::string_view key_field = "PUBLIC_KEY";
constexpr std::string_view key_types_text =
    "ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa, sk-ssh-ed25519@openssh.com or "
    "sk-ecdsa-sha2-nistp256@openssh.com";

const KeyKind* find_key_kind(std::string_view name) {
  for (const auto& kind : allowed_key_kinds) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict RFC 4648 decoding (padded, canonical). libssh's own decoder is lenient, and one key
// should have exactly one accepted spelling so that duplicates compare equal.
std::optional<std::string> decode_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int v = 0;
      if (c == '=') {
        if (!last || j < 4 - padding) return std::nullopt;
      } else {
        v = base64_value(c);
        if (v < 0) return std::nullopt;
      }
      group = (group << 6) | static_cast<uint32_t>(v);
    }
    const size_t bytes = last ? 3 - padding : 3;
    // Non-zero bits hidden under the padding would give the same key a second spelling.
    if (bytes == 1 && (group & 0xffff) != 0) return std::nullopt;
    if (bytes == 2 && (group & 0xff) != 0) return std::nullopt;
    for (size_t b = 0; b < bytes; ++b) out.push_back(static_cast<char>((group >> (16 - 8 * b)) & 0xff));
  }
  return out;
}

// Reader for the SSH wire format (RFC 4251 "string"): uint32 big-endian length, then bytes.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  std::optional<std::string_view> string() {
    if (data_.size() - pos_ < 4) return std::nullopt;
    uint32_t len = 0;
    for (size_t i = 0; i < 4; ++i) len = (len << 8) | static_cast<unsigned char>(data_[pos_ + i]);
    pos_ += 4;
    if (data_.size() - pos_ < len) return std::nullopt;
    auto out = data_.substr(pos_, len);
    pos_ += len;
    return out;
  }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

size_t mpint_bits(std::string_view mpint) {
  size_t i = 0;
  while (i < mpint.size() && mpint[i] == 0) ++i;
  if (i == mpint.size()) return 0;
  auto top = static_cast<unsigned char>(mpint[i]);
  size_t bits = (mpint.size() - i - 1) * 8;
  while (top != 0) {
    ++bits;
    top >>= 1;
  }
  return bits;
}

enum class BlobCheck { ok, type_mismatch, malformed, rsa_too_small };

// libssh skips the type name inside the blob and may ignore trailing bytes, so the layout is
// checked here: the name must equal the TYPE word and the blob must hold exactly the fields of
// that key type. The RSA modulus size is read here too, because libssh 0.10 has no
// ssh_key_size() (it arrived in 0.11).
BlobCheck check_blob(std::string_view blob, const KeyKind& kind) {
  WireReader in(blob);
  auto name = in.string();
  if (!name) return BlobCheck::malformed;
  if (*name != kind.name) return BlobCheck::type_mismatch;
  size_t fields = 0;
  switch (kind.layout) {
    case KeyLayout::rsa: {
      auto e = in.string();
      auto n = in.string();
      if (!e || !n) return BlobCheck::malformed;
      if (!in.at_end()) return BlobCheck::malformed;
      return mpint_bits(*n) >= 2048 ? BlobCheck::ok : BlobCheck::rsa_too_small;
    }
    case KeyLayout::ed25519:
      fields = 1;
      break;
    case KeyLayout::sk_ed25519:
      fields = 2;
      break;  // key, application
    case KeyLayout::ecdsa: {
      auto curve = in.string();
      // "ecdsa-sha2-nistp256" carries "nistp256" again; a different curve is a forged line.
      if (!curve || *curve != kind.name.substr(kind.name.rfind('-') + 1)) return BlobCheck::type_mismatch;
      fields = 1;
      break;
    }
    case KeyLayout::sk_ecdsa: {
      auto curve = in.string();
      if (!curve || *curve != "nistp256") return BlobCheck::type_mismatch;
      fields = 2;
      break;
    }
  }
  for (size_t i = 0; i < fields; ++i) {
    if (!in.string()) return BlobCheck::malformed;
  }
  return in.at_end() ? BlobCheck::ok : BlobCheck::malformed;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Next whitespace-separated word; `rest` keeps what follows.
std::string_view take_word(std::string_view& rest) {
  rest = trim_spaces(rest);
  size_t end = 0;
  while (end < rest.size() && !is_space(rest[end])) ++end;
  auto word = rest.substr(0, end);
  rest = trim_spaces(rest.substr(end));
  return word;
}

}  // namespace

Checked<std::string> check_username(std::string_view text) {
  constexpr std::string_view rule =
      "must be 1-32 characters of a-z, 0-9, '_', '.' and '-', starting with a letter or '_'";
  if (text.empty() || text.size() > 32) return reject<std::string>("PROXMOX_USERNAME", std::string(rule));
  if (!(is_lower(text[0]) || text[0] == '_')) return reject<std::string>("PROXMOX_USERNAME", std::string(rule));
  for (char c : text) {
    if (!(is_lower(c) || is_digit(c) || c == '_' || c == '.' || c == '-')) {
      return reject<std::string>("PROXMOX_USERNAME", std::string(rule));
    }
  }
  return accept(std::string(text));
}

Checked<std::string> check_password(std::string_view text) {
  if (text.empty()) return reject<std::string>("PROXMOX_PASSWORD", "must not be empty");
  if (text.size() > 1024) return reject<std::string>("PROXMOX_PASSWORD", "must be at most 1024 bytes");
  // CR and LF would split a line-oriented prompt answer or log record; NUL truncates C APIs.
  if (text.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos) {
    return reject<std::string>("PROXMOX_PASSWORD", "must not contain NUL, CR or LF characters");
  }
  return accept(std::string(text));
}

Checked<std::string> check_container_name(std::string_view text) {
  constexpr std::string_view field = "CONTAINER_NAME";
  // Length first, so that a 10 MB value is refused before it is copied or scanned.
  if (text.size() > 63) return reject<std::string>(std::string(field), "must be at most 63 characters");
  if (text.empty()) return reject<std::string>(std::string(field), "must not be empty");
  for (char c : text) {
    // Byte-wise ASCII allowlist: refuses NUL, newlines, '/', '.', homoglyphs and bidi overrides.
    if (!(is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-')) {
      return reject<std::string>(std::string(field), "may contain only letters a-z, digits 0-9 and '-'");
    }
  }
  std::string name = ascii_lowered(text);
  if (!is_lower(name.front())) return reject<std::string>(std::string(field), "must start with a letter");
  if (name.back() == '-') return reject<std::string>(std::string(field), "must not end with '-'");
  // Template containers share the lxcpath, so "tpl-" names would let a user shadow or delete one.
  if (name == "localhost" || name == "lxcprov" || name == "template" || name.starts_with("tpl-")) {
    return reject<std::string>(std::string(field),
                               "is reserved (localhost, lxcprov, template and names starting with tpl-)");
  }
  return accept(std::move(name));
}

Checked<std::string> check_distribution(std::string_view text, const std::vector<std::string>& allowed,
                                        std::string_view default_value) {
  if (text.empty()) return accept(std::string(default_value));
  std::string lowered = ascii_lowered(text);
  for (const auto& name : allowed) {
    if (ascii_lowered(name) == lowered) return accept(ascii_lowered(name));
  }
  std::string message = "must be one of: ";
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i != 0) message += ", ";
    message += allowed[i];
  }
  return reject<std::string>("LINUX_DISTRIBUTION", std::move(message));
}

Checked<uint16_t> check_http_port(std::string_view text) {
  constexpr std::string_view field = "HTTP_PORT";
  if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit)) {
    return reject<uint16_t>(std::string(field), "must be a decimal number from 80 to 60000 (digits only)");
  }
  if (text.size() > 1 && text[0] == '0') return reject<uint16_t>(std::string(field), "must not have leading zeros");
  // More than 5 digits is out of range anyway; stopping here keeps the sum from overflowing.
  if (text.size() > 5) return reject<uint16_t>(std::string(field), "must be from 80 to 60000");
  uint32_t value = 0;
  for (char c : text) value = value * 10 + static_cast<uint32_t>(c - '0');
  if (value < 80 || value > 60000) return reject<uint16_t>(std::string(field), "must be from 80 to 60000");
  return accept(static_cast<uint16_t>(value));
}

Checked<std::string> check_public_key(std::string_view text, const KeyContentCheck& contents_valid) {
  const std::string field(key_field);
  // Size first: the +2 leaves room for a trailing CR LF that is trimmed below.
  if (text.size() > max_public_key_bytes + 2) return reject<std::string>(field, "must be at most 8192 bytes");
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  if (text.size() > max_public_key_bytes) return reject<std::string>(field, "must be at most 8192 bytes");
  if (text.find_first_of("\r\n") != std::string_view::npos) {
    return reject<std::string>(field, "must be a single line holding one key");
  }
  std::string_view rest = text;
  const std::string_view type_word = take_word(rest);
  if (type_word.empty()) return reject<std::string>(field, "must not be empty");
  if (type_word == "ssh-dss") return reject<std::string>(field, "DSA (ssh-dss) keys are refused; use ssh-ed25519");
  const KeyKind* kind = find_key_kind(type_word);
  if (kind == nullptr) {
    // Also catches authorized_keys options (command=, restrict, from=): a user-supplied key must
    // not carry its own forced command or forwarding rules.
    return reject<std::string>(field, "must start with a key type (" + std::string(key_types_text) +
                                          "); options such as command= or restrict are not allowed");
  }
  const std::string_view data = take_word(rest);
  const std::string_view comment = rest;
  if (data.empty()) return reject<std::string>(field, "must have the form 'TYPE BASE64 [comment]'");
  const auto blob = decode_base64(data);
  if (!blob) return reject<std::string>(field, "key data is not valid base64");
  switch (check_blob(*blob, *kind)) {
    case BlobCheck::ok:
      break;
    case BlobCheck::type_mismatch:
      return reject<std::string>(field, "the key type inside the key data does not match the type word");
    case BlobCheck::malformed:
      return reject<std::string>(field, "key data is not a well-formed key of that type");
    case BlobCheck::rsa_too_small:
      return reject<std::string>(field, "RSA keys must be at least 2048 bits");
  }
  for (char c : comment) {
    if (c < 0x20 || c > 0x7e) return reject<std::string>(field, "comment must be printable ASCII");
  }

  // The layout is right; the contents (curve points, RSA parameters) are the caller's check.
  if (contents_valid && !contents_valid(type_word, data))
    return reject<std::string>(field, "key data is not a valid key of that type");

  std::string line;
  line.reserve(type_word.size() + data.size() + comment.size() + 2);
  line.append(type_word).append(" ").append(data);
  if (!comment.empty()) line.append(" ").append(comment);
  return accept(std::move(line));
}

Checked<std::string> check_extra_protocol(std::string_view text, const std::vector<std::string>& catalog,
                                          const std::vector<std::string>& chosen) {
  constexpr std::string_view field = "EXTRA_PROTOCOLS";
  // Bounded before lowering: a catalog name is at most 16 characters.
  if (text.empty() || text.size() > 16)
    return reject<std::string>(std::string(field), "must name a protocol of the catalog");
  const std::string lowered = ascii_lowered(text);
  if (lowered == "ssh") return reject<std::string>(std::string(field), "SSH is always forwarded; do not list it");
  for (const auto& name : catalog) {
    if (ascii_lowered(name) != lowered) continue;
    for (const auto& c : chosen)
      if (c == name) return reject<std::string>(std::string(field), "lists the same protocol twice");
    return accept(name);
  }
  std::string message = "must be one of: ";
  bool first = true;
  for (const auto& name : catalog) {
    if (ascii_lowered(name) == "ssh") continue;
    if (!first) message += ", ";
    message += name;
    first = false;
  }
  if (first) message = "extra protocols are not offered by this server";
  return reject<std::string>(std::string(field), std::move(message));
}

Checked<std::vector<std::string>> check_extra_protocols(std::string_view text,
                                                        const std::vector<std::string>& catalog) {
  constexpr size_t max_protocols = 16;
  if (text.size() > 1024) return reject<std::vector<std::string>>("EXTRA_PROTOCOLS", "must be at most 1024 characters");
  std::vector<std::string> chosen;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ',' || text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && text[end] != ',' && text[end] != ' ' && text[end] != '\t') ++end;
    auto one = check_extra_protocol(text.substr(i, end - i), catalog, chosen);
    if (!one.ok()) return Checked<std::vector<std::string>>{std::nullopt, one.error};
    if (chosen.size() == max_protocols)
      return reject<std::vector<std::string>>("EXTRA_PROTOCOLS", "must list at most 16 protocols");
    chosen.push_back(std::move(*one.value));
    i = end;
  }
  return accept(std::move(chosen));
}

Checked<std::string> check_job_id(std::string_view text) {
  const bool ok = text.size() == 16 &&
                  std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
  if (!ok) return reject<std::string>("JOB_ID", "must be 16 lowercase hexadecimal digits (as printed by create)");
  return accept(std::string(text));
}

}  // namespace lxcprov::request
