#pragma once
// What lxcprovctl's command files share (see main.cpp for the commands). Single-threaded tool.

#include <string>
#include <vector>

#include "config/config.hpp"

namespace lxcprov::ctl {

/// Prints the usage text; returns exit code 2.
int usage();
/// Prints "lxcprovctl: MESSAGE"; returns exit code 1.
int fail(const std::string& message);

/// `template list|seal|verify|build|unseal ...` (template_cmd.cpp); `args` without "template".
int template_command(const config::Config& cfg, const std::vector<std::string>& args);

}  // namespace lxcprov::ctl
