"""Same-run comparisons of issue 12, interleaved round by round: LXD's launch -> exec true ->
delete -f against lxcprov's create + delete over ssh (password flow, registered key, registered key
over one multiplexed ssh connection per account), and the ssh floor (the same sshd configuration,
forced command /bin/true) by key and by the password flow. `b` is the bench module (its ssh_op,
PORT, LXCPATH, daemon RSS)."""

import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from lxd import Lxd
from ssh_floor import FloorSshd

FLOOR_ROOT = "/var/lib/lxcprov/bench-floor"


def _stats(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[0], xs[-1]


class Table:
    def __init__(self):
        self.rows = []

    def add(self, what, xs, note=""):
        med, lo, hi = _stats(xs)
        self.rows.append([what, med, f"{lo:.1f}–{hi:.1f}", len(xs), note])
        return med

    def ratio_to(self, base, label):
        """A note on every row: its median against `base` (the LXD cycle of the same run)."""
        for r in self.rows:
            if base and not r[4]:
                r[4] = f"{r[1] / base:.2f}× {label} ({base / r[1]:.1f}× faster)" if r[1] < base else \
                    f"{r[1] / base:.2f}× {label}"

    def print(self, title):
        print(f"\n## {title}\n")
        print("| what | median | min–max | N | vs |")
        print("|---|---|---|---|---|")
        for r in self.rows:
            print(f"| {r[0]} | {r[1]:.1f} ms | {r[2]} | {r[3]} | {r[4]} |")


def _check(p, what):
    if p.returncode != 0:
        sys.exit(f"{what} failed ({p.returncode}): {p.stderr.strip()}")


def _cycle(b, name, distro, opts):
    """lxcprov create + delete over ssh; the create also waited for a working attach."""
    c_ms, c = b.ssh_op("create-container", name, distro, opts=opts)
    _check(c, f"create {name}")
    d_ms, d = b.ssh_op("delete-container", name, opts=opts)
    _check(d, f"delete {name}")
    return c_ms + d_ms


def _open_masters(b, key_opts, control):
    """One ControlMaster per account (a connection authenticates as one ssh account, whose forced
    command is the operation), authenticated once with the key and kept open. The master's own
    SendEnv decides which variables its sessions may pass (OpenSSH filters a multiplexed client's
    environment through the master's list), so it names them all."""
    for account in ("create-container", "delete-container"):
        p = subprocess.run(b.SSH + key_opts + ["-o", "SendEnv=" + " ".join(b.ENV_NAMES),
                                               "-o", "ControlMaster=yes", "-o", f"ControlPath={control}",
                                               "-o", "ControlPersist=yes", "-f", "-N", f"{account}@127.0.0.1"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _check(p, f"ssh ControlMaster for {account}")


def _close_masters(b, control):
    for account in ("create-container", "delete-container"):
        subprocess.run(b.SSH + ["-o", f"ControlPath={control}", "-O", "exit", f"{account}@127.0.0.1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def machine():
    load = open("/proc/loadavg").read().split()[:3]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return (f"{os.cpu_count()} vCPU ({cpu}), kernel {platform.release()}, load average {' '.join(load)} at start, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def run(b, runs, k, key_path, pubkey, tmp):
    print(f"\nCommand: {' '.join(sys.argv)}\nMachine: {machine()}", flush=True)
    lxd = Lxd()
    have_lxd = lxd.setup()
    images = {}
    if have_lxd:
        for template, distro in (("tpl-busybox", "busybox"), ("tpl-debian", "debian")):
            if os.path.isdir(f"{b.LXCPATH}/{template}"):
                t0 = time.monotonic()
                lxd.import_template(b.LXCPATH, template, f"bench-{distro}")
                images[distro] = f"bench-{distro}"
                print(f"LXD image bench-{distro} from {template}: {time.monotonic() - t0:.1f} s", flush=True)
    add = subprocess.run(["lxcprovctl", "key", "add", "demo"], input=pubkey + "\n", text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _check(add, "lxcprovctl key add demo")
    fingerprint = add.stdout.split()[1]
    floor = FloorSshd(FLOOR_ROOT, b.PORT + 10, pubkey)
    control = f"{tmp}/cm-%r"
    key_opts = ["-i", key_path, "-o", "IdentitiesOnly=yes", "-o", "PubkeyAuthentication=yes"]
    pw_opts = ["-o", "PubkeyAuthentication=no"]
    mux_opts = ["-o", f"ControlPath={control}", "-o", "ControlMaster=no"]
    try:
        floor.start()
        _open_masters(b, key_opts, control)
        bb = Table()
        series = {n: [] for n in ("floor_pw", "floor_key", "pw", "key", "mux", "lxd", "lxd_launch", "lxd_exec",
                                  "lxd_delete")}
        for i in range(runs + 1):  # round 0 warms caches and is not counted
            got = {}
            got["floor_pw"], p = b.ssh_op("create-container", "floor", opts=pw_opts, port=floor.port)
            _check(p, "floor session (password flow)")
            got["floor_key"], p = b.ssh_op("create-container", "floor", opts=key_opts, port=floor.port)
            _check(p, "floor session (key)")
            got["pw"] = _cycle(b, f"bench-sbs-pw-{i}", "busybox", pw_opts)
            got["key"] = _cycle(b, f"bench-sbs-key-{i}", "busybox", key_opts)
            got["mux"] = _cycle(b, f"bench-sbs-mux-{i}", "busybox", mux_opts)
            if "busybox" in images:
                got["lxd"], got["lxd_launch"], got["lxd_exec"], got["lxd_delete"] = lxd.cycle(images["busybox"],
                                                                                              f"bench-lxd-bb-{i}")
            if i:
                for n, v in got.items():
                    series[n].append(v)
        lxd_med = statistics.median(series["lxd"]) if series["lxd"] else None
        if lxd_med:
            bb.add("LXD: lxc launch + exec true + delete -f", series["lxd"], note="1.00× (baseline)")
            bb.add("  LXD launch", series["lxd_launch"], note="part of the cycle")
            bb.add("  LXD exec true", series["lxd_exec"], note="part of the cycle")
            bb.add("  LXD delete -f", series["lxd_delete"], note="part of the cycle")
        bb.add("lxcprov create + delete over ssh, password flow", series["pw"])
        bb.add("lxcprov create + delete over ssh, registered key", series["key"])
        bb.add("lxcprov create + delete, registered key, multiplexed (ControlMaster)", series["mux"])
        bb.add("ssh floor: session with forced command /bin/true, password flow (no lxcprov)", series["floor_pw"])
        bb.add("ssh floor: session with forced command /bin/true, registered key (no lxcprov)", series["floor_key"])
        bb.ratio_to(lxd_med, "LXD cycle")
        bb.print(f"Side by side, busybox (medians of {runs} interleaved rounds after one warm-up)")
        if not have_lxd:
            print(f"\nLXD: no rows: {lxd.unavailable}")
        key_med, floor_key = statistics.median(series["key"]), statistics.median(series["floor_key"])
        pw_med, floor_pw = statistics.median(series["pw"]), statistics.median(series["floor_pw"])
        print(f"\nssh's share: a key cycle (two sessions) is {key_med:.0f} ms, two floor sessions by key "
              f"{2 * floor_key:.0f} ms, so lxcprov's own part is ~{key_med - 2 * floor_key:.0f} ms; by the password "
              f"flow {pw_med:.0f} ms against {2 * floor_pw:.0f} ms of ssh, ~{pw_med - 2 * floor_pw:.0f} ms lxcprov "
              f"(with two password checks); multiplexed {statistics.median(series['mux']):.0f} ms.")

        if "debian" in images:
            deb = Table()
            n = max(3, runs // 2)
            key_s, lxd_s = [], []
            for i in range(n + 1):
                kms = _cycle(b, f"bench-sbs-deb-{i}", "debian", key_opts)
                lms = lxd.cycle(images["debian"], f"bench-lxd-deb-{i}")[0]
                if i:
                    key_s.append(kms)
                    lxd_s.append(lms)
            base = deb.add("LXD: lxc launch + exec true + delete -f", lxd_s, note="1.00× (baseline)")
            deb.add("lxcprov create + delete over ssh, registered key", key_s)
            deb.ratio_to(base, "LXD cycle")
            deb.print(f"Side by side, Debian (medians of {n} interleaved rounds after one warm-up)")

        print(f"\n## {k} concurrent launches / creates (busybox)\n")
        print("| what | all returned | failures |")
        print("|---|---|---|")
        lxd_wall = None
        if "busybox" in images:
            lxd_wall, lxd_fail = lxd.concurrent(images["busybox"], k)
            print(f"| LXD: {k} × lxc launch at once | {lxd_wall:.0f} ms | {lxd_fail} |")
        names = [f"bench-sbs-c{i}" for i in range(k)]
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=k) as pool:
            res = list(pool.map(lambda nm: b.ssh_op("create-container", nm, opts=key_opts), names))
        wall = (time.monotonic() - t0) * 1000
        fails = sum(1 for _, p in res if p.returncode != 0)
        ratio = f" ({lxd_wall / wall:.1f}× faster than LXD)" if lxd_wall else ""
        print(f"| lxcprov: {k} creates over ssh at once, registered key | {wall:.0f} ms{ratio} | {fails} |")
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda nm: b.ssh_op("delete-container", nm, opts=key_opts), names))

        lxcprov_rss = b.rss_mb(b.daemon_pid())
        print("\n| daemon RSS (VmRSS, idle after the rows above) | MB |")
        print("|---|---|")
        if have_lxd:
            print(f"| LXD {lxd.version()} (`lxd`) | {lxd.rss_mb():.1f} |")
        print(f"| lxcprovd | {lxcprov_rss:.1f} |")
    finally:
        _close_masters(b, control)
        floor.remove()
        subprocess.run(["lxcprovctl", "key", "del", fingerprint], stdout=subprocess.DEVNULL)
        lxd.teardown()
