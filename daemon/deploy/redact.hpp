#pragma once
// Redactor: takes a command's output as it arrives, in chunks, and gives back the text with every
// known secret (the git token and its header, environment values) replaced by "[redacted]", also
// when a secret is split across two chunks: the last bytes that could begin one are held back
// until the next chunk or flush(). Secrets shorter than `min_length` are left alone (a value such
// as "1" or "true" would blank out ordinary output); the token always counts. Pure.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.hpp"

namespace lxcprov::deploy {

class Redactor {
 public:
  static constexpr std::size_t min_length = 8;
  static constexpr std::string_view marker = "[redacted]";

  /// `always`: redacted whatever their length (the token); `values`: only from min_length bytes.
  Redactor(const std::vector<const Secret*>& always, const std::vector<const Secret*>& values);
  ~Redactor();
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  /// The text of `chunk` (and what was held back) that is safe to show now.
  std::string feed(std::string_view chunk);
  /// Whatever is still held back, redacted.
  std::string flush();
  /// `text` redacted at once (an error message, a journal excerpt).
  std::string redact(std::string_view text) const;

 private:
  std::vector<Secret> secrets_;  ///< longest first
  std::size_t hold_ = 0;         ///< longest secret - 1
  std::string pending_;
};

}  // namespace lxcprov::deploy
