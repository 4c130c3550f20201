#pragma once
// Server: the Unix socket lxcprov-shell and lxcprovctl talk to. One io_context thread runs every
// session as a coroutine (prompts, answers, progress); blocking work (password checks, SQLite,
// liblxc) runs on two thread pools and posts its result back: `quick` for short lookups and
// `jobs` (config.workers threads) for creates and deletes, so jobs beyond the pool's size wait in
// line instead of overloading the host. Peers are checked with SO_PEERCRED before any byte is read.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <sys/types.h>

#include "audit/trail.hpp"
#include "auth/authenticator.hpp"
#include "auth/key_binding.hpp"
#include "auth/key_registry.hpp"
#include "auth/throttle.hpp"
#include "common/asio.hpp"
#include "config/config.hpp"
#include "deploy/git_remote.hpp"
#include "jobs/provisioner.hpp"
#include "jobs/queries.hpp"
#include "limits/admission.hpp"
#include "limits/refusal_log.hpp"
#include "protocol/messages.hpp"
#include "request/dialogue.hpp"
#include "state/node_registry.hpp"
#include "state/store.hpp"

namespace lxcprov::server {

class Server {
 public:
  /// `deploy`: what the request checks need of the deploy config and catalogs (enabled false:
  /// every deploy value is refused); `git`: the pre-create repository check; `audit`: where every
  /// authentication result and job boundary is recorded (a job is refused when its acceptance
  /// cannot be recorded).
  Server(asio::io_context& io, const config::Config& config, jobs::Provisioner& provisioner, jobs::Queries& queries,
         auth::Authenticator& authenticator, auth::KeyBinding& keys, state::Store& store, request::DeployOptions deploy,
         deploy::GitRemote& git, audit::Trail& audit);
  ~Server();

  /// Binds the socket (replacing a stale one), mode 0660 with group `socket_group` (the ssh
  /// accounts'); SO_PEERCRED still decides who is served. `activated`: a listening socket passed
  /// by systemd (lxcprovd.socket), taken as it is: its path, mode and group are the unit's.
  Status listen(std::optional<int> activated = std::nullopt);
  /// Keeps the throttle's state in `records` from now on, after taking back what it holds (a
  /// restart forgets no failure and lifts no lockout). Before start().
  void keep_throttle_state(auth::ThrottleRecords& records);
  /// A fleet node's registry (docs/architecture.md, "Fleet"): with fleet.entry on, creates are
  /// placed on nodes and sessions whose container is on another node are relayed there. Before
  /// start().
  void serve_fleet(state::NodeRegistry& nodes) { nodes_ = &nodes; }
  /// Starts accepting; returns at once.
  void start();
  /// Stops accepting and waits for running jobs to finish.
  void shutdown();

  int active_sessions() const { return active_sessions_; }

  struct Session;

 private:
  asio::awaitable<void> accept_loop();
  /// Logs the counts of refused connections once an interval (limits::RefusalLog).
  asio::awaitable<void> refusal_log_loop();
  /// A refused connection, logged through the rate limit.
  void note_refusal(const std::string& source, const std::string& reason);
  /// After a failure or success on the io thread: the changed throttle entries, saved off it.
  void persist_throttle(const std::vector<std::string>& keys);
  /// Who is asking, as the session learns it.
  struct Caller {
    uid_t uid = 0;
    std::string client_addr;          ///< advisory (from the shell): keys the throttle only
    std::vector<std::string> groups;  ///< directory + config groups, once the identity is known
    bool admin = false;
  };

  asio::awaitable<void> serve(asio::local::stream_protocol::socket socket, uid_t uid, limits::Admission::Ticket ticket);
  /// Identity proved (registered key or checked password): out of the unauthenticated counts,
  /// and prompts wait answer_timeout again instead of the authentication deadline.
  void mark_authenticated(Session& s);
  /// How long the next read may wait: answer_timeout, or what is left of the authentication deadline.
  std::chrono::milliseconds read_timeout(const Session& s) const;
  asio::awaitable<bool> bind_key_identity(Session& s, const protocol::Hello& hello, Caller& caller,
                                          std::string& bound_user);
  asio::awaitable<bool> resolve_access(Session& s, const std::string& user, Caller& caller);
  asio::awaitable<bool> converse(Session& s, request::Operation op, request::Dialogue& dialogue, Caller& caller);
  asio::awaitable<bool> ask(Session& s, const request::Step& step, request::Dialogue& dialogue);
  asio::awaitable<bool> authenticate(Session& s, request::Dialogue& dialogue, Caller& caller);
  /// Step::check_repository: git asked about the repository, branch and paths the request (an
  /// update: merged over the stored deployment) would deploy.
  asio::awaitable<bool> check_repository(Session& s, request::Operation op, request::Dialogue& dialogue);
  asio::awaitable<void> run_operation(Session& s, request::Operation op, request::Request& req, Caller& caller);
  /// A fleet entry (relay.cpp): the node `req` must run on, into `target`; left empty for this
  /// node. False when it has answered the session itself (no node can take it, its node is down).
  asio::awaitable<bool> route(Session& s, request::Operation op, const request::Request& req,
                              std::optional<state::NodeRecord>& target);
  /// Runs the session on `node` through its relay account and passes every frame back to the
  /// client, until the node's final message (relay.cpp).
  asio::awaitable<void> relay(Session& s, const state::NodeRecord& node, const protocol::Hello& hello);
  /// A session from the relay account: its identity is the entry's relay_user.
  asio::awaitable<bool> bind_relayed_identity(Session& s, const protocol::Hello& hello, Caller& caller,
                                              std::string& bound_user);
  /// The user the session's key is registered to, "" for none (password flow), or an error:
  /// auth_failed when the key id and the key disagree or the key is no longer registered.
  Result<std::string> key_identity(uid_t uid, const std::string& session_key, const std::string& key_id);
  bool peer_allowed(int fd, uid_t& uid);
  /// Records an audit event on the quick pool (it syncs a file: never on the io thread). Not a
  /// coroutine, and it takes the event by reference (a copy travels in the pool's lambda): see
  /// offload() in server.cpp for why no co_await expression may hold a non-trivial temporary.
  /// Failures are logged; the result says whether it was recorded.
  asio::awaitable<std::optional<bool>> record(const audit::Event& event);
  /// The same, on the calling thread (a job's own pool thread).
  bool record_now(const audit::Event& event);
  static audit::Event event_of(audit::Kind kind, const Caller& caller, std::string actor, std::string target,
                               std::string result, std::string detail = "");
  /// Looks the allowed account names up again (the ssh accounts may be made after the daemon
  /// starts); at most once a second, so unknown peers cannot make every connection cost a lookup.
  void resolve_peers();

  asio::io_context& io_;
  const config::Config& config_;
  jobs::Provisioner& provisioner_;
  jobs::Queries& queries_;
  auth::Authenticator& authenticator_;
  auth::KeyBinding& keys_;
  state::Store& store_;
  request::DeployOptions deploy_;
  deploy::GitRemote& git_;
  audit::Trail& audit_;
  asio::thread_pool quick_;
  asio::thread_pool jobs_;
  asio::thread_pool checks_;  ///< repository checks: seconds of network each, off the quick lookups
  /// A fleet entry's refresh of forwards and routes after a relayed job (nginx -t and a reload,
  /// nft): off the quick lookups, one at a time.
  asio::thread_pool refresh_;
  asio::strand<asio::thread_pool::executor_type> throttle_strand_{quick_.get_executor()};  ///< throttle saves, in order
  std::unique_ptr<asio::local::stream_protocol::acceptor> acceptor_;
  std::set<uid_t> allowed_uids_;
  std::set<uid_t> account_uids_;    ///< the ssh accounts: the only peers whose session key is believed
  std::optional<uid_t> relay_uid_;  ///< fleet.relay_account's: the only peer that may assert an identity
  state::NodeRegistry* nodes_ = nullptr;
  std::chrono::steady_clock::time_point peers_resolved_at_{};
  auth::Throttle throttle_;
  auth::ThrottleRecords* throttle_records_ = nullptr;
  // Touched only on the io thread:
  int active_sessions_ = 0;
  limits::Admission admission_;
  limits::RefusalLog refusals_;
  std::unique_ptr<asio::steady_timer> refusal_timer_;
  /// A fleet entry's creates placed on each node and not yet ended: placement counts them with the
  /// node's containers, so a burst spreads instead of piling onto the node that looked emptiest.
  std::map<std::string, int> placed_;
};

}  // namespace lxcprov::server
