"""Same-run comparisons of issue 12, interleaved round by round: LXD's launch -> exec true ->
delete -f against lxcprov's create + delete over ssh (password flow, registered key, registered key
over one multiplexed ssh connection per account), and the ssh floor (the same sshd configuration,
forced command /bin/true) by key and by the password flow; K creates at once by key against K
floor sessions at once by key, for each K; and, in the full run, lxcprov's own share of a create
(create by key minus one floor session by key) against the CLI floor. `b` is the bench module (its
ssh_op, PORT, LXCPATH, daemon RSS, CLI floor)."""

import json
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
CONFIG = "/etc/lxcprov/lxcprovd.json"


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


def _at_once(k, op):
    """op(i) for i in 0..k-1, all at once: (ms until the last returned, results)."""
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=k) as pool:
        res = list(pool.map(op, range(k)))
    return (time.monotonic() - t0) * 1000, res


def _daemon_limits(b, ks):
    """The daemon's own session limits (its config, else the defaults) against the largest K: key
    sessions count against max_sessions only; sessions still authenticating also against
    max_unauthenticated_per_source (per source address) and max_sessions - reserved_sessions."""
    try:
        with open(CONFIG) as f:
            conf = json.load(f)
    except (OSError, ValueError):
        conf = {}
    max_sessions = conf.get("max_sessions", 256)
    reserved = conf.get("reserved_sessions", 32)
    per_source = conf.get("max_unauthenticated_per_source", 32)
    note = (f"lxcprovd ({CONFIG}): max_sessions {max_sessions}, reserved_sessions {reserved}, "
            f"max_unauthenticated_per_source {per_source}")
    if max(ks) > max_sessions:
        sys.exit(f"bench: K = {max(ks)} is more than the daemon's max_sessions ({note})")
    if b.PER_SOURCE > per_source:
        sys.exit(f"bench: {b.PER_SOURCE} clients per source address is more than the daemon allows ({note})")
    return note


def own_share(b, runs, key_opts, floor):
    """Issue 12 item 3: lxcprov's own share of a create = (create over ssh by key) - (one floor
    session by key), busybox and Debian, against the CLI floor (lxc-copy -s -B overlayfs +
    lxc-start + lxc-attach true), all three interleaved round by round. The deletes are not timed.
    A fourth series is the same CLI floor with the container configured as lxcprovd configures its
    own (network on the bridge, limits, confinement: b.boot_cycle with b.daemon_config), since the
    template's own config has no network and the plain floor skips what every create must do."""
    for template, distro in (("tpl-busybox", "busybox"), ("tpl-debian", "debian")):
        if not os.path.isdir(f"{b.LXCPATH}/{template}"):
            continue
        made = b.daemon_config(distro)
        floor_s, create_s, cli_s, same_s = [], [], [], []
        for i in range(runs + 1):  # round 0 warms caches and is not counted
            f_ms, p = b.ssh_op("create-container", "floor", opts=key_opts, port=floor.port)
            _check(p, "floor session (key)")
            name = f"bench-own-{distro[:3]}-{i}"
            c_ms, p = b.ssh_op("create-container", name, distro, opts=key_opts)
            _check(p, f"create {name}")
            _check(b.ssh_op("delete-container", name, opts=key_opts)[1], f"delete {name}")
            cli_ms = b.cli_floor_once(f"bench-cli-{distro[:3]}-{i}", template)
            same_ms = b.boot_cycle(b.LXCPATH, template, f"bench-same-{distro[:3]}-{i}", made, privileged=False,
                                   systemd=False, poll_s=0)
            if i:
                floor_s.append(f_ms)
                create_s.append(c_ms)
                cli_s.append(cli_ms)
                same_s.append(same_ms)
        t = Table()
        cli_med = t.add(f"CLI floor: lxc-copy -s -B overlayfs + lxc-start + lxc-attach true ({template})", cli_s,
                        note="1.00× (baseline)")
        same_med = t.add("CLI floor with lxcprovd's container config (veth on the bridge, limits, confinement): "
                         "lxc-copy + config + lxc-start + lxc-attach true", same_s)
        create_med = t.add(f"lxcprov create over ssh, registered key ({distro})", create_s)
        floor_med = t.add("ssh floor: one session, forced command /bin/true, registered key", floor_s)
        t.ratio_to(cli_med, "CLI floor")
        t.print(f"lxcprov's own share of a create, {distro} (medians of {runs} interleaved rounds after one warm-up)")
        # The rounds are paired: the median of each round's create - floor is the sounder figure;
        # the difference of the medians is printed beside it.
        share = statistics.median(c - f for c, f in zip(create_s, floor_s))
        verdict = "met" if share <= 2 * cli_med else "not met"
        print(f"\n{distro}: own share {share:.0f} ms (median of the rounds' create − floor session) = "
              f"{share / cli_med:.2f}× CLI floor (target ≤ 2×: {verdict}); difference of the medians "
              f"{create_med - floor_med:.0f} ms; create {create_med:.0f} ms, one floor session {floor_med:.0f} ms, "
              f"CLI floor {cli_med:.0f} ms (interleaved with them; the latency table's CLI floor row is "
              f"measured alone, before the other rows).", flush=True)
        same_verdict = "met" if share <= 2 * same_med else "not met"
        print(f"{distro}: the same own share against the CLI floor with lxcprovd's container config "
              f"({same_med:.0f} ms): {share / same_med:.2f}× (≤ 2×: {same_verdict}).", flush=True)


def concurrent(b, ks, key_opts, floor, lxd, image):
    """Issue 12 items 1 and 5: for each K, LXD's K launches at once, lxcprov's K creates at once by
    key and the floor's K sessions at once by key (the clients spread over source addresses, at
    most b.PER_SOURCE each), failures and duplicate IPs; the creates are deleted after each K."""
    print("\n## K concurrent launches / creates (busybox) against K ssh floor sessions at once\n")
    print(f"Each K's clients are spread over source addresses 127.0.1.1, 127.0.1.2, ..., at most {b.PER_SOURCE} "
          "per address, for lxcprov and the floor alike (ssh -o BindAddress): sshd's PerSourceMaxStartups 32 "
          "drops, on purpose, more than 32 connections still authenticating from one address, and a CI fleet "
          f"has several runners. {_daemon_limits(b, ks)}; key sessions count against max_sessions only.\n")
    print("| K | source addresses | LXD: K × lxc launch at once | lxcprov: K creates at once, key | "
          "floor: K sessions at once, key | lxcprov / floor (target ≤ 1.2×) | lxcprov / LXD | failures | "
          "floor failures | duplicate IPs | LXD failures |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for k in ks:
        lxd_wall, lxd_fail = lxd.concurrent(image, k) if image else (None, None)
        names = [f"bench-sbs-c{k}-{i}" for i in range(k)]
        wall, res = _at_once(k, lambda i: b.ssh_op("create-container", names[i], opts=key_opts + b.source_opts(i)))
        fails = sum(1 for _, p in res if p.returncode != 0)
        found, dups = b.duplicate_ips(p.stdout for _, p in res)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda nm: b.ssh_op("delete-container", nm, opts=key_opts), names))
        f_wall, f_res = _at_once(k, lambda i: b.ssh_op("create-container", "floor", port=floor.port,
                                                       opts=key_opts + b.source_opts(i)))
        f_fails = sum(1 for _, p in f_res if p.returncode != 0)
        ratio = wall / f_wall
        lxd_cells = (f"{lxd_wall:.0f} ms", f"{wall / lxd_wall:.2f}×", str(lxd_fail)) if lxd_wall else ("–", "–", "–")
        print(f"| {k} | {b.sources_note(k)} | {lxd_cells[0]} | {wall:.0f} ms | {f_wall:.0f} ms | {ratio:.2f}× "
              f"({'met' if ratio <= 1.2 and not fails and not f_fails else 'not met'}) | {lxd_cells[1]} | {fails} | "
              f"{f_fails} | {dups} "
              f"(of {found} addresses) | {lxd_cells[2]} |", flush=True)


def run(b, runs, ks, key_path, pubkey, tmp, own_share_rows=False):
    """ks: the K of the concurrent rows; own_share_rows: also item 3 (the full run)."""
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

        if own_share_rows:
            own_share(b, runs, key_opts, floor)

        concurrent(b, ks, key_opts, floor, lxd, images.get("busybox"))

        lxcprov_rss = b.rss_mb(b.daemon_pid())
        lxd_rss = lxd.rss_mb() if have_lxd else None
        print("\n| daemon RSS (VmRSS, idle after the rows above) | MB | vs LXD |")
        print("|---|---|---|")
        if have_lxd:
            print(f"| LXD {lxd.version()} (`lxd`) | {lxd_rss:.1f} | 1.00× (baseline) |")
        print(f"| lxcprovd | {lxcprov_rss:.1f} | {f'{lxcprov_rss / lxd_rss:.2f}×' if lxd_rss else '–'} |")
    finally:
        _close_masters(b, control)
        floor.remove()
        subprocess.run(["lxcprovctl", "key", "del", fingerprint], stdout=subprocess.DEVNULL)
        lxd.teardown()
