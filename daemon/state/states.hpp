#pragma once
// The states of a container and of a job, and the kinds of job, as enums. They become text only at
// the edges: the store's columns and what the protocol shows users. Pure.

#include <optional>
#include <string_view>

namespace lxcprov::state {

enum class ContainerState { creating, ready, updating, deleting };
enum class JobState { pending, running, succeeded, failed, rolled_back };
enum class JobKind { create, destroy, update };

/// "creating", "ready", "updating", "deleting".
std::string_view to_string(ContainerState s);
/// "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "ROLLED_BACK".
std::string_view to_string(JobState s);
/// "create", "delete", "update" (the operation's name on the wire).
std::string_view to_string(JobKind k);

std::optional<ContainerState> parse_container_state(std::string_view text);
std::optional<JobState> parse_job_state(std::string_view text);
std::optional<JobKind> parse_job_kind(std::string_view text);

/// A job that will not run any more: succeeded, failed or rolled back.
inline bool terminal(JobState s) { return s != JobState::pending && s != JobState::running; }

}  // namespace lxcprov::state
