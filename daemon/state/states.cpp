#include "state/states.hpp"

#include <array>
#include <utility>

namespace lxcprov::state {
namespace {

constexpr std::array<std::pair<ContainerState, std::string_view>, 4> container_states{
    {{ContainerState::creating, "creating"},
     {ContainerState::ready, "ready"},
     {ContainerState::updating, "updating"},
     {ContainerState::deleting, "deleting"}}};
constexpr std::array<std::pair<JobState, std::string_view>, 5> job_states{{{JobState::pending, "PENDING"},
                                                                           {JobState::running, "RUNNING"},
                                                                           {JobState::succeeded, "SUCCEEDED"},
                                                                           {JobState::failed, "FAILED"},
                                                                           {JobState::rolled_back, "ROLLED_BACK"}}};
constexpr std::array<std::pair<JobKind, std::string_view>, 3> job_kinds{
    {{JobKind::create, "create"}, {JobKind::destroy, "delete"}, {JobKind::update, "update"}}};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "unknown";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view text) {
  for (const auto& [v, name] : table)
    if (name == text) return v;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ContainerState s) { return name_of(container_states, s); }
std::string_view to_string(JobState s) { return name_of(job_states, s); }
std::string_view to_string(JobKind k) { return name_of(job_kinds, k); }
std::optional<ContainerState> parse_container_state(std::string_view t) { return value_of(container_states, t); }
std::optional<JobState> parse_job_state(std::string_view t) { return value_of(job_states, t); }
std::optional<JobKind> parse_job_kind(std::string_view t) { return value_of(job_kinds, t); }

}  // namespace lxcprov::state
