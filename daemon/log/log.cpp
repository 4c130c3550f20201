#include "log/log.hpp"

#include <sys/uio.h>
#include <syslog.h>

#include <systemd/sd-journal.h>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace lxcprov::log {
namespace {

Mode g_mode = Mode::stderr_text;
Level g_min = Level::info;
std::shared_ptr<spdlog::logger> g_logger;

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

int to_priority(Level l) {
  switch (l) {
    case Level::debug:
      return LOG_DEBUG;
    case Level::info:
      return LOG_INFO;
    case Level::warn:
      return LOG_WARNING;
    case Level::error:
      return LOG_ERR;
  }
  return LOG_INFO;
}

std::string with_fields(const Fields& f, std::string_view message) {
  std::string out;
  if (!f.job.empty()) out += "job=" + f.job + " ";
  if (!f.container.empty()) out += "container=" + f.container + " ";
  if (!f.user.empty()) out += "user=" + f.user + " ";
  if (!f.step.empty()) out += "step=" + f.step + " ";
  out += message;
  return out;
}

}  // namespace

void init(Mode mode, Level min_level) {
  g_mode = mode;
  g_min = min_level;
  g_logger = std::make_shared<spdlog::logger>("lxcprovd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  g_logger->set_level(to_spdlog(min_level));
  g_logger->flush_on(spdlog::level::debug);
}

namespace {

bool send_journal(Level level, std::string_view identifier, const Fields& f, std::string_view message_id,
                  const ExtraFields& extra, const std::string& text) {
  // Empty fields are left out rather than sent empty, so JOB_ID=… matches only job lines.
  std::vector<std::string> entries = {"MESSAGE=" + text, "PRIORITY=" + std::to_string(to_priority(level)),
                                      "SYSLOG_IDENTIFIER=" + std::string(identifier)};
  if (!message_id.empty()) entries.push_back("MESSAGE_ID=" + std::string(message_id));
  for (auto [name, value] :
       {std::pair{"JOB_ID=", &f.job}, {"CONTAINER=", &f.container}, {"USER_NAME=", &f.user}, {"STEP=", &f.step}})
    if (!value->empty()) entries.push_back(name + *value);
  for (const auto& [name, value] : extra) entries.push_back(name + "=" + value);
  std::vector<iovec> iov;
  for (auto& e : entries) iov.push_back({e.data(), e.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) == 0;
}

}  // namespace

void write(Level level, const Fields& f, std::string_view message) { write_event(level, f, "", {}, message); }

void write_event(Level level, const Fields& f, std::string_view message_id, const ExtraFields& extra,
                 std::string_view message) {
  if (level < g_min) return;
  if (g_mode == Mode::journald) {
    send_journal(level, "lxcprovd", f, message_id, extra, with_fields(f, message));
    return;
  }
  std::string words;
  for (const auto& [name, value] : extra) words += name + "=" + value + " ";
  if (!g_logger) init(Mode::stderr_text, Level::info);
  g_logger->log(to_spdlog(level), "{}", with_fields(f, words + std::string(message)));
}

bool journal_event(Level level, std::string_view identifier, const Fields& f, std::string_view message_id,
                   const ExtraFields& extra, std::string_view message) {
  return send_journal(level, identifier, f, message_id, extra, with_fields(f, message));
}

}  // namespace lxcprov::log
