// The audit trail through the real thing: a failed login, a create and a delete over the real sshd
// land in the trail with the right actor, source and peer uid; `lxcprovctl audit verify` passes;
// no password is in it; and a copy with one line edited by hand fails verification naming that
// entry. (The chain's rules are unit-tested in tests/unit/audit_chain_test.cpp; the appender in
// tests/component/audit_trail_test.cpp.)

#include <pwd.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol/messages.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

std::vector<nlohmann::json> entries(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line, nullptr, false));
  return out;
}

// The last entry of `event` whose `field` is `value`.
std::optional<nlohmann::json> find(const std::vector<nlohmann::json>& all, const std::string& event,
                                   const std::string& field, const std::string& value) {
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->is_object() && (*it)["event"] == event && (*it)[field] == value) return *it;
  return std::nullopt;
}

ProcResult verify(const std::string& config) {
  return run({world().build_dir + "/helpers/lxcprovctl", "--config", config, "audit", "verify"});
}

TEST(Audit, LoginsCreatesAndDeletesAreInAVerifiableTrailAndAnEditIsNamed) {
  const World& w = world();
  const std::string stranger = "audit" + std::to_string(w.pid);
  const std::string name = w.prefix + "audit";

  // A failed login (an unknown user: the throttle counts it, but one failure locks nothing).
  Env wrong = credentials(stranger, "Not-the-password-1");
  wrong["CONTAINER_NAME"] = name;
  auto refused = ssh_call("delete-container", wrong);
  ASSERT_NE(refused.exit_code, 0) << refused.out << refused.err;

  auto made = create("alice", name);
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  auto gone = destroy("alice", name);
  ASSERT_EQ(gone.exit_code, 0) << gone.out << gone.err;

  const auto all = entries(w.audit_log);
  ASSERT_FALSE(all.empty()) << w.audit_log;
  // getpwnam's result is overwritten by the next call: keep the uids.
  auto uid_of = [](const char* account) -> int64_t {
    const passwd* pw = ::getpwnam(account);
    return pw ? static_cast<int64_t>(pw->pw_uid) : -1;
  };
  const int64_t create_uid = uid_of("create-container"), delete_uid = uid_of("delete-container");
  ASSERT_TRUE(create_uid >= 0 && delete_uid >= 0);

  auto failed = find(all, "auth.password", "actor", stranger);
  ASSERT_TRUE(failed) << "no auth.password entry for " << stranger;
  EXPECT_EQ((*failed)["result"], "failure");
  EXPECT_EQ((*failed)["uid"], delete_uid);
  // sshd's SSH_CONNECTION, relayed by the shell: this test's client is local.
  const std::string source = (*failed)["source"];
  EXPECT_TRUE(source == "ssh 127.0.0.1" || source == "ssh ::1") << source;

  auto accepted = find(all, "create.accepted", "target", name);
  ASSERT_TRUE(accepted);
  EXPECT_EQ((*accepted)["actor"], "alice");
  EXPECT_EQ((*accepted)["result"], "accepted");
  EXPECT_EQ((*accepted)["source"], source);
  EXPECT_EQ((*accepted)["uid"], create_uid);
  const std::string job = (*accepted)["detail"];
  ASSERT_EQ(job.rfind("job ", 0), 0u) << job;
  EXPECT_NE(made.out.find(job.substr(4)), std::string::npos) << "the create's own job id: " << made.out;

  auto created = find(all, "create.finished", "target", name);
  ASSERT_TRUE(created);
  EXPECT_EQ((*created)["actor"], "alice");
  EXPECT_EQ((*created)["result"], "exit 0");
  EXPECT_GT((*created)["seq"].get<uint64_t>(), (*accepted)["seq"].get<uint64_t>());

  auto delete_accepted = find(all, "delete.accepted", "target", name);
  auto deleted = find(all, "delete.finished", "target", name);
  ASSERT_TRUE(delete_accepted && deleted);
  EXPECT_EQ((*deleted)["actor"], "alice");
  EXPECT_EQ((*deleted)["result"], "exit 0");
  EXPECT_EQ((*deleted)["uid"], delete_uid);
  ASSERT_TRUE(find(all, "auth.password", "actor", "alice"));
  // lxcprovctl's changes (the world's user add and template seal) are in the same chain.
  ASSERT_TRUE(find(all, "user.add", "target", "alice"));
  ASSERT_TRUE(find(all, "template.seal", "target", "tpl-busybox"));

  const std::string text = read_text(w.audit_log);
  for (const std::string& secret : {w.alice_password, w.bob_password, std::string("Not-the-password-1")})
    EXPECT_EQ(text.find(secret), std::string::npos) << "a password is in the audit trail";

  auto ok = verify(w.config);
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("ok: "), std::string::npos) << ok.out;

  // Edit one line of a copy by hand (the shared trail stays intact for the other tests): the
  // create's acceptance now claims bob did it.
  const std::string dir = w.tmp + "/audit-edited";
  fs::create_directories(dir);
  const uint64_t seq = (*accepted)["seq"];
  {
    std::ifstream in(w.audit_log);
    std::ofstream out(dir + "/audit.log");
    uint64_t n = 0;
    for (std::string line; std::getline(in, line);) {
      if (++n == seq) line.replace(line.find("\"actor\":\"alice\""), 15, "\"actor\":\"bob\"");
      out << line << "\n";
    }
  }
  auto cfg = nlohmann::json::parse(read_text(w.config));
  cfg["audit_log"] = dir + "/audit.log";
  std::ofstream(dir + "/lxcprovd.json") << cfg.dump(2) << "\n";
  auto bad = verify(dir + "/lxcprovd.json");
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  const std::string named = "entry " + std::to_string(seq) + " (line " + std::to_string(seq) + ") was changed";
  EXPECT_NE(bad.out.find(named), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("FAILED: 1 finding"), std::string::npos) << bad.out;
}

// A job a crash interrupted gets its finished entry from the next start's recovery. A daemon of
// its own (socket, state, trail and a slice of the pool), killed right after it accepted a create.
TEST(Audit, AJobInterruptedByACrashIsRecordedAsFinishedByRecovery) {
  World& w = world();
  const std::string dir = w.tmp + "/audit-crash", config = dir + "/lxcprovd.json", socket = w.tmp + "/audit.sock";
  fs::create_directories(dir + "/state");
  auto cfg = nlohmann::json::parse(read_text(w.config));
  cfg["socket"] = socket;
  cfg["database"] = dir + "/state/state.db";
  cfg["audit_log"] = dir + "/audit/audit.log";
  cfg["network"]["first"] = w.net + "231";
  cfg["network"]["last"] = w.net + "240";
  cfg["ctid_min"] = 9500;
  std::ofstream(config) << cfg.dump(2) << "\n";
  pid_t daemon = start_daemon(config, socket, dir + "/lxcprovd.log");
  ASSERT_GT(daemon, 0) << read_text(dir + "/lxcprovd.log");
  auto sealed = seal_template(config, "tpl-busybox");
  ASSERT_EQ(sealed.exit_code, 0) << sealed.out << sealed.err;

  const std::string name = w.prefix + "audit-crash";
  std::string job;
  {
    SocketClient c(socket);
    ASSERT_TRUE(c.connected());
    protocol::Hello hello;
    hello.op = "create";
    hello.env = create_vars("alice", name);
    ASSERT_TRUE(c.send(protocol::to_json(hello)));
    while (job.empty()) {
      auto msg = c.read(60s);
      ASSERT_TRUE(msg) << read_text(dir + "/lxcprovd.log");
      ASSERT_NE(msg->value("type", ""), "final") << msg->dump();
      job = job_id_in(msg->dump());
    }
    ::kill(daemon, SIGKILL);  // the job has just begun
  }
  stop_process(daemon);
  daemon = start_daemon(config, socket, dir + "/lxcprovd.log");
  ASSERT_GT(daemon, 0) << read_text(dir + "/lxcprovd.log");
  stop_process(daemon);

  const auto all = entries(dir + "/audit/audit.log");
  auto accepted = find(all, "create.accepted", "detail", "job " + job);
  ASSERT_TRUE(accepted) << "job " << job;
  auto finished = find(all, "create.finished", "target", name);
  ASSERT_TRUE(finished);
  EXPECT_EQ((*finished)["source"], "recovery");
  EXPECT_EQ((*finished)["actor"], "alice");
  EXPECT_NE((*finished)["detail"].get<std::string>().find("job " + job + ": interrupted by a daemon restart"),
            std::string::npos)
      << (*finished)["detail"];
  EXPECT_FALSE(container_dir_exists(name));
  auto cfg_ok = verify(config);
  EXPECT_EQ(cfg_ok.exit_code, 0) << cfg_ok.out;
}

}  // namespace
}  // namespace lxcprov::it
