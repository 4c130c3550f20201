#pragma once
// Shared by the fuzz targets: a small real catalog, the distinctive secret marker and the checks
// on messages.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "deploy/catalog.hpp"

namespace lxcprov::fuzz {

/// Ends the run as a crash, saying which invariant broke (libFuzzer keeps the input).
[[noreturn]] inline void fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant broken: %.*s [%.*s]\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

/// Part of every secret a target feeds in (passwords, tokens, environment values), and removed
/// from every value that is not secret, so that a message containing it repeats a secret.
inline constexpr std::string_view secret_marker = "Zq9SeCrEt";

inline std::string without_marker(std::string text) {
  for (auto at = text.find(secret_marker); at != std::string::npos; at = text.find(secret_marker))
    text.erase(at, secret_marker.size());
  return text;
}

inline void check_no_secret(std::string_view message) {
  if (message.find(secret_marker) != std::string_view::npos) fail("a message repeats a secret", message);
}

inline const deploy::Catalog& catalog() {
  static const deploy::Catalog c = [] {
    auto parsed = deploy::parse_catalog(
        R"({"nodejs": {"default": "18.20.4", "versions": {"18.20.4": {"packages": ["nodejs", "npm"]},
                                                         "20.11.1": {"packages": ["nodejs", "npm"]}}},
            "python": {"default": "3.11.2", "versions": {"3.11.2": {"packages": ["python3", "python3-venv"],
                                                                    "venv": true}}}})",
        R"({"postgresql": {"packages": ["postgresql"], "units": ["postgresql.service"]},
            "redis": {"packages": ["redis-server"], "units": ["redis-server.service"]}})");
    if (!parsed) std::abort();
    return *parsed;
  }();
  return c;
}

}  // namespace lxcprov::fuzz
