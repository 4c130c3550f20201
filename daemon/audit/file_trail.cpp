#include "audit/file_trail.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "log/log.hpp"

namespace lxcprov::audit {
namespace {

Error io_error(std::string_view what) {
  return make_error(Errc::io, fmt::format("audit trail: {}: {}", what, std::strerror(errno)));
}

}  // namespace

namespace {

// Opens (making it 0640, and its directory 0750, when missing) the file for appending.
Result<int> open_file(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  if (::mkdir(dir.c_str(), 0750) == 0)
    ::chmod(dir.c_str(), 0750);  // whatever the caller's umask (lxcprovctl's is 077)
  else if (errno != EEXIST)
    return io_error("cannot make its directory");
  // O_APPEND: every write lands at the end, whatever another writer did; nothing earlier can be
  // overwritten by this code. Read access only to find the last entry (pread).
  constexpr int flags = O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
  bool created = true;
  int fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, 0640);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), flags);
  }
  if (fd < 0) return io_error("cannot open it for appending");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(Errc::io, "audit trail: not a regular file");
  }
  // 0640 when made here; an existing file is only ever narrowed (an admin's 0600 stays).
  if (created)
    ::fchmod(fd, 0640);
  else if ((st.st_mode & 07777) & ~0640u)
    ::fchmod(fd, st.st_mode & 0640);
  return fd;
}

}  // namespace

Result<std::unique_ptr<FileTrail>> FileTrail::open(const std::string& path, Mirror mirror) {
  auto fd = open_file(path);
  if (!fd) return fd.error();
  return std::unique_ptr<FileTrail>(new FileTrail(path, *fd, mirror));
}

Status FileTrail::follow_path() {
  // The file was moved aside (rotation, an admin starting a new trail): the next entry goes to
  // the file now at the path, not to the moved one, so every writer keeps to one file.
  struct stat at_path {
  }, open_now{};
  if (::stat(path_.c_str(), &at_path) == 0 && ::fstat(fd_, &open_now) == 0 && at_path.st_ino == open_now.st_ino &&
      at_path.st_dev == open_now.st_dev)
    return {};
  auto fd = open_file(path_);
  if (!fd) return fd.error();
  ::close(fd_);
  fd_ = *fd;
  known_size_ = -1;
  return {};
}

FileTrail::~FileTrail() { ::close(fd_); }

Head FileTrail::head() const {
  std::lock_guard lock(mutex_);
  return chain_.head();
}

Status FileTrail::resume(off_t size) {
  chain_ = Chain();
  ends_with_newline_ = true;
  if (size == 0) return {};
  // Read backwards in growing chunks until a complete line that parses is found: usually the
  // last line, in the first 64 KiB.
  for (off_t chunk = 64 * 1024;; chunk *= 4) {
    const off_t from = size > chunk ? size - chunk : 0;
    std::string buf(static_cast<std::size_t>(size - from), '\0');
    std::size_t got = 0;
    while (got < buf.size()) {
      const ssize_t n = ::pread(fd_, buf.data() + got, buf.size() - got, from + static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return io_error("cannot read it");
      got += static_cast<std::size_t>(n);
    }
    ends_with_newline_ = buf.back() == '\n';
    std::size_t end = buf.size();
    while (end > 0) {
      const std::size_t nl = buf.rfind('\n', end - 1);
      const std::size_t begin = nl == std::string::npos ? 0 : nl + 1;
      // A line cut by the chunk's start is not complete unless the chunk starts the file.
      if (nl == std::string::npos && from > 0) break;
      if (auto e = parse_line(std::string_view(buf).substr(begin, end - begin)); e) {
        chain_ = Chain(Head{e->seq, e->hash});
        return {};
      }
      if (nl == std::string::npos) break;
      end = nl;
    }
    if (from == 0) return {};  // no entry at all: the chain starts again (verify reports why)
  }
}

Status FileTrail::record(const Event& event) {
  std::string line;
  Head head;
  {
    std::lock_guard lock(mutex_);
    if (auto s = follow_path(); !s) return s;
    if (::flock(fd_, LOCK_EX) != 0) return io_error("cannot lock it");
    struct Unlock {
      int fd;
      ~Unlock() { ::flock(fd, LOCK_UN); }
    } unlock{fd_};
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return io_error("cannot stat it");
    if (st.st_size != known_size_ || st.st_ino != known_ino_)
      if (auto s = resume(st.st_size); !s) return s;
    line = chain_.append(event, std::chrono::system_clock::now());
    head = chain_.head();
    std::string bytes = (ends_with_newline_ ? "" : "\n") + line + "\n";
    std::size_t put = 0;
    while (put < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + put, bytes.size() - put);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        known_size_ = -1;  // re-read where the chain stands before the next append
        return io_error("cannot write it");
      }
      put += static_cast<std::size_t>(n);
    }
    if (::fdatasync(fd_) != 0) {
      known_size_ = -1;
      return io_error("cannot sync it");
    }
    known_size_ = st.st_size + static_cast<off_t>(bytes.size());
    known_ino_ = st.st_ino;
    ends_with_newline_ = true;
  }
  if (mirror_ == Mirror::none) return {};
  const log::Level level = event.result == "success" || event.result == "accepted" || event.result == "exit 0"
                               ? log::Level::info
                               : log::Level::warn;
  const log::ExtraFields extra = {{"LXCPROV_AUDIT_EVENT", std::string(name(event.kind))},
                                  {"LXCPROV_AUDIT_SEQ", std::to_string(head.seq)},
                                  {"LXCPROV_AUDIT_HASH", head.hash},
                                  {"LXCPROV_AUDIT_SOURCE", event.source},
                                  {"LXCPROV_AUDIT_TARGET", event.target},
                                  {"LXCPROV_AUDIT_RESULT", event.result}};
  const log::Fields fields{"", "", event.actor, ""};
  const std::string text = fmt::format(
      "audit {} {}: {}{}{}", name(event.kind), event.result, event.target.empty() ? "-" : event.target,
      event.source.empty() ? "" : " from " + event.source, event.detail.empty() ? "" : " (" + event.detail + ")");
  if (mirror_ == Mirror::journal)
    log::journal_event(level, "lxcprovctl", fields, message_id(event.kind), extra, text);
  else
    log::write_event(level, fields, message_id(event.kind), extra, text);
  return {};
}

}  // namespace lxcprov::audit
