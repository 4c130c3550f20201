#pragma once
// Salted scrypt password hashes (OpenSSL EVP_PBE_scrypt) in a self-describing text form:
//   $scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>
// The cost travels with each hash, so raising it later does not break stored hashes.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/secret.hpp"

namespace lxcprov::auth {

struct ScryptCost {
  int log2_n = 15;  ///< N = 2^15: 32 MiB of memory per check
  int r = 8;
  int p = 1;
};

/// A new hash with a fresh random salt.
Result<std::string> hash_password(const Secret& password, ScryptCost cost = {});
/// True when `password` matches `encoded`; false for a mismatch or an unreadable hash. Compares in
/// constant time.
bool verify_password(const Secret& password, std::string_view encoded);
/// Spends the same effort as a real check, so an unknown user costs what a wrong password does.
void burn_password_check(const Secret& password);

}  // namespace lxcprov::auth
