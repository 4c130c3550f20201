"""LXD beside lxcprov in the same bench run (issue 12): Debian's `lxd` package, a `dir` pool, a
bridge of its own with no NAT, no image server. The images are the rootfs of the templates lxcprov
clones, read back out of their user namespace (the files belong to the real ids, as LXD expects
of an image) and imported with a metadata.yaml. PID 1 is not systemd here, so the daemon is started
by hand when it is not running and shut down again at the end if this module started it."""

import json
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

POOL = "lxcprov-bench"
BRIDGE = "lxdbench0"
# A bridge of its own on an address nothing else here uses; NAT off, so nothing leaves the host.
BRIDGE_ADDRESS = "10.213.77.1/24"
LOG = "/var/log/lxd/lxd.log"

PRESEED = f"""config: {{}}
networks:
- name: {BRIDGE}
  type: bridge
  config:
    ipv4.address: {BRIDGE_ADDRESS}
    ipv4.nat: "false"
    ipv6.address: none
storage_pools:
- name: {POOL}
  driver: dir
profiles:
- name: default
  devices:
    root: {{path: /, pool: {POOL}, type: disk}}
    eth0: {{name: eth0, network: {BRIDGE}, type: nic}}
"""


def _run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


class Lxd:
    """Why LXD could not be used is kept in `unavailable` (the bench prints it instead of rows)."""

    def __init__(self):
        self.started = None  # the Popen of a daemon this bench started
        self.unavailable = None

    def query(self, path):
        return json.loads(_run(["lxc", "query", path]).stdout)

    def setup(self):
        if not os.path.exists("/usr/bin/lxd"):
            self.unavailable = "LXD is not installed (apt-get install lxd)"
            return False
        if _run(["lxc", "query", "/1.0"], check=False).returncode != 0:
            os.makedirs(os.path.dirname(LOG), exist_ok=True)
            if _run(["getent", "group", "lxd"], check=False).returncode != 0:
                _run(["groupadd", "--system", "lxd"])
            self.started = subprocess.Popen(["lxd", "--group", "lxd", f"--logfile={LOG}"], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True)
            w = _run(["lxd", "waitready", "--timeout", "60"], check=False)
            if w.returncode != 0:
                self.unavailable = f"lxd did not become ready: {w.stderr.strip()}; see {LOG}"
                return False
        pools = [p["name"] for p in self.query("/1.0/storage-pools?recursion=1")]
        if POOL not in pools:
            p = _run(["lxd", "init", "--preseed"], check=False, input=PRESEED)
            if p.returncode != 0:
                self.unavailable = f"lxd init --preseed failed: {p.stderr.strip()}"
                return False
        return True

    def import_template(self, lxcpath, template, alias, first="100000", count="65536"):
        """Imports lxcpath/template's rootfs as image `alias` unless an image of the same content
        is there (the metadata's creation_date is the template config's mtime, so an unchanged
        template gives the same tarballs and fingerprint)."""
        src = f"{lxcpath}/{template}"
        stamp = int(os.stat(f"{src}/config").st_mtime)
        aliases = {a["name"]: a["target"] for a in self.query("/1.0/images/aliases?recursion=1")}
        with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
            with open(f"{tmp}/metadata.yaml", "w") as f:
                f.write(f"architecture: x86_64\ncreation_date: {stamp}\n"
                        f"properties:\n  description: lxcprov {template} (bench)\n  os: {alias}\n")
            _run(["tar", "--mtime", f"@{stamp}", "--owner", "0", "--group", "0", "-C", tmp, "-cf", f"{tmp}/meta.tar",
                  "metadata.yaml"])
            with open(f"{tmp}/rootfs.tar", "wb") as out:
                reader = subprocess.run(["lxc-usernsexec", "-m", f"u:0:{first}:{count}", "-m", f"g:0:{first}:{count}",
                                         "--", "tar", "--numeric-owner", "--xattrs", "--sort=name", "-cf", "-", "."],
                                        cwd=f"{src}/rootfs", stdout=out, stderr=subprocess.PIPE)
            if reader.returncode != 0:
                raise RuntimeError(f"reading {src}/rootfs failed: {reader.stderr.decode().strip()}")
            fp = _run(["sh", "-c", f"cat {tmp}/meta.tar {tmp}/rootfs.tar | sha256sum"]).stdout.split()[0]
            if aliases.get(alias) == fp:
                return fp
            if alias in aliases:  # an image of an older template: replaced
                _run(["lxc", "image", "alias", "delete", alias])
                _run(["lxc", "image", "delete", aliases[alias]], check=False)
            if _run(["lxc", "image", "info", fp], check=False).returncode == 0:
                _run(["lxc", "image", "alias", "create", alias, fp])
            else:
                _run(["lxc", "image", "import", f"{tmp}/meta.tar", f"{tmp}/rootfs.tar", "--alias", alias])
        return fp

    def cycle(self, image, name):
        """launch -> exec true -> delete -f; returns (total, launch, exec, delete) in ms."""
        t0 = time.monotonic()
        p = _run(["lxc", "launch", image, name], check=False)
        t1 = time.monotonic()
        if p.returncode != 0:
            raise RuntimeError(f"lxc launch {image} {name} failed: {p.stderr.strip()}")
        e = _run(["lxc", "exec", name, "--", "true"], check=False)
        t2 = time.monotonic()
        d = _run(["lxc", "delete", "-f", name], check=False)
        t3 = time.monotonic()
        if e.returncode != 0 or d.returncode != 0:
            raise RuntimeError(f"lxc exec/delete {name} failed: {e.stderr.strip()} {d.stderr.strip()}")
        ms = lambda a, b: (b - a) * 1000
        return ms(t0, t3), ms(t0, t1), ms(t1, t2), ms(t2, t3)

    def concurrent(self, image, k, prefix="bench-lxd-c"):
        """K launches at once: (all returned ms, failures); then every one is deleted."""
        names = [f"{prefix}{k}-{i}" for i in range(k)]
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=k) as pool:
            results = list(pool.map(lambda n: _run(["lxc", "launch", image, n], check=False), names))
        wall = (time.monotonic() - t0) * 1000
        failures = sum(1 for r in results if r.returncode != 0)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda n: _run(["lxc", "delete", "-f", n], check=False), names))
        return wall, failures

    def rss_mb(self):
        pid = self.query("/1.0")["environment"]["server_pid"]
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def version(self):
        return self.query("/1.0")["environment"]["server_version"]

    def teardown(self):
        if self.started is not None:
            _run(["lxd", "shutdown"], check=False, timeout=120)
            self.started.wait(timeout=60)
