#include "server/server.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <optional>

#include <fmt/format.h>

#include "auth/access_policy.hpp"
#include "auth/ssh_key.hpp"
#include "common/exit_codes.hpp"
#include "jobs/output_lines.hpp"
#include "log/log.hpp"
#include "protocol/frame.hpp"
#include "protocol/messages.hpp"
#include "request/dialogue.hpp"
#include "request/validation.hpp"
#include "server/session.hpp"

namespace lxcprov::server {

using asio::awaitable;
using asio::use_awaitable;
using socket_t = asio::local::stream_protocol::socket;

namespace {

// Completion handler of every detached coroutine: an exception that escapes one ends only its
// session, and is logged instead of vanishing (asio::detached drops it).
struct LogEscapes {
  const char* what;
  void operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error(fmt::format("{} ended by an exception: {}", what, ex.what()));
    } catch (...) {
      log::error(fmt::format("{} ended by an unknown exception", what));
    }
  }
};

// Reports a job's progress to the job log, the daemon log and (while connected) the client.
class SessionReporter : public jobs::Reporter {
 public:
  SessionReporter(state::Store& store, socket_t& socket, log::Fields fields, std::size_t max_output)
      : store_(store), socket_(socket), fields_(std::move(fields)), lines_(max_output) {}

  void step_started(std::string_view step) override {
    emit(log::Level::info, step, fmt::format("{} started", step), /*to_client=*/false);
  }
  void step_finished(std::string_view step, std::chrono::microseconds took) override {
    flush_output();
    emit(log::Level::info, step,
         fmt::format("{:<10} done in {:.1f} ms", step, static_cast<double>(took.count()) / 1000.0));
  }
  void step_failed(std::string_view step, const Error& error) override {
    flush_output();
    emit(log::Level::error, step, fmt::format("{} failed: {}", step, error.message));
  }
  void undo_failed(std::string_view step, const Error& error) override {
    emit(log::Level::error, step, fmt::format("undo of {} failed: {}", step, error.message));
  }
  void info(std::string_view text) override {
    flush_output();
    emit(log::Level::info, "", text);
  }
  void output(std::string_view step, std::string_view text) override {
    if (step != output_step_) {
      flush_output();
      output_step_ = std::string(step);
    }
    send_output(lines_.feed(text));
  }

 private:
  // The job log keeps the head and the tail of each step's output (a failure is usually
  // explained at the end); journald and the client get every line up to the job's bound.
  static constexpr std::size_t job_log_head = 64 * 1024;
  static constexpr std::size_t job_log_tail = 64 * 1024;

  void send_output(std::vector<std::string> lines) {
    if (lines.empty()) return;
    auto fields = fields_;
    fields.step = output_step_;
    for (const auto& line : lines) {
      log::write(log::Level::info, fields, line);
      if (head_bytes_ + line.size() <= job_log_head) {
        head_bytes_ += line.size();
        (void)store_.append_job_log(fields_.job, "output", line);
      } else {
        tail_.push_back(line);
        tail_bytes_ += line.size();
        while (tail_bytes_ > job_log_tail && !tail_.empty()) {
          tail_bytes_ -= tail_.front().size();
          dropped_bytes_ += tail_.front().size();
          tail_.pop_front();
        }
      }
    }
    write(protocol::to_json(protocol::Output{fields_.job, output_step_, std::move(lines)}));
  }

  void flush_output() {
    send_output(lines_.flush());
    if (dropped_bytes_ > 0) {
      (void)store_.append_job_log(fields_.job, "output",
                                  fmt::format("[lxcprov: {} KiB of output not kept here; journalctl JOB_ID={} has it]",
                                              (dropped_bytes_ + 1023) / 1024, fields_.job));
    }
    for (const auto& line : tail_) (void)store_.append_job_log(fields_.job, "output", line);
    tail_.clear();
    head_bytes_ = tail_bytes_ = dropped_bytes_ = 0;
  }

  void emit(log::Level level, std::string_view step, std::string_view text, bool to_client = true) {
    auto fields = fields_;
    fields.step = std::string(step);
    log::write(level, fields, text);
    (void)store_.append_job_log(fields_.job, level == log::Level::error ? "error" : "info", std::string(text));
    if (!to_client) return;
    write(protocol::to_json(protocol::Progress{fields_.job, std::string(step), std::string(text)}));
  }

  void write(const nlohmann::json& message) {
    if (!connected_) return;
    // The session coroutine is suspended while the job runs, so this thread is the socket's only
    // user. A vanished client must not stop the job: the write error just ends the reporting.
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(protocol::encode_frame(message)), ec);
    if (ec) connected_ = false;
  }

  state::Store& store_;
  socket_t& socket_;
  log::Fields fields_;
  bool connected_ = true;
  jobs::OutputLines lines_;
  std::string output_step_;
  std::size_t head_bytes_ = 0, tail_bytes_ = 0, dropped_bytes_ = 0;
  std::deque<std::string> tail_;
};

}  // namespace

namespace {
awaitable<void> refuse_busy(socket_t socket, uint32_t frame_limit) {
  Server::Session s(std::move(socket), frame_limit);
  co_await s.fail(exit_code::unavailable, "the server is busy; try again shortly");
}
}  // namespace

Server::Server(asio::io_context& io, const config::Config& config, jobs::Provisioner& provisioner,
               jobs::Queries& queries, auth::Authenticator& authenticator, auth::KeyBinding& keys, state::Store& store,
               request::DeployOptions deploy, deploy::GitRemote& git, audit::Trail& audit)
    : io_(io),
      config_(config),
      provisioner_(provisioner),
      queries_(queries),
      authenticator_(authenticator),
      keys_(keys),
      store_(store),
      deploy_(std::move(deploy)),
      git_(git),
      audit_(audit),
      quick_(2),
      jobs_(static_cast<size_t>(config.workers)),
      checks_(2),
      refresh_(1),
      throttle_(config.throttle),
      admission_({config.max_sessions, config.reserved_sessions, config.max_unauthenticated_per_source}),
      refusals_(config.refusal_log_interval) {
  resolve_peers();
  for (const auto& name : config.allowed_peers)
    if (!::getpwnam(name.c_str()))
      log::warn(fmt::format("allowed peer {} is not a local account yet; looked up again when it connects", name));
}

void Server::resolve_peers() {
  peers_resolved_at_ = std::chrono::steady_clock::now();
  allowed_uids_ = {0};
  account_uids_.clear();
  for (const auto& name : config_.allowed_peers) {
    if (const passwd* pw = ::getpwnam(name.c_str())) allowed_uids_.insert(pw->pw_uid);
  }
  for (const auto& account : auth::default_accounts())
    if (const passwd* pw = ::getpwnam(account.name.c_str()); pw && allowed_uids_.count(pw->pw_uid))
      account_uids_.insert(pw->pw_uid);
  // A fleet node's relay account: an entry's sessions arrive as it (and it may do nothing else).
  relay_uid_.reset();
  if (!config_.fleet.database.empty() && !config_.fleet.relay_account.empty())
    if (const passwd* pw = ::getpwnam(config_.fleet.relay_account.c_str()); pw && pw->pw_uid != 0) {
      relay_uid_ = pw->pw_uid;
      allowed_uids_.insert(pw->pw_uid);
    }
}

Result<std::string> Server::key_identity(uid_t uid, const std::string& session_key, const std::string& key_id) {
  const Error refused = make_error(Errc::auth_failed, "authentication failed");
  // Only sshd (through an ssh account) vouches for a session key; any other peer's claim is
  // ignored, or refused when it insists with a key id. Root is trusted anyway.
  if (uid != 0 && !account_uids_.count(uid)) return key_id.empty() ? Result<std::string>(std::string()) : refused;
  return keys_.user_of(session_key, key_id);
}

Server::~Server() { shutdown(); }

Status Server::listen(std::optional<int> activated) {
  boost::system::error_code ec;
  acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
  if (activated) {
    acceptor_->assign(asio::local::stream_protocol(), *activated, ec);
    if (ec) return make_error(Errc::io, fmt::format("cannot take the activated socket: {}", ec.message()));
    return {};
  }
  ::unlink(config_.socket_path.c_str());  // a stale socket from a previous run
  acceptor_->open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor_->bind(asio::local::stream_protocol::endpoint(config_.socket_path), ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::io, fmt::format("cannot listen on {}: {}", config_.socket_path, ec.message()));
  // Defence in depth besides SO_PEERCRED: only root and the group's members (the ssh accounts)
  // can connect at all.
  const group* g = config_.socket_group.empty() ? nullptr : ::getgrnam(config_.socket_group.c_str());
  if (g && ::chown(config_.socket_path.c_str(), 0, g->gr_gid) == 0) {
    ::chmod(config_.socket_path.c_str(), 0660);
  } else {
    log::warn(
        fmt::format("socket group {} does not exist (scripts/setup-sshd.sh makes it): the socket is 0666 and "
                    "only SO_PEERCRED keeps other local users out",
                    config_.socket_group));
    ::chmod(config_.socket_path.c_str(), 0666);
  }
  return {};
}

void Server::keep_throttle_state(auth::ThrottleRecords& records) {
  throttle_records_ = &records;
  const auto now = std::chrono::steady_clock::now();
  const int64_t wall =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const int64_t window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(config_.throttle.window).count();
  if (auto s = records.prune(wall - window_ms, wall); !s)
    log::warn(fmt::format("throttle state: {}", s.error().message));
  auto loaded = records.load();
  if (!loaded) {
    log::warn(fmt::format("throttle state not restored: {}", loaded.error().message));
    return;
  }
  const size_t taken = throttle_.restore(*loaded, now, wall);
  if (taken > 0) log::info(fmt::format("throttle: {} user or source entries restored from the state database", taken));
}

void Server::persist_throttle(const std::vector<std::string>& keys) {
  if (!throttle_records_) return;
  const auto now = std::chrono::steady_clock::now();
  const int64_t wall =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto entries = throttle_.entries_of(keys, now, wall);
  std::vector<std::string> gone;
  for (const auto& k : keys)
    if (std::none_of(entries.begin(), entries.end(), [&](const auto& e) { return e.key == k; })) gone.push_back(k);
  // SQLite may wait on a lock: never on the io thread. One strand keeps the writes in order.
  asio::post(throttle_strand_, [records = throttle_records_, entries = std::move(entries), gone = std::move(gone)] {
    if (auto s = records->save(entries); !s) log::warn(fmt::format("throttle state not saved: {}", s.error().message));
    for (const auto& k : gone)
      if (auto s = records->forget(k); !s) log::warn(fmt::format("throttle state not saved: {}", s.error().message));
  });
}

void Server::note_refusal(const std::string& source, const std::string& reason) {
  if (auto line = refusals_.record(source, reason, std::chrono::steady_clock::now())) log::warn(*line);
}

awaitable<void> Server::refusal_log_loop() {
  for (;;) {
    refusal_timer_->expires_at(refusals_.interval_end() > std::chrono::steady_clock::now()
                                   ? refusals_.interval_end()
                                   : std::chrono::steady_clock::now() + refusals_.interval());
    boost::system::error_code ec;
    co_await refusal_timer_->async_wait(asio::redirect_error(use_awaitable, ec));
    for (const auto& line : refusals_.flush(std::chrono::steady_clock::now())) log::warn(line);
    if (ec == asio::error::operation_aborted) co_return;
  }
}

void Server::start() {
  asio::co_spawn(io_, accept_loop(), LogEscapes{"the accept loop"});
  refusal_timer_ = std::make_unique<asio::steady_timer>(io_);
  asio::co_spawn(io_, refusal_log_loop(), LogEscapes{"the refusal log"});
}

void Server::shutdown() {
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
  }
  if (refusal_timer_) refusal_timer_->cancel();
  quick_.join();
  jobs_.join();
}

bool Server::peer_allowed(int fd, uid_t& uid) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  uid = cred.uid;
  if (allowed_uids_.count(cred.uid) > 0) return true;
  if (std::chrono::steady_clock::now() - peers_resolved_at_ < std::chrono::seconds(1)) return false;
  resolve_peers();
  return allowed_uids_.count(cred.uid) > 0;
}

awaitable<void> Server::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    socket_t socket = co_await acceptor_->async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      log::warn(fmt::format("accept failed: {}", ec.message()));
      continue;
    }
    uid_t uid = 0;
    if (!peer_allowed(socket.native_handle(), uid)) {
      // Closed before a byte is read: an unknown uid gets nothing to parse.
      note_refusal(fmt::format("uid {}", uid), "not an allowed peer");
      continue;
    }
    const auto ticket = admission_.accept();
    if (ticket == 0) {
      note_refusal(fmt::format("uid {}", uid), fmt::format("all {} sessions are taken", config_.max_sessions));
      asio::co_spawn(io_, refuse_busy(std::move(socket), config_.frame_limit), LogEscapes{"a refusal"});
      continue;
    }
    asio::co_spawn(io_, serve(std::move(socket), uid, ticket), LogEscapes{"a session"});
  }
}

audit::Event Server::event_of(audit::Kind kind, const Caller& caller, std::string actor, std::string target,
                              std::string result, std::string detail) {
  // The client address comes from the shell (sshd's SSH_CONNECTION): the peer uid is what the
  // kernel vouches for, so both are kept.
  return audit::Event{kind,
                      std::move(actor),
                      caller.client_addr.empty() ? "local" : "ssh " + caller.client_addr,
                      static_cast<int64_t>(caller.uid),
                      std::move(target),
                      std::move(result),
                      std::move(detail)};
}

bool Server::record_now(const audit::Event& event) {
  auto s = audit_.record(event);
  if (!s) log::error(fmt::format("{} not recorded: {}", audit::name(event.kind), s.error().message));
  return static_cast<bool>(s);
}

awaitable<std::optional<bool>> Server::record(const audit::Event& event) {
  return offload(quick_, [this, event] { return record_now(event); });
}

std::chrono::milliseconds Server::read_timeout(const Session& s) const {
  if (!s.auth_deadline) return config_.answer_timeout;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(*s.auth_deadline - std::chrono::steady_clock::now());
  return std::clamp<std::chrono::milliseconds>(left, std::chrono::milliseconds(1), config_.answer_timeout);
}

void Server::mark_authenticated(Session& s) {
  admission_.authenticated(s.ticket);
  s.auth_deadline.reset();
}

// The coroutines below take only references and trivial values: every object they share lives
// in serve()'s frame (see offload() for why nothing non-trivial is passed or made temporary
// across a co_await). Each returns false when it has ended the session (reply sent or client gone).

awaitable<void> Server::serve(socket_t socket, uid_t uid, limits::Admission::Ticket ticket) {
  ++active_sessions_;
  struct Guard {
    int& n;
    limits::Admission& admission;
    limits::Admission::Ticket ticket;
    ~Guard() {
      --n;
      admission.release(ticket);
    }
  } guard{active_sessions_, admission_, ticket};
  Session s(std::move(socket), config_.frame_limit);
  s.ticket = ticket;
  s.auth_deadline = std::chrono::steady_clock::now() + config_.auth_timeout;

  auto first = co_await s.read(read_timeout(s));
  if (!first) {
    if (first.error().code == Errc::invalid_argument) co_await s.fail(exit_code::protocol, first.error().message);
    if (first.error().code == Errc::timeout) note_refusal(fmt::format("uid {}", uid), "sent no hello in time");
    co_return;
  }
  auto hello = protocol::hello_from_json(*first);
  if (!hello) {
    co_await s.fail(exit_code::protocol, hello.error().message);
    co_return;
  }
  auto op = request::parse_operation(hello->op);
  if (!op) {
    co_await s.fail(exit_code::bad_input,
                    "operation: must be one of create, exists, delete, update, status, logs, list, info, app-logs");
    co_return;
  }
  s.legacy_exists = *op == request::Operation::exists;

  // Only the variables this operation accepts count, whatever the client sent.
  std::map<std::string, std::string> env;
  for (const auto& name : request::accepted_env(*op))
    if (auto it = hello->env.find(name); it != hello->env.end()) env[name] = it->second;
  s.env = env;

  request::DialogueOptions options;
  options.tty = hello->tty;
  options.distributions = config_.distribution_names();
  options.default_distribution = config_.default_distribution;
  options.default_http_port = config_.default_http_port;
  for (const auto& p : config_.protocols) options.protocols.push_back(p.name);
  options.key_contents_valid = auth::key_contents_valid;
  if (!hello->session_key.empty())
    if (auto key = request::check_public_key(hello->session_key, auth::key_contents_valid); key.ok())
      options.session_key = *key.value;
  options.args = hello->args;
  options.deploy = deploy_;

  Caller caller{uid, hello->client_addr, {}, false};
  // A session an entry relayed here: its identity is the entry's word, its answers are replayed.
  const bool relayed_here = relay_uid_ && uid == *relay_uid_;
  if (relayed_here) {
    if (!co_await bind_relayed_identity(s, *hello, caller, options.bound_user)) co_return;
  } else if (!hello->relay_user.empty()) {
    // Only a node's relay account carries an entry's word for who the user is.
    log::warn(fmt::format("uid {} asserted an identity it may not assert; refused", uid));
    co_await s.fail(exit_code::auth, "authentication failed");
    co_return;
  } else if (!co_await bind_key_identity(s, *hello, caller, options.bound_user)) {
    co_return;
  }
  if (!options.bound_user.empty()) {
    mark_authenticated(s);
  } else {
    // Nothing proved yet: counted under its source, within that source's share and outside the
    // places kept for authenticated users. A refusal is immediate and says why.
    s.source = limits::source_of(uid, uid == 0 || account_uids_.count(uid) > 0, hello->client_addr);
    if (const auto verdict = admission_.unauthenticated(ticket, s.source); verdict != limits::Verdict::admitted) {
      const std::string text(limits::refusal_text(verdict));
      note_refusal(s.source, text);
      co_await s.fail(exit_code::unavailable, text);
      co_return;
    }
  }
  request::Dialogue dialogue(*op, options, std::move(env));
  if (!co_await converse(s, *op, dialogue, caller)) co_return;

  // A relayed session must have taken exactly the answers the entry kept: any other number means
  // this node asked other questions (its config differs), so the request may differ too.
  if (relayed_here && static_cast<int>(s.answers.size()) != hello->relay_answers) {
    const std::string why = fmt::format(
        "the entry's dialogue kept {} answers and this node's {}: their configurations differ; nothing was made",
        hello->relay_answers, s.answers.size());
    log::warn(why);
    co_await s.fail(exit_code::internal, why);
    co_return;
  }
  request::Request req = dialogue.take_request();
  req.admin = caller.admin;
  for (const auto& note : req.notes) {
    co_await s.notice(note);
    if (!s.sent()) co_return;
  }
  // An entry sends the session on to the node it belongs to (a session relayed here stays here).
  if (config_.fleet.entry.enabled && nodes_ != nullptr && !relayed_here) {
    std::optional<state::NodeRecord> target;
    if (!co_await route(s, *op, req, target)) co_return;
    if (target) {
      // The node runs the same dialogue on the same variables, and the relay replays the answers
      // (relay.cpp), as the user the entry proved: it needs neither the name nor the password.
      protocol::Hello relayed;
      relayed.op = hello->op;
      relayed.tty = hello->tty;
      relayed.args = hello->args;
      relayed.session_key = hello->session_key;  // the default PUBLIC_KEY, not an identity there
      relayed.client_addr = hello->client_addr;
      relayed.relay_user = req.username;
      // A variable the user answered (its given value refused, or asked for) is asked again there
      // and gets the kept answers; the others arrive as given.
      relayed.env = s.env;
      for (const auto& [field, value] : s.answers) relayed.env.erase(field);
      for (const char* unused : {"PROXMOX_PASSWORD", "PROXMOX_USERNAME", "CONTAINER_PASSWORD"})
        relayed.env.erase(unused);
      relayed.relay_answers = static_cast<int>(s.answers.size());
      // A create counts on its node until it ends, for placement (Server::placed_).
      struct Placed {
        std::map<std::string, int>* counts;
        std::string node;
        ~Placed() {
          if (counts != nullptr) --(*counts)[node];
        }
      } placed{*op == request::Operation::create ? &placed_ : nullptr, target->name};
      if (placed.counts != nullptr) ++placed_[target->name];
      co_await relay(s, *target, relayed);
      co_return;
    }
  }
  co_await run_operation(s, *op, req, caller);
}

awaitable<bool> Server::bind_key_identity(Session& s, const protocol::Hello& hello, Caller& caller,
                                          std::string& bound_user) {
  // Key-bound identity: the user comes from the daemon's key registry, never from the client.
  auto lookup = [this, uid = caller.uid, key = hello.session_key, key_id = hello.key_id] {
    return key_identity(uid, key, key_id);
  };
  auto bound = co_await offload(quick_, std::move(lookup));
  auto& who = *bound;
  if (!who) {
    log::warn(fmt::format("key-bound session refused: {}", who.error().message));
    auto refused = event_of(audit::Kind::auth_key, caller, "", "",
                            who.error().code == Errc::auth_failed ? "failure" : "unavailable", who.error().message);
    co_await record(refused);
    co_await s.fail(exit_code_for(who.error().code), who.error().code == Errc::auth_failed
                                                         ? "authentication failed"
                                                         : "authentication is unavailable right now; try again later");
    co_return false;
  }
  bound_user = *who;
  if (bound_user.empty()) co_return true;  // no registered key: the password dialogue decides
  if (!co_await resolve_access(s, bound_user, caller)) co_return false;
  log::write(log::Level::info, log::Fields{"", "", bound_user, ""}, "identity bound by ssh key");
  auto bound_event = event_of(audit::Kind::auth_key, caller, bound_user, "", "success");
  co_await record(bound_event);
  co_return true;
}

awaitable<bool> Server::resolve_access(Session& s, const std::string& user, Caller& caller) {
  // Who the caller is beyond the name: groups (directory + config) and admin rights.
  auto resolve = [this, user]() -> Result<std::vector<std::string>> {
    std::vector<std::string> directory;
    if (auth::needs_groups(config_.access)) {
      auto g = authenticator_.groups(user);
      if (!g) return g.error();
      directory = std::move(*g);
    }
    return auth::groups_of(config_.access, user, directory);
  };
  auto found = co_await offload(quick_, std::move(resolve));
  auto& g = *found;
  if (!g) {
    log::error(fmt::format("group lookup failed: {}", g.error().message));
    co_await s.fail(exit_code::unavailable, "authentication is unavailable right now; try again later");
    co_return false;
  }
  caller.groups = std::move(*g);
  caller.admin = auth::is_admin(config_.access, user, caller.groups);
  co_return true;
}

awaitable<bool> Server::converse(Session& s, request::Operation op, request::Dialogue& dialogue, Caller& caller) {
  for (;;) {
    request::Step step = dialogue.next();
    switch (step.kind) {
      case request::Step::done:
        co_return true;
      case request::Step::failed: {
        std::vector<std::string> lines;
        for (const auto& e : step.errors) lines.push_back(request::format(e));
        log::write(log::Level::info, {"", dialogue.request().container_name, dialogue.request().username, ""},
                   fmt::format("{} refused: {}", request::to_string(op), lines.empty() ? "" : lines.front()));
        co_await s.finish(exit_code_for(step.error_class), lines);
        co_return false;
      }
      case request::Step::prompt:
        if (!co_await ask(s, step, dialogue)) co_return false;
        break;
      case request::Step::authenticate:
        if (!co_await authenticate(s, dialogue, caller)) co_return false;
        break;
      case request::Step::check_name: {
        if (op == request::Operation::exists) {
          // Free, yours and someone else's are all answers here (Queries::exists).
          dialogue.set_name_available(true);
          break;
        }
        const auto& req = dialogue.request();
        auto lookup = [this, create = op == request::Operation::create, user = req.username, name = req.container_name,
                       admin = caller.admin] {
          return create ? queries_.name_free(name) : queries_.may_manage(user, admin, name);
        };
        auto found = co_await offload(quick_, std::move(lookup));
        auto& ok = *found;
        if (!ok) {
          co_await s.fail(exit_code::internal, ok.error().message);
          co_return false;
        }
        if (!*ok) s.drop_last_answer("CONTAINER_NAME");
        dialogue.set_name_available(*ok);
        break;
      }
      case request::Step::check_repository:
        if (!co_await check_repository(s, op, dialogue)) co_return false;
        break;
    }
  }
}

awaitable<bool> Server::check_repository(Session& s, request::Operation op, request::Dialogue& dialogue) {
  const auto& req = dialogue.request();
  // What would be deployed: a create's values, or an update's merged over what is stored.
  auto what = [this, op, name = req.container_name, given = req.deploy,
               which = req.deploy_given]() -> Result<std::optional<deploy::DeploySpec>> {
    if (op != request::Operation::update) return given;
    auto stored = queries_.deployment(name);
    if (!stored) return stored.error();
    if (!given) return *stored;
    auto merged = deploy::merge(stored->value_or(deploy::DeploySpec{}), *given, which);
    if (!merged) return merged.error();
    return std::optional<deploy::DeploySpec>(std::move(*merged));
  };
  auto found = co_await offload(quick_, std::move(what));
  auto& spec = *found;
  if (!spec) {
    if (spec.error().code != Errc::invalid_argument) {
      co_await s.fail(exit_code::internal, spec.error().message);
      co_return false;
    }
    // deploy::merge names the variable first: "START_COMMAND: is required".
    const auto& m = spec.error().message;
    const auto colon = m.find(": ");
    s.drop_last_answer(colon == std::string::npos ? "PROJECT_REPOSITORY" : m.substr(0, colon));
    dialogue.set_repository_checked(colon == std::string::npos
                                        ? request::FieldError{"PROJECT_REPOSITORY", m}
                                        : request::FieldError{m.substr(0, colon), m.substr(colon + 2)},
                                    "", "");
    co_return true;
  }
  if (!*spec) {  // an update of a container with nothing deployed and nothing given
    dialogue.set_repository_checked(std::nullopt, "", "");
    co_return true;
  }
  deploy::CheckRequest check{(*spec)->repository, (*spec)->branch, (*spec)->root, {}, req.deploy_secrets.git_token};
  for (const auto& c : (*spec)->components) check.components.push_back(c.path);
  auto run = [this, check = std::move(check)] { return git_.check(check); };
  auto checked = co_await offload(checks_, std::move(run));
  auto& r = *checked;
  if (!r) {
    const auto& e = r.error();
    log::write(log::Level::info, {"", req.container_name, req.username, ""},
               fmt::format("repository check failed: {}", e.message()));
    if (e.field == deploy::CheckField::none) {
      // The host's or the server's fault, not the request's: nothing to ask again.
      co_await s.fail(exit_code_for(e.code()), e.message());
      co_return false;
    }
    s.drop_last_answer(std::string(e.variable()));
    dialogue.set_repository_checked(request::FieldError{e.variable(), e.reason}, "", "");
    co_return true;
  }
  co_await s.notice(fmt::format("repository: {} at {}", r->branch, r->commit.substr(0, 12)));
  if (!s.sent()) co_return false;
  dialogue.set_repository_checked(std::nullopt, r->branch, r->commit);
  co_return true;
}

awaitable<bool> Server::ask(Session& s, const request::Step& step, request::Dialogue& dialogue) {
  for (const auto& e : step.errors) {
    const std::string line = request::format(e);
    co_await s.notice(line);
    if (!s.sent()) co_return false;
  }
  co_await s.prompt(step.question);
  if (!s.sent()) co_return false;
  auto reply = co_await s.read(read_timeout(s));
  if (!reply) {
    // Gone or silent: nothing was reserved, nothing to undo. Silent before authenticating is
    // what a slow attack looks like: said to the client, counted in the log.
    if (reply.error().code == Errc::timeout && s.auth_deadline) {
      const std::string text = fmt::format("not authenticated within {} s; disconnected", config_.auth_timeout.count());
      note_refusal(s.source.empty() ? "an unknown source" : s.source, text);
      co_await s.fail(exit_code::unavailable, text);
    }
    co_return false;
  }
  auto answer = protocol::answer_from_json(*reply);
  if (!answer) {
    co_await s.fail(exit_code::protocol, answer.error().message);
    co_return false;
  }
  // The answer as the dialogue will keep it, for an entry that replays the dialogue on a node.
  const std::string& field = step.question.field;
  const std::string kept = answer->value.empty() ? step.question.default_value : answer->value;
  auto err = dialogue.answer(std::move(answer->value));
  if (!err && field != "PROXMOX_USERNAME" && field != "PROXMOX_PASSWORD") s.answers.emplace_back(field, kept);
  if (err) {
    const std::string line = request::format(*err);
    co_await s.notice(line);
    if (!s.sent()) co_return false;
  }
  co_return true;
}

awaitable<bool> Server::authenticate(Session& s, request::Dialogue& dialogue, Caller& caller) {
  const auto& req = dialogue.request();
  // Brute force: counted per user (whether it exists or not) and per ssh client address.
  std::vector<std::string> keys{"user:" + req.username};
  if (!caller.client_addr.empty()) keys.push_back("src:" + caller.client_addr);
  if (auto left = throttle_.locked_for(keys, std::chrono::steady_clock::now()); left.count() > 0) {
    // Counted, not a line each: guessing on against a lockout must not fill the log either.
    note_refusal(s.source.empty() ? fmt::format("uid {}", caller.uid) : s.source,
                 fmt::format("password attempts while locked out (user {})", req.username));
    auto locked = event_of(audit::Kind::auth_password, caller, req.username, "", "locked",
                           fmt::format("locked out for {} s", left.count()));
    co_await record(locked);
    const std::string refusal =
        fmt::format("authentication failed: too many failed attempts; try again in {} s", left.count());
    co_await s.fail(exit_code::auth, refusal);
    co_return false;
  }
  auto check = [this, user = req.username, pw = req.password] { return authenticator_.verify(user, pw); };
  auto verdict = co_await offload(quick_, std::move(check));
  auto& ok = *verdict;
  if (!ok) {
    log::error(fmt::format("authentication backend failed: {}", ok.error().message));
    auto unavailable = event_of(audit::Kind::auth_password, caller, req.username, "", "unavailable");
    co_await record(unavailable);
    co_await s.fail(exit_code::unavailable, "authentication is unavailable right now; try again later");
    co_return false;
  }
  auto verdict_event = event_of(audit::Kind::auth_password, caller, req.username, "", *ok ? "success" : "failure");
  co_await record(verdict_event);
  if (*ok) {
    throttle_.record_success(keys.front(), std::chrono::steady_clock::now());
    persist_throttle({keys.front()});
    mark_authenticated(s);
    if (!co_await resolve_access(s, req.username, caller)) co_return false;
  } else {
    log::write(log::Level::warn, log::Fields{"", "", req.username, ""},
               fmt::format("authentication failed (source {})", caller.client_addr));
    const auto delay = throttle_.record_failure(keys, std::chrono::steady_clock::now());
    persist_throttle(keys);
    if (delay.count() > 0) {
      // The answer waits on a timer, not a thread: a flood of guesses ties up nothing.
      asio::steady_timer pause(s.socket.get_executor());
      pause.expires_after(delay);
      boost::system::error_code ignored;
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ignored));
    }
  }
  dialogue.set_authenticated(*ok);
  co_return true;
}

awaitable<void> Server::run_operation(Session& s, request::Operation op, request::Request& req, Caller& caller) {
  if (op == request::Operation::create) {
    auto admit = [this, user = req.username, groups = caller.groups, admin = caller.admin, dist = req.distribution] {
      return queries_.admit_create(user, groups, admin, dist);
    };
    auto admitted = co_await offload(quick_, std::move(admit));
    auto& a = *admitted;
    if (!a) {
      log::write(log::Level::info, {"", req.container_name, req.username, ""},
                 fmt::format("create refused: {}", a.error().message));
      auto refused = event_of(audit::Kind::create_accepted, caller, req.username, req.container_name, "refused",
                              a.error().message);
      co_await record(refused);
      co_await s.fail(exit_code_for(a.error().code), a.error().message);
      co_return;
    }
  }
  jobs::Outcome outcome;
  if (op == request::Operation::create || op == request::Operation::destroy || op == request::Operation::update) {
    const std::string job_id = jobs::new_job_id();
    const state::JobKind kind = op == request::Operation::create   ? state::JobKind::create
                                : op == request::Operation::update ? state::JobKind::update
                                                                   : state::JobKind::destroy;
    const audit::Kind accepted_kind = op == request::Operation::create   ? audit::Kind::create_accepted
                                      : op == request::Operation::update ? audit::Kind::update_accepted
                                                                         : audit::Kind::delete_accepted;
    const audit::Kind finished_kind = op == request::Operation::create   ? audit::Kind::create_finished
                                      : op == request::Operation::update ? audit::Kind::update_finished
                                                                         : audit::Kind::delete_finished;
    // Nothing changes unrecorded: the acceptance is in the trail before the job exists, and a
    // job whose acceptance cannot be recorded is refused.
    auto accepted_event =
        event_of(accepted_kind, caller, req.username, req.container_name, "accepted", "job " + job_id);
    if (!*co_await record(accepted_event)) {
      co_await s.fail(exit_code::unavailable, "the audit trail cannot be written; nothing was changed");
      co_return;
    }
    // The store blocks (a busy timeout of seconds under contention): never on the io thread.
    auto make_row = [this, job = state::JobRecord{job_id, kind, req.container_name, req.username,
                                                  state::JobState::pending, "", 0, "", 0, 0}]() mutable {
      job.created_at = job.updated_at =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      return store_.create_job(job);
    };
    auto recorded = co_await offload(quick_, std::move(make_row));
    if (auto& c = *recorded; !c) {
      auto lost = event_of(finished_kind, caller, req.username, req.container_name, "failed",
                           "job " + job_id + " could not be recorded: " + c.error().message);
      co_await record(lost);
      co_await s.fail(exit_code::internal, c.error().message);
      co_return;
    }
    log::write(log::Level::info, {job_id, req.container_name, req.username, ""},
               fmt::format("{} accepted", request::to_string(op)));
    const std::string accepted = fmt::format("job {} accepted; it finishes even if you disconnect", job_id);
    co_await s.progress(job_id, accepted);
    if (!s.sent())
      log::write(log::Level::info, {job_id, req.container_name, req.username, ""}, "client left; job goes on");
    // From here the job runs to its end whatever the client does.
    audit::Event finished = event_of(finished_kind, caller, req.username, req.container_name, "", "job " + job_id);
    auto job = [this, &s, req = std::move(req), job_id, op, finished = std::move(finished)]() mutable {
      SessionReporter reporter(store_, s.socket, {job_id, req.container_name, req.username, ""},
                               config_.deploy.max_output_bytes);
      auto o = op == request::Operation::create   ? provisioner_.create(req, job_id, reporter)
               : op == request::Operation::update ? provisioner_.update(req, job_id, reporter)
                                                  : provisioner_.destroy(req, job_id, reporter);
      log::write(o.exit_code == 0 ? log::Level::info : log::Level::error,
                 {job_id, req.container_name, req.username, ""},
                 fmt::format("{} finished with exit code {}", request::to_string(op), o.exit_code));
      finished.result = fmt::format("exit {}", o.exit_code);
      record_now(finished);
      return o;
    };
    outcome = std::move(*co_await offload(jobs_, std::move(job)));
  } else {
    auto query = [this, req = std::move(req), op] {
      switch (op) {
        case request::Operation::exists:
          return queries_.exists(req);
        case request::Operation::list:
          return queries_.list(req);
        case request::Operation::status:
          return queries_.status(req);
        case request::Operation::info:
          return queries_.info(req);
        case request::Operation::app_logs:
          return queries_.app_logs(req);
        default:
          return queries_.logs(req);
      }
    };
    outcome = std::move(*co_await offload(quick_, std::move(query)));
    if (op == request::Operation::exists) {
      co_await s.answer_exists(outcome.exit_code, outcome.lines);
      co_return;
    }
  }
  co_await s.finish(outcome.exit_code, outcome.lines);
}

}  // namespace lxcprov::server
