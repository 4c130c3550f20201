#include "edge/nginx_router.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "edge/process.hpp"
#include "log/log.hpp"

namespace lxcprov::edge {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(Errc::io, std::string("write failed: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return {};
}

// Readers (nginx) see the old file or the new one, never a part of either, and the rename
// survives a power cut once the directory is synced.
Status replace_file(const std::string& path, const std::string& text) {
  const std::filesystem::path target(path);
  const std::string dir = target.parent_path().string();
  const std::string tmp = fmt::format("{}/.{}.tmp.{}", dir, target.filename().string(), ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return make_error(Errc::io, "cannot write the HTTP routes file");
  Status s = write_all(fd, text);
  if (s && ::fsync(fd) != 0) s = make_error(Errc::io, "cannot sync the HTTP routes file");
  ::close(fd);
  if (s && ::rename(tmp.c_str(), path.c_str()) != 0) s = make_error(Errc::io, "cannot replace the HTTP routes file");
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  return {};
}

}  // namespace

std::vector<std::string> NginxRouter::nginx_argv(std::initializer_list<std::string> extra) const {
  std::vector<std::string> argv{s_.nginx};
  if (!s_.prefix.empty()) argv.insert(argv.end(), {"-p", s_.prefix});
  argv.insert(argv.end(), {"-c", s_.conf});
  argv.insert(argv.end(), extra);
  return argv;
}

Status NginxRouter::restore(const std::optional<std::string>& previous) {
  // Without a previous file, an empty one: the main config's `include` of it then still works
  // and routes nothing, which is what nginx ran before.
  return replace_file(s_.include_file, previous.value_or(""));
}

Status NginxRouter::install(const std::string& routes) {
  std::lock_guard lock(mutex_);
  const auto previous = read_file(s_.include_file);
  if (in_sync_ && previous && *previous == routes) return {};
  if (auto s = replace_file(s_.include_file, routes); !s) {
    log::error(fmt::format("nginx routes: {}: {}", s_.include_file, s.error().message));
    return s;
  }
  auto test = run_process(nginx_argv({"-t", "-q"}), "", s_.timeout);
  if (!test || test->exit_status != 0) {
    log::error(fmt::format("nginx -t refused the new routes in {}: {}", s_.include_file,
                           test ? test->output : test.error().message));
    if (auto r = restore(previous); !r) log::error("nginx routes: restoring the previous file failed");
    return make_error(Errc::unavailable, "installing the HTTP route failed (nginx -t refused the configuration)");
  }
  auto reload = run_process(nginx_argv({"-s", "reload"}), "", s_.timeout);
  if (!reload || reload->exit_status != 0) {
    log::error(fmt::format("nginx -s reload failed: {}", reload ? reload->output : reload.error().message));
    in_sync_ = false;
    if (auto r = restore(previous); !r) log::error("nginx routes: restoring the previous file failed");
    return make_error(Errc::unavailable, "installing the HTTP route failed (nginx could not reload; is it running?)");
  }
  in_sync_ = true;
  return {};
}

}  // namespace lxcprov::edge
