#pragma once
// FileTrail: the audit trail as an append-only file of JSON lines (audit/chain.hpp has the format),
// shared by lxcprovd and lxcprovctl. Each append takes an exclusive flock on the file, reads where
// the chain stands from the file's last entry when the file changed since this process last wrote
// (another process appended), writes one line with O_APPEND, fdatasyncs, and releases the lock; then
// it mirrors the event to journald with its MESSAGE_ID, seq and hash (the anchor kept outside the
// file). A file moved aside is let go: the next append reopens the path (one stat per append).
// Direct file I/O rather than host::Host: Host replaces files whole, and appending under a
// lock is this adapter's whole job.

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "audit/chain.hpp"
#include "audit/trail.hpp"

namespace lxcprov::audit {

class FileTrail : public Trail {
 public:
  /// Where the event goes besides the file: the daemon's log (journald in production, stderr in
  /// tests), or journald directly (lxcprovctl, whose stderr is the admin's terminal).
  enum class Mirror { daemon_log, journal, none };

  /// Opens the file for appending, creating it 0640 (its directory 0750 when missing), and
  /// narrowing its mode to 0640 if it is wider. Fails if it cannot be opened for writing.
  static Result<std::unique_ptr<FileTrail>> open(const std::string& path, Mirror mirror);
  ~FileTrail() override;

  Status record(const Event& event) override;
  /// The chain's head after this process's last append (tests, benchmarks).
  Head head() const;

 private:
  FileTrail(std::string path, int fd, Mirror mirror) : path_(std::move(path)), fd_(fd), mirror_(mirror) {}
  /// Reopens the path when the open file is no longer at it (moved aside, replaced).
  Status follow_path();
  /// Under the flock: the last entry of the file (genesis for none) and whether its last byte is
  /// a newline (a crash can leave a partial line, which the next entry must not continue).
  Status resume(off_t size);

  std::string path_;
  int fd_;
  Mirror mirror_;
  mutable std::mutex mutex_;  // the daemon appends from its thread pools
  Chain chain_;
  off_t known_size_ = -1;  // file size after our last append; another size means someone else wrote
  ino_t known_ino_ = 0;
  bool ends_with_newline_ = true;
};

}  // namespace lxcprov::audit
