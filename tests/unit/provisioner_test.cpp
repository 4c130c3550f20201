// The create and delete plans with every network feature, against recording fakes of the edges
// (tests/fakes/): each plan as the recorded sequence of calls, then a failure injected at each
// call (the job rolls back and leaves nothing: no container, no row, no rule, no route), then a
// crash injected at each call (the job stops mid-plan as a killed daemon's would; recovery at the
// next start finishes or undoes it and records what really happened).

#include <gtest/gtest.h>

#include "../fakes/call_log.hpp"
#include "../fakes/fake_template_seals.hpp"
#include "../fakes/memory_store.hpp"
#include "../fakes/recording_edges.hpp"
#include "forwarding/forwarding_feature.hpp"
#include "isolation/isolation_feature.hpp"
#include "jobs/provisioner.hpp"
#include "routing/routing_feature.hpp"

namespace lxcprov::jobs {
namespace {

using testing::CallLog;
using Strings = std::vector<std::string>;

class Silent : public Reporter {
 public:
  void step_started(std::string_view) override {}
  void step_finished(std::string_view step, std::chrono::microseconds) override { done.emplace_back(step); }
  void step_failed(std::string_view, const Error&) override {}
  void undo_failed(std::string_view step, const Error&) override { undo_failures.emplace_back(step); }
  void info(std::string_view text) override { infos.emplace_back(text); }
  Strings done, undo_failures, infos;
};

// One daemon's worth of state (the store and what the edges hold) and a provisioner over it. A
// "restart" makes a new provisioner over the same state, as a new lxcprovd would find it.
struct Host {
  Host() {
    config.ports.enabled = true;
    config.http.enabled = true;
    config.isolation.enabled = true;
    config.network.dns = {"192.0.2.53"};
    restart();
  }
  void restart() {
    features.clear();
    isolation = std::make_unique<isolation::IsolationFeature>(config, store, isolation_nft);
    forwarding = std::make_unique<forwarding::ForwardingFeature>(config, store, forwarding_nft);
    routing = std::make_unique<routing::RoutingFeature>(config, store, nginx);
    provisioner =
        std::make_unique<Provisioner>(config, store, runtime, seals, container::CgroupVersion::v1,
                                      std::vector<Feature*>{isolation.get(), forwarding.get(), routing.get()});
    // start, ports and route form a group; the fakes record calls, so they run in plan order.
    provisioner->set_concurrently(sequentially);
  }
  request::Request request(const std::string& name, const std::string& user = "alice") {
    request::Request r;
    r.username = user;
    r.container_name = name;
    r.distribution = "busybox";
    r.http_port = 3000;
    r.public_key = "ssh-ed25519 AAAA test";
    return r;
  }
  Outcome create(const std::string& name, const std::string& job = "job-create") {
    (void)store.create_job({job, state::JobKind::create, name, "alice", state::JobState::pending, "", 0, "", 1, 1});
    return provisioner->create(request(name), job, reporter);
  }
  Outcome destroy(const std::string& name, const std::string& job = "job-delete") {
    (void)store.create_job({job, state::JobKind::destroy, name, "alice", state::JobState::pending, "", 0, "", 1, 1});
    return provisioner->destroy(request(name), job, reporter);
  }
  // Does anything outside still know `name` (or its address)?
  bool leaves_no_trace(const std::string& name, const std::string& ip) const {
    return !runtime.containers.count(name) && !store.containers.count(name) &&
           isolation_nft.installed.find(ip) == std::string::npos &&
           forwarding_nft.installed.find(ip) == std::string::npos && nginx.installed.find(name) == std::string::npos;
  }
  bool fully_present(const std::string& name, const std::string& ip) const {
    return runtime.running.count(name) && store.containers.count(name) &&
           store.containers.at(name).state == state::ContainerState::ready &&
           isolation_nft.installed.find(ip) != std::string::npos &&
           forwarding_nft.installed.find(ip) != std::string::npos && nginx.installed.find(name) != std::string::npos;
  }

  config::Config config = config::defaults();
  CallLog log;
  testing::MemoryStore store;
  testing::FakeTemplateSeals seals;
  testing::RecordingRuntime runtime{log};
  testing::RecordingInstaller isolation_nft{log, "nft isolation"}, forwarding_nft{log, "nft forwards"},
      nginx{log, "nginx routes"};
  std::unique_ptr<isolation::IsolationFeature> isolation;
  std::unique_ptr<forwarding::ForwardingFeature> forwarding;
  std::unique_ptr<routing::RoutingFeature> routing;
  std::vector<std::unique_ptr<Feature>> features;
  std::unique_ptr<Provisioner> provisioner;
  Silent reporter;
};

const Strings create_calls = {"clone web", "seed web", "nft isolation", "start web", "nft forwards", "nginx routes"};
const Strings delete_calls = {"destroy web", "nft isolation", "nft forwards", "nginx routes"};

TEST(ProvisionerPlan, ACreateIsTheCoreStepsWithEachFeaturesInItsPhase) {
  Host h;
  auto o = h.create("web");
  ASSERT_EQ(o.exit_code, 0) << o.lines.front();
  EXPECT_EQ(h.log.calls, create_calls);
  EXPECT_EQ(h.reporter.done, (Strings{"reserve", "clone", "configure", "isolate", "start", "ports", "route",
                                      "configure-inside", "ready"}));
  EXPECT_EQ(h.store.jobs["job-create"].state, state::JobState::succeeded);
  const std::string ip = h.store.containers.at("web").ip;
  EXPECT_TRUE(h.fully_present("web", ip));
  // The clone's veth and MAC are the ones the isolation rules name, derived from the address.
  const auto& spec = h.runtime.specs.at("web");
  EXPECT_NE(h.isolation_nft.installed.find("\"" + spec.veth + "\" . " + spec.hwaddr + " . " + ip), std::string::npos)
      << h.isolation_nft.installed;
  // The final message: the forwarded and the direct ssh, the URL.
  bool ssh = false, direct = false, http = false;
  for (const auto& l : o.lines) {
    ssh |= l.find("ssh -p 2223 root@") != std::string::npos;
    direct |= l.find("ssh root@" + ip) != std::string::npos;
    http |= l.find("http://web.lxcprov.localhost/") != std::string::npos;
  }
  EXPECT_TRUE(ssh && direct && http);
}

TEST(ProvisionerPlan, TheFirstBootFilesAreWrittenBeforeTheStartWithNothingRunInside) {
  Host h;
  ASSERT_EQ(h.create("web").exit_code, 0);
  ASSERT_EQ(h.runtime.seeded.count("web"), 1u);
  const auto& boot = h.runtime.seeded.at("web");
  EXPECT_EQ(boot.hostname, "web");
  EXPECT_EQ(boot.authorized_key, "ssh-ed25519 AAAA test");
  EXPECT_EQ(boot.dns, Strings{"192.0.2.53"});
  for (const auto& call : h.log.calls) EXPECT_EQ(call.rfind("run ", 0), std::string::npos) << call;
}

TEST(ProvisionerPlan, WhereTheRuntimeCannotSeedTheFilesAreWrittenFromInsideAfterTheStart) {
  Host h;
  h.runtime.can_seed = false;
  ASSERT_EQ(h.create("web").exit_code, 0);
  EXPECT_EQ(h.runtime.seeded.count("web"), 0u);
  EXPECT_EQ(h.reporter.infos, Strings{"a layered rootfs; written from inside after the start"});
  EXPECT_EQ(h.log.calls, (Strings{"clone web", "seed web", "nft isolation", "start web", "nft forwards", "nginx routes",
                                  "run web lxcprov-configure"}));
  EXPECT_TRUE(h.fully_present("web", h.store.containers.at("web").ip));
}

TEST(ProvisionerPlan, ForwardsAndRouteAreOneGroupWithStart) {
  Host h;
  JobContext ctx{"j", h.request("web"), {}, &h.reporter};
  std::vector<PhasedStep> steps;
  h.forwarding->create_steps(ctx, steps);
  h.routing->create_steps(ctx, steps);
  for (const auto& s : steps) EXPECT_EQ(s.phase, Phase::with_start) << s.step.name;
  // A failed start undoes the forwards and the route that went in beside it; a crash during the
  // group undoes every member, recorded or not (ACrashAtEveryCall... covers each call).
  h.log.fail_at(4);  // clone, seed, nft isolation, start
  auto o = h.create("web");
  EXPECT_NE(o.exit_code, 0);
  EXPECT_EQ(h.reporter.done, (Strings{"reserve", "clone", "configure", "isolate", "ports", "route"}));
  EXPECT_TRUE(h.leaves_no_trace("web", "10.47.0.10"));
}

// From "mark" on, no sync (a concurrent create's route step, say) puts a deleting container's
// route back.
TEST(ProvisionerPlan, NoOtherJobBringsBackTheRouteOfAContainerBeingDeleted) {
  Host h;
  ASSERT_EQ(h.create("web").exit_code, 0);
  ASSERT_NE(h.nginx.installed.find("web"), std::string::npos);
  ASSERT_TRUE(h.store.set_container_state("web", state::ContainerState::deleting, "job-delete"));
  ASSERT_EQ(h.create("api", "job-api").exit_code, 0);  // its route step syncs every route
  EXPECT_NE(h.nginx.installed.find("api"), std::string::npos);
  EXPECT_EQ(h.nginx.installed.find("web"), std::string::npos);
}

TEST(ProvisionerPlan, ADeleteIsMarkDestroyReleaseThenEachFeatureUninstalls) {
  Host h;
  ASSERT_EQ(h.create("web").exit_code, 0);
  const std::string ip = h.store.containers.at("web").ip;
  h.log.calls.clear();
  h.reporter.done.clear();
  ASSERT_EQ(h.destroy("web").exit_code, 0);
  EXPECT_EQ(h.log.calls, delete_calls);
  EXPECT_EQ(h.reporter.done, (Strings{"mark", "destroy", "release", "unisolate", "unforward", "unroute"}));
  EXPECT_TRUE(h.leaves_no_trace("web", ip));
  EXPECT_EQ(h.store.jobs["job-delete"].state, state::JobState::succeeded);
}

TEST(ProvisionerPlan, AFailureAtEveryCallOfACreateLeavesNothingAndOthersUntouched) {
  for (size_t k = 1; k <= create_calls.size(); ++k) {
    SCOPED_TRACE("failing call " + std::to_string(k) + ": " + create_calls[k - 1]);
    Host h;
    ASSERT_EQ(h.create("other", "job-other").exit_code, 0);
    const std::string other_ip = h.store.containers.at("other").ip;
    h.log.fail_at(static_cast<int>(k));
    auto o = h.create("web");
    EXPECT_NE(o.exit_code, 0);
    EXPECT_EQ(h.store.jobs["job-create"].state, state::JobState::rolled_back);
    EXPECT_TRUE(h.reporter.undo_failures.empty());
    // The address the failed create had is free: the next create gets it.
    EXPECT_TRUE(h.leaves_no_trace("web", "10.47.0.11"));
    EXPECT_TRUE(h.fully_present("other", other_ip));
    h.log.clear_fault();
    ASSERT_EQ(h.create("web", "job-again").exit_code, 0);
    EXPECT_EQ(h.store.containers.at("web").ip, "10.47.0.11");
  }
}

TEST(ProvisionerPlan, ACrashAtEveryCallOfACreateIsRolledBackAtTheNextStart) {
  for (size_t k = 1; k <= create_calls.size(); ++k) {
    SCOPED_TRACE("crash at call " + std::to_string(k) + ": " + create_calls[k - 1]);
    Host h;
    h.log.fail_at(static_cast<int>(k), CallLog::Fault::crash);
    EXPECT_THROW(h.create("web"), testing::Crash);
    EXPECT_EQ(h.store.jobs["job-create"].state, state::JobState::running) << "a killed daemon records no end";
    h.log.clear_fault();
    h.restart();
    h.provisioner->recover(h.reporter);
    EXPECT_EQ(h.store.jobs["job-create"].state, state::JobState::rolled_back);
    EXPECT_TRUE(h.leaves_no_trace("web", "10.47.0.10"));
  }
}

TEST(ProvisionerPlan, ACrashAtEveryCallOfADeleteIsFinishedAtTheNextStartAndRecordedAsDone) {
  for (size_t k = 1; k <= delete_calls.size(); ++k) {
    SCOPED_TRACE("crash at call " + std::to_string(k) + ": " + delete_calls[k - 1]);
    Host h;
    ASSERT_EQ(h.create("web").exit_code, 0);
    const std::string ip = h.store.containers.at("web").ip;
    h.log.fail_at(static_cast<int>(k), CallLog::Fault::crash);
    EXPECT_THROW(h.destroy("web"), testing::Crash);
    h.log.clear_fault();
    h.restart();
    h.provisioner->recover(h.reporter);
    const auto& job = h.store.jobs["job-delete"];
    EXPECT_EQ(job.state, state::JobState::succeeded) << job.message;
    EXPECT_NE(job.message.find("deleted"), std::string::npos) << job.message;
    EXPECT_TRUE(h.leaves_no_trace("web", ip));
  }
}

// A create or delete changes only its own elements, and jobs that reserved meanwhile are installed by
// whichever sync comes first: the one queued behind it finds nothing to do and calls no nft.
TEST(ProvisionerPlan, NetworkStepsApplyDifferencesAndABurstCoalesces) {
  Host h;
  ASSERT_EQ(h.create("web").exit_code, 0);
  const std::string web_ip = h.store.containers.at("web").ip;
  for (const char* name : {"b", "c"}) {
    state::NewContainer nc{name, "bob", "busybox", 3000, std::string("job-") + name, {}, 0};
    nc.ports.push_back({"SSH", "tcp", 22, h.config.ports.ssh_first, h.config.ports.ssh_last});
    ASSERT_TRUE(h.store.reserve_container(nc, h.config.pool, 100));
  }
  const std::string c_ip = h.store.containers.at("c").ip;
  auto steps_of = [&](Feature& f, JobContext& ctx) {
    std::vector<PhasedStep> out;
    f.create_steps(ctx, out);
    return out;
  };
  JobContext b{"job-b", h.request("b", "bob"), h.store.containers.at("b"), &h.reporter};
  JobContext c{"job-c", h.request("c", "bob"), h.store.containers.at("c"), &h.reporter};
  const int before = h.forwarding_nft.installs, iso_before = h.isolation_nft.installs;
  ASSERT_TRUE(steps_of(*h.forwarding, b).at(0).step.run());
  ASSERT_TRUE(steps_of(*h.isolation, b).at(0).step.run());
  EXPECT_EQ(h.forwarding_nft.installs, before + 1);
  EXPECT_EQ(h.isolation_nft.installs, iso_before + 1);
  EXPECT_NE(h.forwarding_nft.installed.find(c_ip), std::string::npos) << "b's sync installed c's forward too";
  EXPECT_NE(h.isolation_nft.installed.find(c_ip), std::string::npos);
  ASSERT_TRUE(steps_of(*h.forwarding, c).at(0).step.run());
  ASSERT_TRUE(steps_of(*h.isolation, c).at(0).step.run());
  EXPECT_EQ(h.forwarding_nft.installs, before + 1) << "nothing left for c's own step";
  EXPECT_EQ(h.isolation_nft.installs, iso_before + 1);
  // The table holds web's, b's and c's forward and nothing else.
  EXPECT_EQ(h.forwarding_nft.model.elements(), 3u);
  EXPECT_NE(h.forwarding_nft.installed.find(web_ip), std::string::npos);
}

TEST(ProvisionerPlan, ExtraProtocolsWithoutForwardsAreRefusedBeforeAnythingIsMade) {
  Host h;
  h.config.ports.enabled = false;
  h.provisioner = std::make_unique<Provisioner>(h.config, h.store, h.runtime, h.seals, container::CgroupVersion::v1,
                                                std::vector<Feature*>{h.isolation.get(), h.routing.get()});
  auto req = h.request("web");
  req.extra_protocols = {"MYSQL"};
  (void)h.store.create_job({"j", state::JobKind::create, "web", "alice", state::JobState::pending, "", 0, "", 1, 1});
  auto o = h.provisioner->create(req, "j", h.reporter);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.lines.front().find("EXTRA_PROTOCOLS: port forwards are off"), std::string::npos) << o.lines.front();
  EXPECT_TRUE(h.log.calls.empty());
  EXPECT_TRUE(h.store.containers.empty());
}

TEST(ProvisionerPlan, AnotherUsersContainerIsNotDeletedAndLooksAbsent) {
  Host h;
  ASSERT_EQ(h.create("web").exit_code, 0);
  h.log.calls.clear();
  (void)h.store.create_job({"jb", state::JobKind::destroy, "web", "bob", state::JobState::pending, "", 0, "", 1, 1});
  auto o = h.provisioner->destroy(h.request("web", "bob"), "jb", h.reporter);
  EXPECT_EQ(o.exit_code, 5);
  EXPECT_TRUE(h.log.calls.empty());
  EXPECT_TRUE(h.runtime.containers.count("web"));
}

TEST(ProvisionerPlan, InAFleetAContainerOnAnotherNodeIsNeitherDeletedNorUpdatedHere) {
  Host h;
  ASSERT_EQ(h.create("web").exit_code, 0);
  h.config.fleet.database = "host=/run/postgresql dbname=lxcprov";
  h.config.fleet.node = "hv2";
  h.store.containers.at("web").node = "hv1";
  h.restart();
  h.log.calls.clear();
  auto gone = h.destroy("web");
  EXPECT_EQ(gone.exit_code, 6);
  ASSERT_FALSE(gone.lines.empty());
  EXPECT_EQ(gone.lines[0],
            "delete failed: CONTAINER_NAME: container web is on node hv1, not on this one (hv2); ask that node");
  (void)h.store.create_job({"ju", state::JobKind::update, "web", "alice", state::JobState::pending, "", 0, "", 1, 1});
  auto req = h.request("web");
  auto updated = h.provisioner->update(req, "ju", h.reporter);
  EXPECT_EQ(updated.exit_code, 6);
  EXPECT_TRUE(h.log.calls.empty()) << "nothing was touched here";
  EXPECT_TRUE(h.store.containers.count("web")) << "its row stays: its node still has it";
  EXPECT_EQ(h.store.find_job("job-delete")->value().state, state::JobState::failed);
  // On its own node the same delete goes through.
  h.config.fleet.node = "hv1";
  h.restart();
  EXPECT_EQ(h.destroy("web", "job-delete-2").exit_code, 0);
  EXPECT_FALSE(h.store.containers.count("web"));
}

}  // namespace
}  // namespace lxcprov::jobs
