// A fleet's sessions across nodes (docs/architecture.md, "Fleet"): on the entry, which node a
// session runs on and the relay to it; on a node, the identity of a session an entry relayed.

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <deque>
#include <map>

#include <fmt/format.h>

#include "fleet/placement.hpp"
#include "fleet/relay_command.hpp"
#include "log/log.hpp"
#include "request/validation.hpp"
#include "server/relay_process.hpp"
#include "server/session.hpp"

namespace lxcprov::server {

awaitable<bool> Server::bind_relayed_identity(Session& s, const protocol::Hello& hello, Caller& caller,
                                              std::string& bound_user) {
  // sshd let only the entry's key in as this account, so the entry's word is the identity; the
  // name still meets the rules of a typed one, and access (groups, admin) is this node's to decide.
  if (hello.relay_user.empty() || !request::check_username(hello.relay_user).ok()) {
    log::warn("a relayed session named no valid user; refused");
    co_await s.fail(exit_code::auth, "authentication failed");
    co_return false;
  }
  if (!co_await resolve_access(s, hello.relay_user, caller)) co_return false;
  bound_user = hello.relay_user;
  mark_authenticated(s);
  log::write(log::Level::info, log::Fields{"", "", bound_user, ""}, "identity relayed by the fleet entry");
  auto relayed = event_of(audit::Kind::auth_key, caller, bound_user, "", "success", "relayed by the fleet entry");
  co_await record(relayed);
  co_return true;
}

awaitable<bool> Server::route(Session& s, request::Operation op, const request::Request& req,
                              std::optional<state::NodeRecord>& target) {
  using Op = request::Operation;
  const bool placed = op == Op::create;
  // What reads only the shared state (status, logs, list) is answered by any node.
  const bool on_its_node =
      op == Op::destroy || op == Op::update || op == Op::exists || op == Op::info || op == Op::app_logs;
  if (!placed && !on_its_node) co_return true;
  struct Found {
    std::vector<state::NodeRecord> nodes;
    std::string holder;  ///< the container's node ("" when there is no such container)
  };
  auto look = [this, placed, name = req.container_name]() -> Result<Found> {
    auto nodes = nodes_->list_nodes();
    if (!nodes) return nodes.error();
    Found f{std::move(*nodes), ""};
    if (!placed) {
      auto row = store_.find_container(name);
      if (!row) return row.error();
      if (row->has_value()) f.holder = (*row)->node;
    }
    return f;
  };
  auto looked = co_await offload(quick_, std::move(look));
  auto& found = *looked;
  if (!found) {
    co_await s.fail(exit_code::internal, found.error().message);
    co_return false;
  }
  const int64_t now = std::time(nullptr);
  const int64_t down_after = config_.fleet.node_down_after().count();
  std::string chosen = found->holder;
  if (placed) {
    for (auto& n : found->nodes) n.containers += placed_[n.name];
    auto where = fleet::place(found->nodes, req.distribution, now, down_after);
    if (!where) {
      const std::string why = where.error().message;
      log::write(log::Level::warn, {"", req.container_name, req.username, ""}, fmt::format("create refused: {}", why));
      co_await s.fail(exit_code_for(where.error().code), why);
      co_return false;
    }
    chosen = *where;
    log::write(log::Level::info, {"", req.container_name, req.username, ""}, fmt::format("placed on node {}", chosen));
  }
  if (chosen.empty() || chosen == config_.fleet.node) co_return true;
  for (const auto& n : found->nodes) {
    if (n.name != chosen) continue;
    if (const std::string down = fleet::liveness(n, now, down_after); !down.empty()) {
      const std::string why = fmt::format("node {}, which holds container {}, is unavailable ({}); try again later",
                                          chosen, req.container_name, down);
      co_await s.fail(exit_code::unavailable, why);
      co_return false;
    }
    target = n;
    co_return true;
  }
  const std::string why =
      fmt::format("container {} is on node {}, which is not in the fleet's registry", req.container_name, chosen);
  co_await s.fail(exit_code::unavailable, why);
  co_return false;
}

awaitable<void> Server::relay(Session& s, const state::NodeRecord& node, const protocol::Hello& hello) {
  const log::Fields fields{"", hello.env.count("CONTAINER_NAME") ? hello.env.at("CONTAINER_NAME") : "",
                           hello.relay_user, ""};
  auto argv = fleet::relay_command(config_.fleet.entry, node.endpoint);
  auto spawned = argv ? spawn_relay(*argv) : Result<RelayProcess>(argv.error());
  if (!spawned) {
    const std::string why = fmt::format("node {} is unavailable: {}", node.name, spawned.error().message);
    log::write(log::Level::error, fields, why);
    co_await s.fail(exit_code::unavailable, why);
    co_return;
  }
  auto process = std::make_shared<RelayProcess>(std::move(*spawned));
  log::write(log::Level::info, fields, fmt::format("relayed to node {} ({})", node.name, node.endpoint));
  const int to_fd = ::fcntl(process->in.get(), F_DUPFD_CLOEXEC, 3);
  const int from_fd = ::fcntl(process->out.get(), F_DUPFD_CLOEXEC, 3);
  if (to_fd < 0 || from_fd < 0) {
    if (to_fd >= 0) ::close(to_fd);
    if (from_fd >= 0) ::close(from_fd);
    auto reap = [process] { return finish_relay(*process, 0); };
    co_await offload(quick_, std::move(reap));
    const std::string why = fmt::format("node {} is unavailable: out of file descriptors", node.name);
    co_await s.fail(exit_code::unavailable, why);
    co_return;
  }
  asio::posix::stream_descriptor to(s.socket.get_executor(), to_fd);
  asio::posix::stream_descriptor from(s.socket.get_executor(), from_fd);
  // The node asks the same questions in the same order (same variables, same dialogue); each gets
  // the answer the user gave the entry to it, in turn.
  std::map<std::string, std::deque<std::string>> answers;
  for (auto& [field, value] : s.answers) answers[field].push_back(value);

  boost::system::error_code ec;
  const std::string first = protocol::encode_frame(protocol::to_json(hello));
  co_await asio::async_write(to, asio::buffer(first), asio::redirect_error(use_awaitable, ec));
  bool finished = false, client_gone = false;
  const bool changes = hello.op == "create" || hello.op == "delete" || hello.op == "update";
  std::string job, unanswered;
  std::vector<std::string> held;  ///< the node's notices before its job was accepted
  while (!ec) {
    std::array<uint8_t, protocol::header_size> header{};
    co_await asio::async_read(from, asio::buffer(header), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    auto len = protocol::decode_header(header, config_.frame_limit);
    if (!len) break;
    std::string body(*len, '\0');
    co_await asio::async_read(from, asio::buffer(body), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    auto message = protocol::decode_body(body);
    if (!message) break;
    const auto& type_field = (*message)["type"];
    const std::string type = type_field.is_string() ? type_field.get<std::string>() : "";
    if (type == "prompt") {
      auto prompt = protocol::prompt_from_json(*message);
      auto queued = prompt ? answers.find(prompt->field) : answers.end();
      if (queued == answers.end() || queued->second.empty()) {
        unanswered = prompt ? prompt->field : "?";
        break;
      }
      const std::string reply = protocol::encode_frame(protocol::to_json(protocol::Answer{queued->second.front()}));
      queued->second.pop_front();
      co_await asio::async_write(to, asio::buffer(reply), asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (type == "progress" && job.empty()) {
      auto progress = protocol::progress_from_json(*message);
      if (progress) job = progress->job;
    }
    // The user saw the entry's notices (re-asked answers, notes, the repository checked); the
    // node's, before its job is accepted, are the same again, unless the node then asks something
    // the entry has no answer for: kept for that case.
    if (type == "notice" && job.empty()) {
      if (auto n = protocol::notice_from_json(*message); n && held.size() < 8) held.push_back(n->text);
      continue;
    }
    if (type == "final" && changes && message->value("exit_code", -1) == 0) {
      // The forwards and the HTTP route of a container on any node are the entry's: in place
      // before the user is told the container is there (or gone). A job that failed changed
      // nothing the entry serves.
      auto refresh = [this] { return provisioner_.refresh(); };
      auto refreshed = co_await offload(refresh_, std::move(refresh));
      if (!*refreshed)
        log::write(log::Level::warn, fields, fmt::format("entry refresh: {}", refreshed->error().message));
    }
    if (!client_gone) {
      co_await s.send(*message);
      client_gone = !s.sent();
    }
    if (type == "final") {
      finished = true;
      break;
    }
  }
  to.close();
  from.close();
  // A node that answered has closed its side, and ssh exits at once; anything else is cut short.
  auto reap = [process, finished] { return finish_relay(*process, finished ? 2000 : 0); };
  auto said = co_await offload(quick_, std::move(reap));
  if (finished || client_gone) co_return;
  if (!unanswered.empty()) {
    // The node refused what the entry had accepted (a name taken meanwhile, a branch gone), and
    // said why in its notices: the user gets those, and the exit code of that refusal.
    std::vector<std::string> lines = held;
    lines.push_back(fmt::format("node {} asked for {} again; nothing was made there", node.name, unanswered));
    log::write(log::Level::warn, fields, lines.back());
    const int code = unanswered == "CONTAINER_NAME" ? exit_code::conflict : exit_code::bad_input;
    co_await s.finish(code, lines);
    co_return;
  }
  // The node's answer never came: a node that is down, an ssh that was refused, or a cut.
  std::string why = job.empty() ? fmt::format("node {} is unavailable: {}", node.name,
                                              said->empty() ? "the connection ended before any answer" : *said)
                                : fmt::format(
                                      "lost the connection to node {}; job {} goes on there: check it with "
                                      "'status {}'",
                                      node.name, job, job);
  log::write(log::Level::error, fields, why);
  co_await s.fail(exit_code::unavailable, why);
}

}  // namespace lxcprov::server
