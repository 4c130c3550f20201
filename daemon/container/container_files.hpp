#pragma once
// Writing a file into a container from inside it (liblxc attach, through ContainerRuntime), never
// through a host path into its rootfs, which a symlink in the container could redirect onto the
// host. The content travels on stdin; the path and mode are constants of lxcprov. No I/O of its
// own: the runtime runs the command.

#include <string>

#include "common/result.hpp"
#include "container/runtime.hpp"

namespace lxcprov::container {

/// Replaces `path` in container `name` (through a temporary file and a rename, so a reader never
/// sees half of it) with `content`, mode `mode` ("600"), root-owned; a missing directory is made
/// 0755. `path` and `mode` must be constants of lxcprov, never user input.
Status write_file(container::ContainerRuntime& runtime, const std::string& name, const std::string& path,
                  const char* mode, const std::string& content);

}  // namespace lxcprov::container
