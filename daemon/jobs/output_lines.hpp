#pragma once
// OutputLines: turns the byte chunks a command writes (install, build) into lines fit to show a
// user, log to journald and keep in the job log. Chunks split lines anywhere, and a command's
// bytes are arbitrary: control characters (an escape sequence that would repaint the user's
// terminal, a carriage-return progress bar) are escaped as \xNN, invalid UTF-8 is not passed on,
// and an endless line is cut. The total shown is bounded; past the bound one line says so. Pure.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lxcprov::jobs {

class OutputLines {
 public:
  explicit OutputLines(std::size_t max_total_bytes = 4u << 20, std::size_t max_line_bytes = 4096)
      : max_total_(max_total_bytes), max_line_(max_line_bytes) {}

  /// The complete lines `chunk` finishes, escaped (without their newline).
  std::vector<std::string> feed(std::string_view chunk);
  /// What is left of an unfinished last line (a command ended without a newline).
  std::vector<std::string> flush();

  /// Bytes of lines handed out so far (escaped form).
  std::size_t shown() const { return shown_; }

 private:
  void take_line(std::vector<std::string>& out);

  std::size_t max_total_;
  std::size_t max_line_;
  std::string pending_;  ///< raw bytes of the line being assembled
  std::size_t shown_ = 0;
  bool capped_ = false;
};

/// `text` with every byte below 0x20 (except tab) and 0x7f escaped as \xNN, and bytes that do not
/// form valid UTF-8 escaped the same way.
std::string escape_output(std::string_view text);

}  // namespace lxcprov::jobs
