// Component tests of LiblxcRuntime against real liblxc: a private bridge, a temporary lxcpath and a
// busybox template built by scripts/build-template.sh. Root only; skipped otherwise.
// Names are unique per process (lxt<pid>...), so concurrent runs by others do not collide.

#include "container/liblxc_runtime.hpp"
#include "../support/text_file.hpp"
#include "container/overlay_seed.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <glob.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace lxcprov::container {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string source_dir() {
  if (const char* env = std::getenv("LXCPROV_SOURCE_DIR"); env && *env) return env;
#ifdef LXCPROV_SOURCE_DIR
  return LXCPROV_SOURCE_DIR;
#else
  // tests/component/<this file> -> repository root
  return fs::path(__FILE__).parent_path().parent_path().parent_path().string();
#endif
}

using lxcprov::testing::read_text_file;

bool shell(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

std::vector<std::string> glob_paths(const std::string& pattern) {
  glob_t g{};
  std::vector<std::string> out;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

Confinement confinement(const std::string& lxcpath) {
  std::ifstream in("/sys/fs/cgroup/cgroup.controllers");
  std::string controllers((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto version =
      controllers.find("memory") != std::string::npos ? container::CgroupVersion::v2 : container::CgroupVersion::v1;
  return LiblxcRuntime::confinement_for(config::Confinement{}, version, lxcpath);
}

class LiblxcRuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_reason_ = "needs root";
      return;
    }
    if (!shell("command -v lxc-create >/dev/null 2>&1") || !fs::exists("/sys/fs/cgroup")) {
      skip_reason_ = "liblxc tools or cgroups unavailable";
      return;
    }
    const int pid = static_cast<int>(::getpid());
    bridge_ = "lxt" + std::to_string(pid);
    subnet_ = "10.253." + std::to_string(pid % 250) + ".";
    char tmpl[] = "/tmp/lxcprov-lxt-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      setup_error_ = "mkdtemp failed";
      return;
    }
    lxcpath_ = tmpl;
    // Containers run as the mapped ids, which must be able to reach their rootfs.
    ::chmod(lxcpath_.c_str(), 0711);
    const std::string scripts = source_dir() + "/scripts";
    if (!shell(scripts + "/setup-host.sh --bridge " + bridge_ + " --address " + subnet_ + "1/24 >/dev/null")) {
      setup_error_ = "setup-host.sh failed";
      return;
    }
    if (!shell(scripts + "/build-template.sh --lxcpath " + lxcpath_ + " --name tpl-busybox >/dev/null")) {
      setup_error_ = "build-template.sh failed";
      return;
    }
    runtime_ = new LiblxcRuntime(lxcpath_, confinement(lxcpath_));
    if (auto p = runtime_->prepare(); !p) setup_error_ = p.error().message;
  }

  static void TearDownTestSuite() {
    delete runtime_;
    runtime_ = nullptr;
    if (!lxcpath_.empty()) {
      // Anything a failed test left behind, then the template and the whole lxcpath.
      shell("for n in $(lxc-ls -P " + lxcpath_ + " 2>/dev/null); do lxc-stop -k -P " + lxcpath_ +
            " -n $n >/dev/null 2>&1; done; for n in $(lxc-ls -P " + lxcpath_ +
            " 2>/dev/null | tr ' ' '\\n' | grep -v '^tpl-'); do lxc-destroy -P " + lxcpath_ +
            " -n $n >/dev/null 2>&1; done; lxc-destroy -P " + lxcpath_ + " -n tpl-busybox >/dev/null 2>&1");
      std::error_code ec;
      fs::remove_all(lxcpath_, ec);
    }
    if (!bridge_.empty()) shell(source_dir() + "/scripts/setup-host.sh --remove --bridge " + bridge_ + " >/dev/null");
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_NE(runtime_, nullptr);
  }

  void TearDown() override {
    if (!runtime_) return;
    for (const auto& n : made_) {
      auto r = runtime_->destroy(n);
      EXPECT_TRUE(r) << n << ": " << (r ? "" : r.error().message);
    }
  }

  // A spec with a unique name, IP and MAC.
  CloneSpec spec() {
    int n = next_++;
    CloneSpec s;
    s.name = bridge_ + "-" + std::to_string(n);
    s.template_name = "tpl-busybox";
    s.bridge = bridge_;
    s.ipv4_cidr = subnet_ + std::to_string(10 + n) + "/24";
    s.ipv4_gateway = subnet_ + "1";
    char mac[32];
    std::snprintf(mac, sizeof mac, "00:16:3e:fd:%02x:%02x", (n >> 8) & 0xff, n & 0xff);
    s.hwaddr = mac;
    made_.push_back(s.name);
    return s;
  }

  // Clones and starts; returns the spec.
  CloneSpec running() {
    CloneSpec s = spec();
    auto c = runtime_->clone(s);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    auto st = runtime_->start(s.name, 10s);
    EXPECT_TRUE(st) << (st ? "" : st.error().message);
    return s;
  }

  RunResult run_ok(const std::string& name, const std::vector<std::string>& argv, const std::string& input = "") {
    auto r = runtime_->run(name, argv, input, 10s);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : RunResult{};
  }

  inline static std::string skip_reason_;
  inline static std::string setup_error_;
  inline static std::string lxcpath_;
  inline static std::string bridge_;
  inline static std::string subnet_;
  inline static LiblxcRuntime* runtime_ = nullptr;
  inline static std::atomic<int> next_{1};
  std::vector<std::string> made_;
};

TEST_F(LiblxcRuntimeTest, CloneStartRunHasHostnameAndStaticIp) {
  CloneSpec s = running();
  EXPECT_TRUE(runtime_->exists(s.name));
  auto st = runtime_->state(s.name);
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, "RUNNING");
  auto names = runtime_->list();
  ASSERT_TRUE(names);
  EXPECT_NE(std::find(names->begin(), names->end(), s.name), names->end());

  RunResult host = run_ok(s.name, {"hostname"});
  EXPECT_EQ(host.exit_status, 0);
  EXPECT_EQ(host.output, s.name + "\n");
  RunResult addr = run_ok(s.name, {"ip", "-4", "addr", "show", "dev", "eth0"});
  EXPECT_NE(addr.output.find("inet " + s.ipv4_cidr), std::string::npos) << addr.output;
  RunResult route = run_ok(s.name, {"ip", "route"});
  EXPECT_NE(route.output.find("default via " + s.ipv4_gateway), std::string::npos) << route.output;
  // The template's rcS adds the 127.0.1.1 line at boot, which runs on its own after start()
  // returns (start waits for attach, not for init's scripts): give it a bounded moment.
  const std::string check =
      "for i in $(seq 200); do grep -q \"^127.0.1.1.*$(hostname)\" /etc/hosts && break; sleep 0.01; done; "
      "cat /etc/hostname; echo; grep -c '^127.0.0.1' /etc/hosts; grep -c \"^127.0.1.1.*$(hostname)\" /etc/hosts";
  RunResult files = run_ok(s.name, {"sh", "-c", check});
  EXPECT_EQ(files.output, s.name + "\n1\n1\n");
}

// The files a create puts in before the first start, as the running container sees them: in
// place, owned by its root, with nothing run inside to write them, and the template untouched.
TEST_F(LiblxcRuntimeTest, SeededFilesAreThereAtTheFirstStartOwnedByTheContainersRoot) {
  CloneSpec s = spec();
  ASSERT_TRUE(runtime_->clone(s));
  const FirstBoot boot{s.name, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey seed@test", {"192.0.2.53", "192.0.2.54"}};
  auto seeded = runtime_->seed(s.name, boot);
  ASSERT_TRUE(seeded) << seeded.error().message;
  auto st = runtime_->start(s.name, 10s);
  ASSERT_TRUE(st) << st.error().message;

  RunResult files = run_ok(
      s.name, {"sh", "-c",
               "cat /etc/hostname /root/.ssh/authorized_keys /etc/resolv.conf; grep ^root: /etc/shadow | cut -d: -f2; "
               "grep -c \"[[:space:]]$(hostname)\\$\" /etc/hosts; "
               "stat -c '%n %u %g %a' /etc /root /root/.ssh /root/.ssh/authorized_keys /etc/hostname /etc/shadow"});
  EXPECT_EQ(files.output, s.name + "\n" + boot.authorized_key + "\n" +
                              "nameserver 192.0.2.53\nnameserver 192.0.2.54\n"
                              "!*\n"
                              "1\n"  // the template's rcS found the line and added no second one
                              "/etc 0 0 755\n/root 0 0 700\n/root/.ssh 0 0 700\n/root/.ssh/authorized_keys 0 0 600\n"
                              "/etc/hostname 0 0 644\n/etc/shadow 0 0 600\n");
  // Only the clone's upper layer changed: the template's files are what they were.
  const std::string tpl = lxcpath_ + "/tpl-busybox/rootfs";
  EXPECT_EQ(read_text_file(tpl + "/etc/shadow").substr(0, 7), "root:*:");
  EXPECT_FALSE(fs::exists(tpl + "/root/.ssh/authorized_keys"));
  EXPECT_EQ(read_text_file(tpl + "/etc/hostname"), "tpl-busybox\n");
  // Once it runs, the overlay is mounted: its layers are not written under it.
  auto again = runtime_->seed(s.name, boot);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::unavailable);
}

// A symlink in the clone's upper layer (here one a hostile template or an earlier run could have
// left, pointing at a host directory) is refused, not followed: nothing lands outside the layer.
TEST_F(LiblxcRuntimeTest, SeedRefusesASymlinkOnTheWayAndWritesNothingOutside) {
  CloneSpec s = spec();
  ASSERT_TRUE(runtime_->clone(s));
  const std::string outside = lxcpath_ + "/outside-" + s.name;
  fs::create_directories(outside);
  std::string upper;
  {
    std::ifstream config(lxcpath_ + "/" + s.name + "/config");
    for (std::string line; std::getline(config, line);)
      if (line.rfind("lxc.rootfs.path = ", 0) == 0)
        if (auto layers = overlay_layers(line.substr(18))) upper = layers->upper;
  }
  ASSERT_TRUE(fs::is_directory(upper)) << "no overlay upper layer in the clone's config";
  fs::create_directory_symlink(outside, upper + "/root");
  auto seeded = runtime_->seed(s.name, FirstBoot{s.name, "ssh-ed25519 AAAA x", {}});
  ASSERT_FALSE(seeded);
  EXPECT_EQ(seeded.error().code, Errc::unavailable) << seeded.error().message;
  EXPECT_TRUE(fs::is_empty(outside));
  fs::remove(upper + "/root");
  fs::remove(upper + "/etc/hosts");
  fs::create_symlink("/etc/passwd", upper + "/etc/hosts");  // read through, it would be the host's
  seeded = runtime_->seed(s.name, FirstBoot{s.name, "", {}});
  ASSERT_FALSE(seeded);
  EXPECT_EQ(seeded.error().code, Errc::unavailable) << seeded.error().message;
  fs::remove_all(outside);
}

TEST_F(LiblxcRuntimeTest, RunFeedsStdinAndReportsExitStatus) {
  CloneSpec s = running();
  RunResult w = run_ok(s.name, {"sh", "-c", "cat > /root/f"}, "hello\nworld\n");
  EXPECT_EQ(w.exit_status, 0);
  EXPECT_EQ(run_ok(s.name, {"cat", "/root/f"}).output, "hello\nworld\n");

  // More than a pipe buffer each way at once: input and output must be pumped concurrently.
  std::string big;
  for (int i = 0; big.size() < 600 * 1024; ++i) big += "line " + std::to_string(i) + "\n";
  RunResult echo = run_ok(s.name, {"cat"}, big);
  EXPECT_EQ(echo.exit_status, 0);
  EXPECT_EQ(echo.output, big);

  EXPECT_EQ(run_ok(s.name, {"sh", "-c", "echo oops >&2; exit 3"}).exit_status, 3);
  EXPECT_EQ(run_ok(s.name, {"sh", "-c", "echo oops >&2; exit 3"}).output, "oops\n");
  EXPECT_EQ(run_ok(s.name, {"no-such-command-lxt"}).exit_status, 127);
  // A command that does not read its input must not hang or kill the daemon (SIGPIPE).
  EXPECT_EQ(run_ok(s.name, {"true"}, big).exit_status, 0);
  // busybox passwd -l must work on the template's shadow file.
  RunResult lock =
      run_ok(s.name, {"sh", "-c", "passwd -l root >/dev/null 2>&1 && grep '^root:!' /etc/shadow >/dev/null"});
  EXPECT_EQ(lock.exit_status, 0);
  EXPECT_EQ(run_ok(s.name, {"sh", "-c", "mkdir -p /root/.ssh && touch /root/.ssh/authorized_keys"}).exit_status, 0);
}

TEST_F(LiblxcRuntimeTest, AttachedCommandSeesOnlyStdioFds) {
  CloneSpec s = running();
  // A descriptor without O_CLOEXEC in the "daemon" must not reach the container.
  int leaky = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 0);
  RunResult r = run_ok(s.name, {"ls", "/proc/self/fd"});
  ::close(leaky);
  // 0 1 2 and the directory fd ls itself opened.
  std::istringstream in(r.output);
  std::vector<std::string> fds;
  for (std::string line; std::getline(in, line);) fds.push_back(line);
  ASSERT_EQ(fds.size(), 4u) << r.output;
  EXPECT_EQ(fds[0], "0");
  EXPECT_EQ(fds[1], "1");
  EXPECT_EQ(fds[2], "2");
}

TEST_F(LiblxcRuntimeTest, StartDoesNotLeakDaemonFds) {
  // A descriptor the "daemon" holds without O_CLOEXEC must not live on in lxc-start,
  // the [lxc monitor] or the container's init.
  const std::string marker = lxcpath_ + "-leak-marker";
  int leaky = ::open(marker.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(leaky, 0);
  CloneSpec s = running();
  const std::string self = "/proc/" + std::to_string(::getpid()) + "/";
  std::vector<std::string> holders;
  for (const auto& fd : glob_paths("/proc/[0-9]*/fd/*")) {
    if (fd.rfind(self, 0) == 0) continue;
    std::error_code ec;
    if (fs::read_symlink(fd, ec).string() == marker) holders.push_back(fd);
  }
  ::close(leaky);
  ::unlink(marker.c_str());
  EXPECT_TRUE(holders.empty()) << holders.front();
}

TEST_F(LiblxcRuntimeTest, EnvironmentIsCleared) {
  CloneSpec s = running();
  ::setenv("LXCPROV_TEST_SECRET", "s3cr3t", 1);
  RunResult r = run_ok(s.name, {"env"});
  ::unsetenv("LXCPROV_TEST_SECRET");
  EXPECT_EQ(r.output.find("LXCPROV_TEST_SECRET"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("s3cr3t"), std::string::npos);
  EXPECT_NE(r.output.find("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"), std::string::npos);
  EXPECT_NE(r.output.find("HOME=/root\n"), std::string::npos);
  EXPECT_NE(r.output.find("TERM=dumb\n"), std::string::npos);
}

TEST_F(LiblxcRuntimeTest, RunAsSetsUserEnvironmentDirectoryAndStreamsOutput) {
  CloneSpec s = running();
  container::RunOptions o;
  o.uid = 5000;
  o.gid = 5000;
  o.env = {"HOME=/tmp", "DEPLOY_TOKEN=tok3n"};
  o.cwd = "/tmp";
  o.timeout = 10s;
  std::string streamed;
  o.on_output = [&](std::string_view chunk) { streamed += chunk; };
  auto r = runtime_->run_as(s.name, {"sh", "-c", "id -u; id -g; id -G; pwd; echo $HOME; echo $DEPLOY_TOKEN; env"}, o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_status, 0);
  // Supplementary groups are dropped: only the primary group remains.
  EXPECT_TRUE(r->output.starts_with("5000\n5000\n5000\n/tmp\n/tmp\ntok3n\n")) << r->output;
  EXPECT_EQ(r->output.find("HOME=/root"), std::string::npos) << "a caller's entry replaces the base one";
  EXPECT_EQ(streamed, r->output);

  o.env = {"=x"};
  auto bad = runtime_->run_as(s.name, {"true"}, o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad.error().message.find("=x"), std::string::npos);
}

TEST_F(LiblxcRuntimeTest, TimeoutKillsTheCommand) {
  CloneSpec s = running();
  auto t0 = std::chrono::steady_clock::now();
  auto r = runtime_->run(s.name, {"sh", "-c", "sleep 37 & sleep 38"}, "", 300ms);
  double took = ms_since(t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_LT(took, 2000);
  RunResult ps = run_ok(s.name, {"ps"});
  EXPECT_EQ(ps.output.find("sleep 37"), std::string::npos) << ps.output;
  EXPECT_EQ(ps.output.find("sleep 38"), std::string::npos) << ps.output;
}

TEST_F(LiblxcRuntimeTest, OutputIsCapped) {
  CloneSpec s = running();
  RunResult r = run_ok(s.name, {"sh", "-c", "head -c 3000000 /dev/zero"});
  EXPECT_EQ(r.exit_status, 0);
  ASSERT_GT(r.output.size(), LiblxcRuntime::max_output_bytes);
  EXPECT_LT(r.output.size(), LiblxcRuntime::max_output_bytes + 100);
  EXPECT_NE(r.output.find("truncated"), std::string::npos);
}

TEST_F(LiblxcRuntimeTest, ConfigInjectionIsRefused) {
  const std::string base = bridge_ + "-inj";
  auto expect_refused = [&](CloneSpec s, const char* what) {
    auto r = runtime_->clone(s);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << what;
    EXPECT_FALSE(fs::exists(lxcpath_ + "/" + base)) << what;
  };
  CloneSpec good = spec();
  good.name = base;
  made_.push_back(base);
  CloneSpec s = good;
  s.name = base + "\nlxc.include = /etc/passwd";
  expect_refused(s, "name");
  s = good;
  s.bridge = "br0\nlxc.hook.pre-start = /bin/touch /tmp/pwned";
  expect_refused(s, "bridge");
  s = good;
  s.ipv4_cidr = "10.0.0.2/24\rlxc.net.1.type = phys";
  expect_refused(s, "cidr");
  s = good;
  s.extra["lxc.cgroup2.memory.max"] = std::string("1G\0x", 4);
  expect_refused(s, "nul");
  s = good;
  s.extra["lxc.hook.pre-start"] = "/bin/true";
  expect_refused(s, "hook key");
  // The veth name is matched by the isolation rules and rendered into nft: a-z 0-9, <= 15.
  for (const char* bad : {"vlp\" accept", "Vlp0a2f000a", "vlp0a2f000a0000x", "vlp-1", "vlp 1"}) {
    s = good;
    s.veth = bad;
    expect_refused(s, "veth");
  }
  s = good;
  s.extra["lxc.environment"] = "LXCPROV_TEST_SECRET";
  expect_refused(s, "environment key");
  for (const char* bad : {"../evil", "a/b", "..", ".hidden", ""}) {
    s = good;
    s.name = bad;
    auto r = runtime_->clone(s);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
  }
  EXPECT_FALSE(fs::exists(lxcpath_ + "/../evil"));

  // The good spec still works, and extra keys land in the saved config.
  good.extra["lxc.cgroup.memory.limit_in_bytes"] = "256M";
  good.veth = "vlpt" + std::to_string(::getpid() % 10000000);  // written only: this clone never starts
  auto r = runtime_->clone(good);
  ASSERT_TRUE(r) << r.error().message;
  std::string config = read_text_file(lxcpath_ + "/" + base + "/config");
  EXPECT_NE(config.find("lxc.cgroup.memory.limit_in_bytes = 256M"), std::string::npos) << config;
  EXPECT_NE(config.find("lxc.net.0.ipv4.address = " + good.ipv4_cidr), std::string::npos) << config;
  EXPECT_NE(config.find("lxc.net.0.veth.pair = " + good.veth + "\n"), std::string::npos) << config;
  EXPECT_EQ(config.find("lxc.net.0.type = empty"), std::string::npos) << config;
  EXPECT_EQ(config.find("lxc.net.1"), std::string::npos) << config;
}

TEST_F(LiblxcRuntimeTest, EveryCloneIsConfinedAndTheOperatorCannotUndoIt) {
  CloneSpec s = spec();
  for (const char* key : {"lxc.idmap", "lxc.seccomp.profile", "lxc.cap.keep", "lxc.mount.entry", "lxc.apparmor.profile",
                          "lxc.cgroup.devices.allow", "lxc.cgroup2.devices.allow"}) {
    CloneSpec bad = s;
    bad.extra[key] = "x";
    auto r = runtime_->clone(bad);
    ASSERT_FALSE(r) << key;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << key;
  }
  ASSERT_TRUE(runtime_->clone(s));
  const std::string config = read_text_file(lxcpath_ + "/" + s.name + "/config");
  for (const char* line :
       {"lxc.idmap = u 0 100000 65536", "lxc.idmap = g 0 100000 65536",
        "lxc.seccomp.profile = ", "lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio syslog",
        "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed", "devices.deny = a", "devices.allow = c 1:3 rwm"})
    EXPECT_NE(config.find(line), std::string::npos) << line << "\n" << config;
  EXPECT_EQ(config.find("lxc.mount.entry"), std::string::npos) << config;
  EXPECT_TRUE(runtime_->privileged_containers().empty());
}

TEST_F(LiblxcRuntimeTest, APrivilegedContainerIsNotStartedAndAnUnmappedTemplateNotCloned) {
  // A container from before the confinement: its config has no user namespace.
  CloneSpec s = spec();
  ASSERT_TRUE(runtime_->clone(s));
  const std::string cfg = lxcpath_ + "/" + s.name + "/config";
  ASSERT_TRUE(shell("sed -i '/^lxc.idmap/d' " + cfg));
  auto st = runtime_->start(s.name, 10s);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::permission_denied);
  EXPECT_NE(st.error().message.find("privileged"), std::string::npos) << st.error().message;
  EXPECT_EQ(runtime_->state(s.name).value(), "STOPPED");
  EXPECT_EQ(runtime_->privileged_containers(), std::vector<std::string>{s.name});

  // A template without the mapping (a privileged one, or built for another range): no clone.
  const std::string tpl = "tpl-priv-" + std::to_string(::getpid());
  fs::create_directories(lxcpath_ + "/" + tpl);
  ASSERT_TRUE(shell("sed -e '/^lxc.idmap/d' -e 's/^lxc.uts.name = .*/lxc.uts.name = " + tpl + "/' " + lxcpath_ +
                    "/tpl-busybox/config > " + lxcpath_ + "/" + tpl + "/config"));
  CloneSpec c = spec();
  c.template_name = tpl;
  auto r = runtime_->clone(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_FALSE(fs::exists(lxcpath_ + "/" + c.name));
  fs::remove_all(lxcpath_ + "/" + tpl);
}

TEST_F(LiblxcRuntimeTest, ConflictAndMissingTemplate) {
  CloneSpec s = spec();
  ASSERT_TRUE(runtime_->clone(s));
  CloneSpec again = s;
  again.ipv4_cidr = subnet_ + "250/24";
  auto r = runtime_->clone(again);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  // The first one is untouched.
  EXPECT_NE(read_text_file(lxcpath_ + "/" + s.name + "/config").find(s.ipv4_cidr), std::string::npos);

  CloneSpec orphan = spec();
  orphan.template_name = "tpl-nonexistent";
  auto m = runtime_->clone(orphan);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::not_found);
  EXPECT_FALSE(fs::exists(lxcpath_ + "/" + orphan.name));
  auto st = runtime_->start(orphan.name, 1s);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::not_found);
}

// lxc-start's failure is the start's: here its network cannot come up (no such bridge).
TEST_F(LiblxcRuntimeTest, AStartThatFailsSaysSoAndLeavesNothingRunning) {
  CloneSpec s = spec();
  s.bridge = "lxcpnobr0";
  ASSERT_TRUE(runtime_->clone(s));
  const auto t0 = std::chrono::steady_clock::now();
  auto st = runtime_->start(s.name, 10s);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::io) << st.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "a failed start must not wait out the timeout";
  auto state = runtime_->state(s.name);
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, "STOPPED");
  // Why, for the admin: the monitor's own words, kept in the container's directory.
  EXPECT_NE(read_text_file(lxcpath_ + "/" + s.name + "/start.log").find("lxcpnobr0"), std::string::npos);
}

// A start that runs out of time kills lxc-start; whatever its monitor did by then, destroy()
// removes it all, the monitor's cgroup included.
TEST_F(LiblxcRuntimeTest, AStartOutOfTimeIsATimeoutAndDestroyCleansUp) {
  CloneSpec s = spec();
  ASSERT_TRUE(runtime_->clone(s));
  auto st = runtime_->start(s.name, 1ms);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::timeout) << st.error().message;
  ASSERT_TRUE(runtime_->destroy(s.name));
  EXPECT_FALSE(runtime_->exists(s.name));
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = glob_paths("/sys/fs/cgroup/*/lxc.monitor." + s.name).empty() &&
           glob_paths("/sys/fs/cgroup/lxc.monitor." + s.name).empty();
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "a monitor cgroup outlived the container";
}

TEST_F(LiblxcRuntimeTest, StopAndDestroyLeaveNothingBehind) {
  const std::string cgroup_before = read_text_file("/proc/self/cgroup");
  CloneSpec s = running();
  // start() must not move the calling process into lxc.monitor.<name> (baseline finding 6).
  EXPECT_EQ(read_text_file("/proc/self/cgroup"), cgroup_before);
  for (const auto& f : glob_paths("/proc/self/task/*/cgroup")) EXPECT_EQ(read_text_file(f), cgroup_before) << f;

  ASSERT_TRUE(runtime_->stop(s.name));
  EXPECT_EQ(*runtime_->state(s.name), "STOPPED");
  EXPECT_TRUE(runtime_->stop(s.name));  // already stopped: fine
  auto r = runtime_->run(s.name, {"true"}, "", 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  ASSERT_TRUE(runtime_->start(s.name, 10s));  // restart works
  ASSERT_TRUE(runtime_->destroy(s.name));
  EXPECT_FALSE(fs::exists(lxcpath_ + "/" + s.name));
  EXPECT_FALSE(runtime_->exists(s.name));
  auto st = runtime_->state(s.name);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::not_found);
  EXPECT_TRUE(runtime_->destroy(s.name));  // absent: fine
  EXPECT_TRUE(runtime_->stop(s.name));
  EXPECT_TRUE(glob_paths("/sys/fs/cgroup/*/lxc.monitor." + s.name).empty());
  EXPECT_TRUE(glob_paths("/sys/fs/cgroup/*/lxc.payload." + s.name).empty());
  EXPECT_TRUE(glob_paths("/sys/fs/cgroup/lxc.monitor." + s.name).empty());
  EXPECT_EQ(read_text_file("/proc/self/cgroup"), cgroup_before);
}

TEST_F(LiblxcRuntimeTest, ConcurrentClonesAndStarts) {
#if defined(__SANITIZE_ADDRESS__)
  // clone() and run() fork a multi-threaded process (liblxc does); g++ 12's libasan predates the runtime's
  // fork-time locking of its allocator, so a child can hang on a lock another thread held at
  // fork (seen: 3 of 10 starts timing out, never without ASan). The normal build runs this test
  // and the integration suite runs 20 concurrent creates.
  GTEST_SKIP() << "fork from a multi-threaded process is not reliable under g++ 12's ASan";
#endif
  constexpr size_t k = 10;
  std::vector<CloneSpec> specs;
  for (size_t i = 0; i < k; ++i) specs.push_back(spec());
  std::vector<std::string> errors(k);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < k; ++i) {
    threads.emplace_back([&, i] {
      if (auto c = runtime_->clone(specs[i]); !c) {
        errors[i] = "clone: " + c.error().message;
      } else if (auto s = runtime_->start(specs[i].name, 20s); !s) {
        errors[i] = "start: " + s.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf("[ timing ] %zu concurrent clone+start: %.0f ms\n", k, ms_since(t0));
  for (size_t i = 0; i < k; ++i) {
    EXPECT_EQ(errors[i], "") << specs[i].name;
    EXPECT_EQ(run_ok(specs[i].name, {"hostname"}).output, specs[i].name + "\n");
  }
  // liblxc records each snapshot in the template's lxc_snapshots; concurrent clones must not
  // lose entries (a lost one would let the template be destroyed under its clones).
  std::string snaps_up = read_text_file(lxcpath_ + "/tpl-busybox/lxc_snapshots");
  for (const auto& s : specs) EXPECT_NE(snaps_up.find(s.name + "\n"), std::string::npos) << snaps_up;
  // Concurrent runs too.
  threads.clear();
  std::vector<std::string> outputs(k);
  for (size_t i = 0; i < k; ++i) {
    threads.emplace_back([&, i] {
      auto r = runtime_->run(specs[i].name, {"cat"}, specs[i].name, 10s);
      outputs[i] = r ? r->output : r.error().message;
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < k; ++i) EXPECT_EQ(outputs[i], specs[i].name);
  // Concurrent destroys; the template's snapshot list must end up empty.
  threads.clear();
  for (size_t i = 0; i < k; ++i) {
    threads.emplace_back([&, i] {
      auto d = runtime_->destroy(specs[i].name);
      errors[i] = d ? "" : d.error().message;
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < k; ++i) {
    EXPECT_EQ(errors[i], "");
    EXPECT_FALSE(fs::exists(lxcpath_ + "/" + specs[i].name));
  }
  std::string snaps = read_text_file(lxcpath_ + "/tpl-busybox/lxc_snapshots");
  for (const auto& s : specs) EXPECT_EQ(snaps.find(s.name + "\n"), std::string::npos) << snaps;
}

// Not a check: prints the per-phase medians the design docs quote.
TEST_F(LiblxcRuntimeTest, Timing) {
  std::vector<double> clone_ms, start_ms, run_ms, destroy_ms;
  for (int i = 0; i < 11; ++i) {
    CloneSpec s = spec();
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(runtime_->clone(s));
    double c = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    auto st = runtime_->start(s.name, 10s);
    ASSERT_TRUE(st) << st.error().message;
    double sm = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    auto r = runtime_->run(s.name, {"true"}, "", 5s);
    double rm = ms_since(t0);
    ASSERT_TRUE(r);
    t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(runtime_->destroy(s.name));
    double dm = ms_since(t0);
    if (i == 0) continue;  // warm-up
    clone_ms.push_back(c);
    start_ms.push_back(sm);
    run_ms.push_back(rm);
    destroy_ms.push_back(dm);
  }
  std::printf("[ timing ] N=%zu medians: clone %.1f ms, start %.1f ms, run(true) %.1f ms, destroy %.1f ms\n",
              clone_ms.size(), median(clone_ms), median(start_ms), median(run_ms), median(destroy_ms));
}

}  // namespace
}  // namespace lxcprov::container
