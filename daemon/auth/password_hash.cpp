#include "auth/password_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace lxcprov::auth {
namespace {

constexpr size_t salt_bytes = 16;
constexpr size_t hash_bytes = 32;

std::string b64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::optional<std::vector<unsigned char>> unb64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out(s.size() / 4 * 3);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (len < 0) return std::nullopt;
  size_t pad = 0;
  if (s.back() == '=') ++pad;
  if (s.size() >= 2 && s[s.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(len) - pad);
  return out;
}

bool derive(const Secret& password, const std::vector<unsigned char>& salt, ScryptCost cost, unsigned char* out,
            size_t out_len) {
  const uint64_t n = uint64_t{1} << cost.log2_n;
  const uint64_t max_mem =
      uint64_t{128} * static_cast<uint64_t>(cost.r) * (n + static_cast<uint64_t>(cost.p) + 2) + (1u << 20);
  return EVP_PBE_scrypt(password.reveal().data(), password.size(), salt.data(), salt.size(), n,
                        static_cast<uint64_t>(cost.r), static_cast<uint64_t>(cost.p), max_mem, out, out_len) == 1;
}

bool parse_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "ln=15,r=8,p=1"
std::optional<ScryptCost> parse_cost(std::string_view s) {
  ScryptCost c;
  if (s.substr(0, 3) != "ln=") return std::nullopt;
  auto r_pos = s.find(",r="), p_pos = s.find(",p=");
  if (r_pos == std::string_view::npos || p_pos == std::string_view::npos || p_pos < r_pos) return std::nullopt;
  if (!parse_int(s.substr(3, r_pos - 3), c.log2_n) || !parse_int(s.substr(r_pos + 3, p_pos - r_pos - 3), c.r) ||
      !parse_int(s.substr(p_pos + 3), c.p))
    return std::nullopt;
  if (c.log2_n < 10 || c.log2_n > 22 || c.r < 1 || c.r > 32 || c.p < 1 || c.p > 16) return std::nullopt;
  return c;
}

}  // namespace

Result<std::string> hash_password(const Secret& password, ScryptCost cost) {
  std::vector<unsigned char> salt(salt_bytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
    return make_error(Errc::internal, "no randomness for a password salt");
  unsigned char hash[hash_bytes];
  if (!derive(password, salt, cost, hash, sizeof hash)) return make_error(Errc::internal, "scrypt failed");
  std::string out = fmt::format("$scrypt$ln={},r={},p={}${}${}", cost.log2_n, cost.r, cost.p,
                                b64(salt.data(), salt.size()), b64(hash, sizeof hash));
  OPENSSL_cleanse(hash, sizeof hash);
  return out;
}

bool verify_password(const Secret& password, std::string_view encoded) {
  // $scrypt$<cost>$<salt>$<hash>
  constexpr std::string_view prefix = "$scrypt$";
  if (encoded.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = encoded.substr(prefix.size());
  auto d1 = rest.find('$');
  if (d1 == std::string_view::npos) return false;
  auto d2 = rest.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  auto cost = parse_cost(rest.substr(0, d1));
  auto salt = unb64(rest.substr(d1 + 1, d2 - d1 - 1));
  auto expected = unb64(rest.substr(d2 + 1));
  if (!cost || !salt || !expected || expected->empty() || expected->size() > 64) return false;
  std::vector<unsigned char> got(expected->size());
  if (!derive(password, *salt, *cost, got.data(), got.size())) return false;
  bool same = CRYPTO_memcmp(got.data(), expected->data(), got.size()) == 0;
  OPENSSL_cleanse(got.data(), got.size());
  return same;
}

void burn_password_check(const Secret& password) {
  std::vector<unsigned char> salt(salt_bytes, 0x5a);
  unsigned char out[hash_bytes];
  derive(password, salt, ScryptCost{}, out, sizeof out);
  OPENSSL_cleanse(out, sizeof out);
}

}  // namespace lxcprov::auth
