#pragma once
// The catalog of extra protocols a user may ask to have forwarded (config/protocols.json): a
// name such as "MYSQL" and the container port(s) it uses. One name may stand for several ports
// (FTP: 20 and 21; DNS: 53/tcp and 53/udp), which the old list's first-match grep lost. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lxcprov::network {

struct ProtocolPort {
  uint16_t port = 0;
  std::string proto;  ///< "tcp" or "udp"
  bool operator==(const ProtocolPort&) const = default;
};

struct Protocol {
  std::string name;                 ///< canonical upper case, e.g. "MYSQL"
  std::vector<ProtocolPort> ports;  ///< in catalog order, no duplicates
};

/// Parses {"protocols": [{"name": "MYSQL", "port": 3306, "proto": "tcp"}, ...]}. A name may repeat
/// (one entry per port). Names: 1-16 of A-Z 0-9 _ -, starting with a letter (folded to upper
/// case). Errors name the entry and the rule.
Result<std::vector<Protocol>> parse_protocol_catalog(std::string_view json_text);

/// The entry named `name` (case-insensitive), or nullptr.
const Protocol* find_protocol(const std::vector<Protocol>& catalog, std::string_view name);

}  // namespace lxcprov::network
