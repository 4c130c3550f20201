#pragma once
// Daemon logging. Every line may carry the job, container, user and step it concerns:
//  - stderr mode (default, tests, systemd's stream capture): spdlog, with the fields as
//    "job=… container=… user=… step=…" so grep works;
//  - journald mode (--log journald): sd_journal_send with the fields JOB_ID, CONTAINER,
//    USER_NAME, STEP, so `journalctl -u lxcprovd JOB_ID=…` filters. spdlog 1.10's journald sink
//    cannot add fields, hence the direct call.
// Never pass a secret in any argument. Thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lxcprov::log {

enum class Level { debug, info, warn, error };
enum class Mode { stderr_text, journald };

struct Fields {
  std::string job;
  std::string container;
  std::string user;
  std::string step;
};

/// Call once in main before any thread starts.
void init(Mode mode, Level min_level);
void write(Level level, const Fields& fields, std::string_view message);

/// An event with a journald MESSAGE_ID (32 hex digits) and more FIELD=value pairs (names in
/// journald's form: upper case, digits, '_'), e.g. the audit trail's. In stderr mode the fields
/// become "name=value" words before the message.
using ExtraFields = std::vector<std::pair<std::string, std::string>>;
void write_event(Level level, const Fields& fields, std::string_view message_id, const ExtraFields& extra,
                 std::string_view message);
/// The same, always to journald whatever the mode (lxcprovctl: stderr is the admin's terminal).
/// Returns false when journald did not take it.
bool journal_event(Level level, std::string_view identifier, const Fields& fields, std::string_view message_id,
                   const ExtraFields& extra, std::string_view message);

inline void info(std::string_view message) { write(Level::info, {}, message); }
inline void warn(std::string_view message) { write(Level::warn, {}, message); }
inline void error(std::string_view message) { write(Level::error, {}, message); }
inline void debug(std::string_view message) { write(Level::debug, {}, message); }

}  // namespace lxcprov::log
