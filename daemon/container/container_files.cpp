#include "container/container_files.hpp"

#include <fmt/format.h>

namespace lxcprov::container {
namespace {

using namespace std::chrono_literals;

// $1 and $2 are constants of lxcprov, never user input. A missing directory is made 0755 as a
// package would (under umask 077 /etc/ldap would be 0700, and nslcd, which drops to its own user,
// could not read the CA in it).
constexpr const char* write_file_script = R"sh(set -eu
(umask 022 && mkdir -p "${1%/*}")
umask 077
cat > "$1.lxcprov-new"
chmod "$2" "$1.lxcprov-new"
mv -f "$1.lxcprov-new" "$1"
)sh";

}  // namespace

Status write_file(container::ContainerRuntime& runtime, const std::string& name, const std::string& path,
                  const char* mode, const std::string& content) {
  auto r = runtime.run(name, {"/bin/sh", "-c", write_file_script, "lxcprov-write", path, mode}, content, 30s);
  if (!r) return r.error();
  if (r->exit_status != 0)
    return make_error(Errc::internal,
                      fmt::format("writing {} in the container failed (exit {})", path, r->exit_status));
  return {};
}

}  // namespace lxcprov::container
