// Root inside a container must not be root on the host. One container, made by alice through
// the real ssh create account, is attacked from inside as root the way the issue's attacker did
// it, and each attack must fail; every attack that can also be run on the host is run there first
// as a control, so a probe that does nothing cannot pass. Mechanisms (docs/security.md,
// "Confinement"): the user namespace (lxc.idmap), the seccomp policy, dropped capabilities,
// proc/sys mounted mixed, the device cgroup, and no host path mounted into the container.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "world.hpp"

namespace lxcprov::it {
namespace {

struct Target {
  std::string name;
  std::string probe;  ///< the static escape_probe binary on the host
  bool ready = false;
};

Target& target() {
  static Target t;
  return t;
}

// `script` run by /bin/sh as root inside the container, `input` on its stdin.
ProcResult inside(const std::string& script, const std::string& input = "") {
  const World& w = world();
  RunOptions o;
  o.input = input;
  o.timeout = 60s;
  return run({"lxc-attach", "-P", w.lxcpath, "-n", target().name, "--clear-env", "--", "/bin/sh", "-c", script}, o);
}

// Lines "<what> errno N" / "<what> ok" of the probe, as what -> result.
std::map<std::string, std::string> results_of(const std::string& out) {
  std::map<std::string, std::string> m;
  std::regex line(R"((.*) (ok.*|errno \d+)$)");
  for (const auto& l : lines_of(out)) {
    std::smatch sm;
    if (std::regex_match(l, sm, line)) m[sm[1]] = sm[2];
  }
  return m;
}

// Non-namespaced kernel settings: a write to any of them would change the whole host.
const std::vector<std::string> host_sysctls = {
    "kernel/core_pattern", "kernel/modprobe",      "kernel/sysrq",
    "kernel/panic",        "vm/drop_caches",       "fs/file-max",
    "kernel/hotplug",      "vm/overcommit_memory", "kernel/randomize_va_space",
    "fs/suid_dumpable"};

// The shell lines that try to write each of them below `root` (a proc mount); each prints
// "write <file> ok" or "write <file> refused".
std::string sysctl_writes(const std::string& root) {
  std::string s;
  for (const auto& f : host_sysctls)
    s += "if [ -e " + root + "/sys/" + f + " ]; then if (echo 0 > " + root + "/sys/" + f +
         ") 2>/dev/null; then echo 'write " + root + "/sys/" + f + " ok'; else echo 'write " + root + "/sys/" + f +
         " refused'; fi; fi\n";
  s += "if (echo h > " + root + "/sysrq-trigger) 2>/dev/null; then echo 'write " + root +
       "/sysrq-trigger ok'; else echo 'write " + root + "/sysrq-trigger refused'; fi\n";
  return s;
}

std::map<std::string, std::string> host_sysctl_values() {
  std::map<std::string, std::string> v;
  for (const auto& f : host_sysctls) v[f] = read_text("/proc/sys/" + f);
  return v;
}

class Confinement : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    World& w = world();
    Target& t = target();
    t.probe = w.tmp + "/escape_probe";
    auto cc = run({"gcc", "-static", "-O2", "-o", t.probe, w.source_dir + "/tests/integration/probes/escape_probe.c"});
    ASSERT_EQ(cc.exit_code, 0) << "gcc -static (libc6-dev) is needed for the probe: " << describe(cc);
    t.name = w.prefix + "conf";
    auto r = create("alice", t.name);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::ifstream in(t.probe, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    auto put = inside("cat > /tmp/escape_probe && chmod 755 /tmp/escape_probe", bytes.str());
    ASSERT_EQ(put.exit_code, 0) << describe(put);
    t.ready = true;
  }
  static void TearDownTestSuite() {
    if (!target().name.empty()) destroy("alice", target().name);
  }
  void SetUp() override { ASSERT_TRUE(target().ready) << "the target container was not made"; }
};

TEST_F(Confinement, ContainerRootIsAnUnprivilegedHostId) {
  for (const char* file : {"/proc/self/uid_map", "/proc/self/gid_map"}) {
    auto map = inside(std::string("cat ") + file);
    ASSERT_EQ(map.exit_code, 0) << describe(map);
    auto lines = lines_of(map.out);
    ASSERT_FALSE(lines.empty()) << file;
    for (const auto& l : lines) {
      unsigned long ns = 0, host = 0, range = 0;
      ASSERT_EQ(std::sscanf(l.c_str(), "%lu %lu %lu", &ns, &host, &range), 3) << l;
      // No range of the map contains host id 0, and container root is host 100000.
      EXPECT_NE(host, 0u) << file << ": " << l;
      if (ns == 0) {
        EXPECT_EQ(host, 100000u) << file << ": " << l;
      }
    }
  }
  // From the host: the container's init runs as uid 100000.
  auto pid = run({"lxc-info", "-P", world().lxcpath, "-n", target().name, "-pH"});
  ASSERT_EQ(pid.exit_code, 0) << describe(pid);
  struct stat st {};
  ASSERT_EQ(::stat(("/proc/" + lines_of(pid.out).at(0)).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  auto status = inside("grep -E '^(Seccomp|CapBnd):' /proc/self/status");
  EXPECT_TRUE(contains(status.out, "Seccomp:\t2")) << describe(status);
}

TEST_F(Confinement, OpenByHandleAtReadsNoFile) {
  // Control: on the host, as root, the probe opens a file by its handle.
  auto host = run({target().probe, "handle", "/etc/hostname"});
  EXPECT_EQ(host.exit_code, 1) << "the probe must open a file on the host: " << describe(host);
  // Inside: by a real handle (the device nodes LXC binds in) and by guessed ones, through every
  // mount point: each call is refused (EPERM from seccomp).
  auto r = inside("/tmp/escape_probe handle /etc/hostname /dev/null /dev/urandom /");
  EXPECT_EQ(r.exit_code, 0) << "a handle opened a file: " << describe(r);
  int attempts = 0;
  for (const auto& [what, result] : results_of(r.out)) {
    if (what.rfind("open_by_handle_at", 0) != 0) continue;
    ++attempts;
    EXPECT_EQ(result, "errno 1") << what;
  }
  EXPECT_GE(attempts, 8) << describe(r);
}

TEST_F(Confinement, NoHostKernelSettingCanBeWritten) {
  const auto before = host_sysctl_values();
  // Control: a namespaced value (the container's own network stack) is writable.
  auto own = inside("echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward");
  EXPECT_EQ(own.exit_code, 0) << describe(own);
  // Through the container's /proc, through a new proc mount, and after remounting /proc/sys rw.
  auto r = inside("mkdir -p /tmp/p && mount -t proc proc /tmp/p 2>/dev/null; echo mounted=$?\n" +
                  sysctl_writes("/proc") + sysctl_writes("/tmp/p") +
                  "mount -o remount,rw /proc/sys 2>/dev/null; echo remounted=$?\n" + sysctl_writes("/proc"));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  int refused = 0;
  for (const auto& line : lines_of(r.out)) {
    if (line.rfind("write ", 0) != 0) continue;
    EXPECT_TRUE(line.size() > 8 && line.substr(line.size() - 8) == " refused") << line;
    ++refused;
  }
  EXPECT_GE(refused, 15) << describe(r);
  EXPECT_EQ(host_sysctl_values(), before);
}

TEST_F(Confinement, SysfsCannotBeWrittenEvenWhenMountedAgain) {
  auto r = inside(R"sh(
mkdir -p /tmp/s && mount -t sysfs sysfs /tmp/s 2>/dev/null; echo mounted=$?
for f in /sys/kernel/uevent_helper /tmp/s/kernel/uevent_helper /sys/kernel/mm/transparent_hugepage/enabled \
         /tmp/s/kernel/mm/transparent_hugepage/enabled /sys/power/state /tmp/s/power/state \
         /sys/module/printk/parameters/time /tmp/s/module/printk/parameters/time; do
  [ -e "$f" ] || continue
  if (echo x > "$f") 2>/dev/null; then echo "write $f ok"; else echo "write $f refused"; fi
done
)sh");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  int refused = 0;
  for (const auto& line : lines_of(r.out)) {
    if (line.rfind("write ", 0) != 0) continue;
    EXPECT_TRUE(contains(line, " refused")) << line;
    ++refused;
  }
  EXPECT_GE(refused, 2) << describe(r);
}

TEST_F(Confinement, NoDeviceThatReachesTheHostCanBeMadeOrRead) {
  // Control: the allowed nodes work.
  auto ok = inside("head -c 4 /dev/urandom | wc -c && echo x > /dev/null");
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  // kmsg (the host's kernel log), mem, the first loop and disk block devices.
  auto r = inside(R"sh(
for spec in "kmsg c 1 11" "mem c 1 1" "port c 1 4" "loop0 b 7 0" "vda b 254 0" "sda b 8 0"; do
  set -- $spec
  if mknod /tmp/$1 $2 $3 $4 2>/dev/null; then echo "mknod $1 ok"; else echo "mknod $1 refused"; fi
done
if head -c 1 /dev/kmsg >/dev/null 2>&1; then echo "read kmsg ok"; else echo "read kmsg refused"; fi
)sh");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  for (const auto& line : lines_of(r.out)) EXPECT_TRUE(contains(line, " refused")) << line;
  EXPECT_EQ(lines_of(r.out).size(), 7u) << describe(r);
}

TEST_F(Confinement, NothingOfTheHostIsMountedAndRemountingChangesNothing) {
  // Every mount is the container's own (its overlay rootfs, proc, sysfs, tmpfs, devpts, cgroup)
  // or one of LXC's default device nodes: no host directory or file.
  auto mi = inside("cat /proc/self/mountinfo");
  ASSERT_EQ(mi.exit_code, 0) << describe(mi);
  const std::set<std::string> own = {"overlay", "proc", "sysfs", "tmpfs", "devpts", "cgroup", "cgroup2", "mqueue"};
  const std::set<std::string> devices = {"/null", "/zero", "/full", "/random", "/urandom", "/tty", "/console", "/ptmx"};
  for (const auto& line : lines_of(mi.out)) {
    // id parent dev root point options [optional...] - fstype source superoptions
    std::istringstream in(line);
    std::string id, parent, dev, root, point;
    in >> id >> parent >> dev >> root >> point;
    const auto dash = line.find(" - ");
    ASSERT_NE(dash, std::string::npos) << line;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype == "devtmpfs") {
      EXPECT_TRUE(devices.count(root)) << "host path mounted: " << line;
    } else {
      EXPECT_TRUE(own.count(fstype)) << "host filesystem mounted: " << line;
    }
  }
  // Remount everything read-write, then write where a host-backed mount would lead: the host's
  // settings and the template the container's rootfs is layered on stay as they were.
  const World& w = world();
  const std::string tpl_passwd = w.lxcpath + "/tpl-busybox/rootfs/etc/passwd";
  const std::string before = read_text(tpl_passwd);
  const auto sysctls = host_sysctl_values();
  auto r = inside(
      "for m in $(awk '{print $5}' /proc/self/mountinfo); do mount -o remount,rw \"$m\" 2>/dev/null; "
      "mount -o remount,bind,rw \"$m\" 2>/dev/null; done\necho root::0:0:x:/:/bin/sh >> /etc/passwd\n" +
      sysctl_writes("/proc"));
  for (const auto& line : lines_of(r.out)) {
    if (line.rfind("write ", 0) == 0) {
      EXPECT_TRUE(contains(line, " refused")) << line;
    }
  }
  EXPECT_EQ(read_text(tpl_passwd), before);
  EXPECT_EQ(host_sysctl_values(), sysctls);
}

TEST_F(Confinement, ModulesKexecAndTheKeyringAreRefused) {
  // Control: on the host the calls reach the kernel (ENOSYS where it has no module support, or
  // a real answer); inside, seccomp answers first.
  auto host = run({target().probe, "module"});
  for (const auto& [what, result] : results_of(host.out)) EXPECT_NE(result, "errno 1") << "host " << what;
  auto host_keys = run({target().probe, "keyring"});
  EXPECT_EQ(results_of(host_keys.out)["keyctl"], "ok") << describe(host_keys);

  auto mod = inside("/tmp/escape_probe module; /tmp/escape_probe kexec");
  auto m = results_of(mod.out);
  for (const char* call : {"init_module", "finit_module", "delete_module", "kexec_load"})
    EXPECT_EQ(m[call], "errno 1") << call << ": " << describe(mod);
  auto keys = inside("/tmp/escape_probe keyring");
  auto k = results_of(keys.out);
  EXPECT_EQ(k["keyctl"], "errno 38") << describe(keys);
  EXPECT_EQ(k["add_key"], "errno 38") << describe(keys);
  // busybox's insmod, as an attacker would try it first.
  auto insmod = inside("insmod /tmp/escape_probe");
  EXPECT_NE(insmod.exit_code, 0) << describe(insmod);
}

TEST_F(Confinement, PackagesCanStillBeInstalled) {
  // dpkg makes each new directory as NAME.dpkg-new and renames it into place, inside directories
  // of the template (the overlay's lower layer): that rename must work in the user namespace.
  auto r = inside("/tmp/escape_probe rename /etc/lxcprov-probe-dir && test -d /etc/lxcprov-probe-dir");
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "rename ok")) << describe(r);
}

TEST_F(Confinement, DangerousCapabilitiesAreNotEvenInTheBoundingSet) {
  auto r = inside("grep '^CapBnd:' /proc/self/status");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(CapBnd:\s+([0-9a-f]+))"))) << r.out;
  const unsigned long long bnd = std::stoull(m[1], nullptr, 16);
  // CAP_SYS_MODULE 16, CAP_SYS_RAWIO 17, CAP_SYS_TIME 25, CAP_MAC_OVERRIDE 32, CAP_MAC_ADMIN 33,
  // CAP_SYSLOG 34.
  for (int cap : {16, 17, 25, 32, 33, 34}) EXPECT_EQ(bnd & (1ULL << cap), 0u) << "capability " << cap;
  // Control: an ordinary namespaced one is kept (root inside still administers its container).
  EXPECT_NE(bnd & (1ULL << 12), 0u) << "CAP_NET_ADMIN";
}

}  // namespace
}  // namespace lxcprov::it
