#!/usr/bin/env python3
"""lxcprov benchmarks: prints a table of medians and spreads, each measured side by side with the
baselines it is compared to, in the same run. Run as root on a machine set up by scripts/run.sh
(this script runs it first; it is idempotent):

    sudo tests/bench/bench.py [--runs 9] [--concurrency 10,30,50] [--side-by-side-k 10,50,100]
                              [--scale-rounds 7] [--scale-sizes 0,250,500,1000] [--idle-containers 5] [--no-setup]
    sudo tests/bench/bench.py --side-by-side [--runs 7] [--side-by-side-k 10,50,100]   # only LXD + ssh floor rows

It sets demo's password (LXCPROV_DEMO_PASSWORD, default "bench-demo-pw") and creates and deletes
containers named bench-*; nothing else on the machine is touched. See docs/benchmarks.md."""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import side_by_side

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LXCPATH = "/var/lib/lxcprov/lxc"
PORT = int(os.environ.get("LXCPROV_SSH_PORT", "2222"))
PASSWORD = os.environ.get("LXCPROV_DEMO_PASSWORD", "bench-demo-pw")
SSH = ["ssh", "-p", str(PORT), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
       "-o", "LogLevel=ERROR", "-o", "PasswordAuthentication=no", "-T"]  # BatchMode=yes turns keyboard-interactive off
ENV_NAMES = ["PROXMOX_USERNAME", "PROXMOX_PASSWORD", "CONTAINER_NAME", "LINUX_DISTRIBUTION", "PUBLIC_KEY"]

rows = []  # (what, median, spread, n, note)


def run(cmd, env=None, check=True, **kw):
    return subprocess.run(cmd, env=env, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def stats(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[0], xs[-1]


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def record(what, xs, unit="ms", note=""):
    med, lo, hi = stats(xs)
    rows.append((what, f"{med:.1f} {unit}", f"{lo:.1f}–{hi:.1f}", len(xs), note))
    return med


def ssh_op(account, name, distro="busybox", extra=(), opts=(), port=None):
    """One ssh session to `account`; `opts` are ssh options (a key, a ControlPath, a BindAddress:
    source_opts), `port` another sshd's (the floor's)."""
    env = dict(os.environ, PROXMOX_USERNAME="demo", PROXMOX_PASSWORD=PASSWORD, CONTAINER_NAME=name,
               LINUX_DISTRIBUTION=distro, PUBLIC_KEY=PUBKEY)
    base = SSH if port is None else [w if w != str(PORT) else str(port) for w in SSH]
    cmd = base + ["-o", "SendEnv=" + " ".join(ENV_NAMES), *opts, f"{account}@127.0.0.1", *extra]
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    return (time.monotonic() - t0) * 1000, p


# sshd (PerSourceMaxStartups) and lxcprovd (max_unauthenticated_per_source) both drop more than 32
# connections still authenticating from one address (issue 11). A CI fleet has several runners, so
# K clients at once come from 127.0.1.1, 127.0.1.2, ... with at most PER_SOURCE each (loopback
# accepts any 127/8 address).
PER_SOURCE = 25


def source_opts(i):
    """ssh options for the i-th of K clients at once: its source address."""
    return ["-o", f"BindAddress=127.0.1.{i // PER_SOURCE + 1}"]


def sources_note(k):
    n = (k + PER_SOURCE - 1) // PER_SOURCE
    return f"127.0.1.1–127.0.1.{n}" if n > 1 else "127.0.1.1"


def duplicate_ips(outputs):
    """(addresses found, duplicates) in the create outputs' "ip:" lines."""
    ips = [m.group(1) for out in outputs for m in [re.search(r"ip:\s+(\S+)", out)] if m]
    return len(ips), len(ips) - len(set(ips))


def job_of(output):
    m = re.search(r"job:\s+([0-9a-f]{16})", output)
    return m.group(1) if m else None


def phases(job):
    out = run(["lxcprovctl", "logs", job]).stdout
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"([\w-]+)\s+done in ([0-9.]+) ms", out)}


def daemon_pid():
    with open("/run/lxcprov/lxcprovd.pid") as f:
        return int(f.read().strip())


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def bench_e2e(n, distro, template):
    totals, deletes, by_phase = [], [], {}
    for i in range(n + 1):  # the first run warms caches and is not counted
        name = f"bench-{distro[:3]}-{i}"
        ms, p = ssh_op("create-container", name, distro)
        if p.returncode != 0:
            sys.exit(f"create {name} failed ({p.returncode}): {p.stderr.strip()}")
        job = job_of(p.stdout)
        dms, d = ssh_op("delete-container", name)
        if d.returncode != 0:
            sys.exit(f"delete {name} failed: {d.stderr.strip()}")
        if i == 0:
            continue
        totals.append(ms)
        deletes.append(dms)
        for k, v in phases(job).items():
            by_phase.setdefault(k, []).append(v)
    return totals, deletes, by_phase


def bench_debian(n):
    """Create over ssh, then poll until systemd inside says running (or degraded): the time a
    user waits for a Debian container whose services can start. The route is installed before
    the create returns, so it is live by then."""
    creates, up = [], []
    for i in range(n + 1):
        name = f"bench-deb-{i}"
        t0 = time.monotonic()
        ms, p = ssh_op("create-container", name, "debian")
        if p.returncode != 0:
            sys.exit(f"create {name} failed ({p.returncode}): {p.stderr.strip()}")
        state = ""
        for _ in range(3000):  # bounded: 30 s
            r = run(["lxc-attach", "-P", LXCPATH, "-n", name, "--", "systemctl", "is-system-running"], check=False)
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.01)
        total = (time.monotonic() - t0) * 1000
        ssh_op("delete-container", name)
        if state not in ("running", "degraded"):
            sys.exit(f"systemd in {name} never came up (last state {state!r})")
        if i:
            creates.append(ms)
            up.append(total)
    return creates, up


def cli_floor_once(name, template):
    """lxc-copy -s -B overlayfs + lxc-start + lxc-attach true, in ms; then destroyed (not timed)."""
    t0 = time.monotonic()
    run(["lxc-copy", "-P", LXCPATH, "-n", template, "-N", name, "-s", "-B", "overlayfs"])
    run(["lxc-start", "-P", LXCPATH, "-n", name])
    for _ in range(1000):  # lxc-attach can race the container's init for a few ms
        if run(["lxc-attach", "-P", LXCPATH, "-n", name, "--", "true"], check=False).returncode == 0:
            break
    ms = (time.monotonic() - t0) * 1000
    run(["lxc-destroy", "-P", LXCPATH, "-n", name, "-f"], check=False)
    return ms


def bench_cli_floor(n, template):
    xs = [cli_floor_once(f"bench-cli-{i}", template) for i in range(n + 1)]
    return xs[1:]  # the first warms caches and is not counted


# Keys of lxcprovd's config that only an unprivileged, confined container has: the confinement
# (daemon/container/confinement.cpp: id map, capability drops, seccomp, AppArmor, device rules) and
# the overlay's userxattr option (daemon/container/liblxc_runtime.cpp, write_config), which exists
# for the user namespace.
CONFINEMENT_KEYS = ("lxc.idmap", "lxc.cap.", "lxc.seccomp", "lxc.apparmor", "lxc.cgroup.devices",
                    "lxc.cgroup2.devices", "lxc.rootfs.options")


def daemon_config(distro):
    """The config lxcprovd itself wrote for a container of `distro` it made over ssh: the template's
    keys with the daemon's network, limits and confinement in place of its own, as liblxc saved them
    (read, then the container is deleted). Its address, MAC and veth name are free again once it is
    deleted, and the bench's clones, one at a time, reuse them as the daemon would."""
    name = "bench-keys"
    _, p = ssh_op("create-container", name, distro)
    if p.returncode != 0:
        sys.exit(f"create {name} ({distro}) failed: {p.stderr.strip()}")
    try:
        with open(f"{LXCPATH}/{name}/config") as f:
            lines = f.readlines()
    finally:
        _, d = ssh_op("delete-container", name)
    if d.returncode != 0:
        sys.exit(f"delete {name} failed: {d.stderr.strip()}")
    return name, lines


def clone_config(made, name, rootfs_path, privileged):
    """lxcprovd's config `made` (daemon_config) for clone `name`, whose own lxc.rootfs.path (the
    overlay lxc-copy set up) replaces the daemon container's. lxcprovd replaces every key it writes,
    so appending its keys to the template's would repeat some: a second lxc.idmap pair makes the
    kernel refuse the uid_map write (EINVAL) and lxc-start fail. privileged: without the
    confinement keys and with LXC's common.conf (its default seccomp list, capability drops and
    device rules), as the Debian template had before issue 8."""
    made_name, lines = made
    out = ["lxc.include = /usr/share/lxc/config/common.conf\n"] if privileged else []
    for line in lines:
        key = line.split("=", 1)[0].strip()
        if key == "lxc.rootfs.path":
            line = f"lxc.rootfs.path = {rootfs_path}\n"
        elif key == "lxc.uts.name":
            line = f"lxc.uts.name = {name}\n"
        elif privileged and key.startswith(CONFINEMENT_KEYS):
            continue
        if made_name in line:
            sys.exit(f"bench: cannot tell {made_name}'s own value in its config line {line.strip()!r}")
        out.append(line)
    return out


def config_value(path, key):
    with open(path) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == key:
                return v.strip()
    return None


def privileged_copy(template, lxcpath):
    """The template as it was before containers were confined: the same files owned by real ids
    (read back out of the user namespace), LXC's common.conf (as the old Debian template had) and no id
    mapping. Made afresh each run (a copy a crashed run left may be partial)."""
    dst = f"{lxcpath}/{template}"
    shutil.rmtree(dst, ignore_errors=True)
    src = f"{LXCPATH}/{template}"
    os.makedirs(f"{dst}/rootfs")
    first, count = "100000", "65536"
    with open(f"{src}/config") as f:
        config = [line for line in f if not line.startswith("lxc.idmap")]
    reader = subprocess.Popen(["lxc-usernsexec", "-m", f"u:0:{first}:{count}", "-m", f"g:0:{first}:{count}", "--",
                               "tar", "--numeric-owner", "--xattrs", "-cf", "-", "."], cwd=f"{src}/rootfs",
                              stdout=subprocess.PIPE)
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", "-", "-C", f"{dst}/rootfs"],
                   stdin=reader.stdout, check=True)
    reader.stdout.close()
    if reader.wait() != 0:
        sys.exit(f"bench: reading {src}/rootfs out of the user namespace failed ({reader.returncode})")
    with open(f"{dst}/config", "w") as f:
        f.write("lxc.include = /usr/share/lxc/config/common.conf\n")
        for line in config:
            f.write(line.replace(f"{src}/rootfs", f"{dst}/rootfs"))


def boot_cycle(lxcpath, template, name, made, privileged, systemd, poll_s=0.01):
    """Clone (overlay snapshot, as lxcprovd's clone), write lxcprovd's config for it (clone_config),
    start, and wait until a command can be attached (busybox) or systemd says running (debian);
    then kill and destroy. Returns ms; exits with lxc-start's own error if it fails."""
    t0 = time.monotonic()
    try:
        run(["lxc-copy", "-P", lxcpath, "-n", template, "-N", name, "-s", "-B", "overlayfs"])
        config = f"{lxcpath}/{name}/config"
        lines = clone_config(made, name, config_value(config, "lxc.rootfs.path"), privileged)
        with open(config, "w") as f:
            f.writelines(lines)
        p = run(["lxc-start", "-P", lxcpath, "-n", name], check=False)
        if p.returncode != 0:
            sys.exit(f"lxc-start -P {lxcpath} -n {name} failed ({p.returncode}):\n{p.stderr.strip()}")
        state = ""
        for _ in range(6000 if poll_s else 60000):  # bounded: 60 s with the default poll
            if systemd:
                r = run(["lxc-attach", "-P", lxcpath, "-n", name, "--", "systemctl", "is-system-running"],
                        check=False)
                state = r.stdout.strip()
                if state in ("running", "degraded"):
                    break
            elif run(["lxc-attach", "-P", lxcpath, "-n", name, "--", "true"], check=False).returncode == 0:
                state = "ready"
                break
            time.sleep(poll_s)
        else:
            sys.exit(f"{name} did not become ready within 60 s (last state {state!r})")
        return (time.monotonic() - t0) * 1000
    finally:
        run(["lxc-stop", "-P", lxcpath, "-n", name, "-k"], check=False)
        run(["lxc-destroy", "-P", lxcpath, "-n", name, "-f"], check=False)


def bench_confinement(n):
    """Privileged (before) against unprivileged and confined (after), interleaved in one run, both
    with the config lxcprovd writes (the privileged one without the confinement)."""
    priv_path = "/var/lib/lxcprov/bench-privileged"
    os.makedirs(priv_path, mode=0o711, exist_ok=True)
    out = []
    try:
        for template, distro, systemd in (("tpl-busybox", "busybox", False), ("tpl-debian", "debian", True)):
            if not os.path.isdir(f"{LXCPATH}/{template}"):
                continue
            made = daemon_config(distro)
            privileged_copy(template, priv_path)
            before, after = [], []
            for i in range(n + 1):
                b = boot_cycle(priv_path, template, f"bench-priv-{i}", made, True, systemd)
                a = boot_cycle(LXCPATH, template, f"bench-unpriv-{i}", made, False, systemd)
                if i:
                    before.append(b)
                    after.append(a)
            what = "systemd running" if systemd else "attach ready"
            bm = record(f"{template}: privileged clone + start -> {what} (before)", before)
            record(f"{template}: unprivileged, confined clone + start -> {what} (after)", after,
                   note=f"{statistics.median(after) / bm:.2f}× before")
            out.append(template)
    finally:
        shutil.rmtree(priv_path, ignore_errors=True)
    return out


def bench_concurrent(k):
    names = [f"bench-c{k}-{i}" for i in range(k)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=k) as pool:
        results = list(pool.map(lambda i: ssh_op("create-container", names[i], opts=source_opts(i)), range(k)))
    wall = (time.monotonic() - t0) * 1000
    lat = [ms for ms, _ in results]
    failures = sum(1 for _, p in results if p.returncode != 0)
    _, duplicates = duplicate_ips(p.stdout for _, p in results)
    rss = rss_mb(daemon_pid())
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: ssh_op("delete-container", n), names))
    return wall, lat, failures, duplicates, rss


def mem_available_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def container_memory_mb(name):
    """(charged, anonymous) MB of the container's memory cgroup: memory.usage_in_bytes and
    memory.stat's total_rss on cgroup v1, memory.current and memory.stat's anon on v2."""
    v2 = not os.path.isdir("/sys/fs/cgroup/memory")
    usage_key, anon_key = ("memory.current", "anon") if v2 else ("memory.usage_in_bytes", "total_rss")
    usage = run(["lxc-cgroup", "-P", LXCPATH, "-n", name, usage_key]).stdout.strip()
    stat = run(["lxc-cgroup", "-P", LXCPATH, "-n", name, "memory.stat"], check=False).stdout
    anon = next((int(line.split()[1]) for line in stat.splitlines() if line.split()[:1] == [anon_key]), None)
    return int(usage) / 2**20, (anon / 2**20 if anon is not None else float("nan"))


IDLE_S = 5  # how long the containers of bench_idle_memory are left idle, s


def bench_idle_memory(n, idle_s=IDLE_S):
    """Host memory per idle container: `n` containers of each template created over ssh (key-less,
    the default flow), left idle `idle_s`, then each one's memory cgroup read, and the drop in the
    host's MemAvailable from before the creates divided by `n`. Then deleted."""
    out = []
    for template, distro in (("tpl-busybox", "busybox"), ("tpl-debian", "debian")):
        if not os.path.isdir(f"{LXCPATH}/{template}"):
            continue
        names = [f"bench-mem-{distro[:3]}-{i}" for i in range(n)]
        run(["sync"])
        before = mem_available_mb()
        try:
            for name in names:
                _, p = ssh_op("create-container", name, distro)
                if p.returncode != 0:
                    sys.exit(f"create {name} failed ({p.returncode}): {p.stderr.strip()}")
            time.sleep(idle_s)
            after = mem_available_mb()
            charged, anon = zip(*(container_memory_mb(name) for name in names))
        finally:
            for name in names:
                ssh_op("delete-container", name)
        out.append((distro, n, charged, anon, (before - after) / n))
    return out


def bench_scale(rounds, sizes):
    """tests/bench/scale_bench.sh on the build/bench tree (its table, as it prints it). Run under
    the caller's lock: the script takes none itself."""
    p = run([f"{ROOT}/tests/bench/scale_bench.sh", "--rounds", str(rounds), "--sizes", sizes,
             "--build-dir", f"{ROOT}/build/bench"], check=False)
    if p.returncode != 0:
        sys.exit(f"scale_bench.sh failed ({p.returncode}):\n{p.stdout}{p.stderr.strip()}")
    return p.stdout


def main():
    global PUBKEY
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--concurrency", default="10,30,50", help="K creates at once by the password flow (list)")
    ap.add_argument("--no-setup", action="store_true")
    ap.add_argument("--side-by-side", action="store_true",
                    help="only the same-run comparisons: LXD, the ssh floor, multiplexed ssh (side_by_side.py)")
    ap.add_argument("--side-by-side-k", default="10,50,100",
                    help="K concurrent launches / creates by key / floor sessions in those rows (list)")
    ap.add_argument("--scale-rounds", type=int, default=7, help="scale_bench.sh --rounds")
    ap.add_argument("--scale-sizes", default="0,250,500,1000", help="scale_bench.sh --sizes; empty: no scale rows")
    ap.add_argument("--idle-containers", type=int, default=5,
                    help="containers per template for the host memory per idle container; 0: none")
    args = ap.parse_args()
    ks = [int(x) for x in args.side_by_side_k.split(",") if x]
    if os.geteuid() != 0:
        sys.exit("bench.py: run as root")
    if not args.no_setup:
        subprocess.run([f"{ROOT}/scripts/run.sh"], env=dict(os.environ, LXCPROV_DEMO_PASSWORD=PASSWORD),
                       check=True, stdout=subprocess.DEVNULL)
    print(f"Command: {' '.join(sys.argv)}\nMachine: {side_by_side.machine()}", flush=True)
    tmp = tempfile.mkdtemp()
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lxcprov-bench", "-f", f"{tmp}/key"])
    PUBKEY = open(f"{tmp}/key.pub").read().strip()
    try:
        if args.side_by_side:
            side_by_side.run(sys.modules[__name__], args.runs, ks, f"{tmp}/key", PUBKEY, tmp)
            return
        main_rows(args)
        side_by_side.run(sys.modules[__name__], args.runs, ks, f"{tmp}/key", PUBKEY, tmp, own_share_rows=True)
    finally:
        shutil.rmtree(tmp)


def main_rows(args):
    """The rows of issues 5 and 8 (floors, create phases, Debian, confinement, concurrency) and of
    issue 12 items 4 (host memory per idle container, scale_bench.sh)."""
    # The in-process floor needs lxcprov's runtime linked into a small program; the scale bench
    # drives its plans and features with a fake runtime.
    subprocess.run(["cmake", "-S", ROOT, "-B", f"{ROOT}/build/bench", "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", f"{ROOT}/build/bench", "--target", "lxcprov_bench_floor",
                    "lxcprov_bench_scale", "-j2"], check=True, stdout=subprocess.DEVNULL)
    floor_bin = f"{ROOT}/build/bench/tests/lxcprov_bench_floor"

    pid = daemon_pid()
    idle_rss = rss_mb(pid)

    cli = bench_cli_floor(args.runs, "tpl-busybox")
    cli_med = record("busybox: CLI floor (lxc-copy -s -B overlayfs + lxc-start + lxc-attach true)", cli)
    out = run([floor_bin, LXCPATH, "tpl-busybox", "lxcprov0", str(args.runs + 1)]).stdout.split("\n")
    floor = [float(line.split()[0]) for line in out[1:] if line.strip()]
    floor_med = record("busybox: in-process floor (liblxc clone + start + attach true)", floor)
    totals, deletes, by_phase = bench_e2e(args.runs, "busybox", "tpl-busybox")
    e2e_med = record("busybox: lxcprov create over ssh, end to end", totals,
                     note=f"{statistics.median(totals) / cli_med:.2f}× CLI floor, "
                          f"{statistics.median(totals) / floor_med:.1f}× in-process floor")
    for k in by_phase:  # in the order the plan runs them
        record(f"  phase {k} (daemon's own timing)", by_phase[k])
    record("busybox: lxcprov delete over ssh", deletes)
    ssh_floor = []
    for _ in range(args.runs + 1):
        t0 = time.monotonic()
        run(SSH + ["-o", "SendEnv=" + " ".join(ENV_NAMES), "create-container@127.0.0.1", "list"], check=False,
            env=dict(os.environ, PROXMOX_USERNAME="demo", PROXMOX_PASSWORD=PASSWORD))
        ssh_floor.append((time.monotonic() - t0) * 1000)
    record("ssh round trip + auth (list, no container work)", ssh_floor[1:],
           note=f"{statistics.median(ssh_floor[1:]) / e2e_med * 100:.0f}% of the create")

    if os.path.isdir(f"{LXCPATH}/tpl-debian"):
        deb, deb_up = bench_debian(max(5, args.runs // 2))
        record("debian: lxcprov create over ssh, end to end (route live at exit)", deb)
        record("debian: ssh start -> systemd running (is-system-running)", deb_up)

    bench_confinement(max(5, args.runs // 2 + 1))

    shell = []
    for _ in range(30):
        t0 = time.monotonic()
        subprocess.run(["/usr/local/bin/lxcprov-shell", "--socket", "/nonexistent", "list"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={})
        shell.append((time.monotonic() - t0) * 1000)
    record("lxcprov-shell start-up to exit (no daemon)", shell)

    conc = []
    for k in [int(x) for x in args.concurrency.split(",") if x]:
        wall, lat, failures, dups, rss = bench_concurrent(k)
        conc.append((k, wall, pct(lat, 50), pct(lat, 95), pct(lat, 99), failures, dups, rss))

    memory = bench_idle_memory(args.idle_containers) if args.idle_containers > 0 else []
    scale = bench_scale(args.scale_rounds, args.scale_sizes) if args.scale_sizes else None

    print("\n## Latency (median, min–max over N runs after one warm-up)\n")
    print("| what | median | min–max | N | note |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    print("\n## Concurrent creates over ssh (busybox, password flow)\n")
    print(f"Clients spread over source addresses, at most {PER_SOURCE} per address (sshd's and lxcprovd's "
          "per-source limit of connections still authenticating is 32).\n")
    print("| K | source addresses | all done, ms | p50 ms | p95 ms | p99 ms | p99 / p50 | failures | duplicate IPs "
          "| daemon RSS with K containers, MB | vs idle RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for c in conc:
        print(f"| {c[0]} | {sources_note(c[0])} | {c[1]:.0f} | {c[2]:.0f} | {c[3]:.0f} | {c[4]:.0f} | "
              f"{c[4] / c[2]:.2f}× | {c[5]} | {c[6]} | {c[7]:.1f} | {c[7] / idle_rss:.2f}× |")
    print(f"\nDaemon RSS idle: {idle_rss:.1f} MB (VmRSS of lxcprovd before the runs).")

    if memory:
        cg = "v2: memory.current, anon" if not os.path.isdir("/sys/fs/cgroup/memory") else \
            "v1: memory.usage_in_bytes, memory.stat total_rss"
        print(f"\n## Host memory per idle container (created over ssh, idle {IDLE_S} s)\n")
        print(f"Charged: the container's memory cgroup (cgroup {cg}); host: the drop in /proc/meminfo "
              "MemAvailable from before the creates, divided by N (includes lxcprovd's and liblxc's monitor "
              "processes and the page cache the containers pulled in).\n")
        print("| template | N | charged to the cgroup, MB (median, min–max) | of it anonymous, MB | "
              "host MemAvailable drop per container, MB | vs busybox (charged) |")
        print("|---|---|---|---|---|---|")
        base = None
        for distro, n, charged, anon, drop in memory:
            med, lo, hi = stats(charged)
            base = base or med
            print(f"| {distro} | {n} | {med:.1f} ({lo:.1f}–{hi:.1f}) | {statistics.median(anon):.1f} | {drop:.1f} | "
                  f"{med / base:.2f}× |")

    if scale is not None:
        print("\n## Flat at scale (tests/bench/scale_bench.sh, build/bench)\n")
        print(scale.rstrip())


if __name__ == "__main__":
    main()
