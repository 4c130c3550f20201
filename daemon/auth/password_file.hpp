#pragma once
// The local password file format ("name:hash" lines), read and durably replaced through a Host.

#include <map>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "host/host.hpp"

namespace lxcprov::auth {

/// name -> encoded hash. Blank lines and lines starting with '#' are skipped; a malformed line is
/// an error naming its line number.
Result<std::map<std::string, std::string>> parse_password_file(std::string_view text);
std::string render_password_file(const std::map<std::string, std::string>& users);

/// Reads the file; a missing file is an empty map.
Result<std::map<std::string, std::string>> load_password_file(host::Host& host, const std::string& path);
/// Replaces the file durably, mode 0600 (Host::replace_file), so readers never see half a file.
Status save_password_file(host::Host& host, const std::string& path, const std::map<std::string, std::string>& users);

}  // namespace lxcprov::auth
