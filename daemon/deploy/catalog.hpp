#pragma once
// The runtime and service catalogs (config/runtimes.json, config/services.json): what a deploy may
// ask for, as Debian packages installed inside the container from the distribution's mirror. Data,
// not code: an operator adds a service by editing JSON. Pure (parsing and look-up only).
//
// runtimes.json:
//   {"nodejs": {"default": "18.19.0", "versions": {"18.19.0": {"packages": ["nodejs", "npm"]}}},
//    "python": {"default": "3.11.2", "versions": {"3.11.2": {"packages": ["python3", "python3-venv"],
//                                                           "venv": true}}}}
// A requested version matches a catalog version when it is a prefix of it at a dot boundary:
// "18" and "18.19" match "18.19.0"; "18.2" and "20" do not. Among several matches the default wins,
// else the highest. The versions are what the distribution's mirror ships (apt installs its
// current package; the catalog says what that is, it does not pin it).
//
// services.json:
//   {"redis": {"packages": ["redis-server"], "units": ["redis-server.service"]}, ...}

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lxcprov::deploy {

struct RuntimeVersion {
  std::string version;                ///< full version, e.g. "18.19.0"
  std::vector<std::string> packages;  ///< Debian package names
  bool venv = false;                  ///< Python: install and run inside <component>/venv
};

struct Runtime {
  std::string name;             ///< e.g. "nodejs"
  std::string default_version;  ///< a key of versions
  std::vector<RuntimeVersion> versions;
};

struct Service {
  std::string name;                   ///< e.g. "redis" (what SERVICES names)
  std::vector<std::string> packages;  ///< Debian package names
  std::vector<std::string> units;     ///< systemd units enabled, started and checked active
};

struct Catalog {
  std::map<std::string, Runtime> runtimes;
  std::map<std::string, Service> services;

  /// The runtime version `name`@`version` resolves to ("" = the default). Errc::invalid_argument
  /// with a message listing what is available ("nodejs@20 is not available; available: nodejs@18.19.0";
  /// a name not in the catalog is not repeated: "that runtime is not available; ...").
  Result<RuntimeVersion> runtime(std::string_view name, std::string_view version) const;
  /// Errc::invalid_argument listing the known services when `name` is not one (and not repeating it).
  Result<Service> service(std::string_view name) const;
  std::vector<std::string> runtime_names() const;  ///< sorted
  std::vector<std::string> service_names() const;  ///< sorted
};

/// Runtime and service names: 1-32 characters of a-z, 0-9, '-' and '_', starting with a letter.
bool valid_catalog_name(std::string_view name);
/// "N", "N.N" or "N.N.N" (decimal digits).
bool valid_version(std::string_view version);
/// `requested` is a prefix of `full` at a dot boundary ("18" matches "18.19.0", "1" does not match "18.0").
bool version_matches(std::string_view requested, std::string_view full);

/// Parses both files' text. Errors name the file's section and the rule (package names must be
/// Debian package names: ^[a-z0-9][a-z0-9+.-]+$; unit names ^[A-Za-z0-9@._-]+\.service$).
Result<Catalog> parse_catalog(std::string_view runtimes_json, std::string_view services_json);

}  // namespace lxcprov::deploy
