"""The ssh floor (issue 12): an sshd rendered by the same scripts/setup-sshd.sh as lxcprov's own
instance (same accounts, PAM service, AuthenticationMethods, AcceptEnv, limits), on its own port and
directory, whose forced command is /bin/true: what a session costs before lxcprov does anything.
By key: the key is in this sshd's own root-owned authorized_keys with a `command="/bin/true"` line,
as `lxcprovctl key add` renders one for lxcprov-shell. By the password flow: keyboard-interactive
through PAM lxcprov-sshd (no prompt), as a session without a registered key reaches the daemon."""

import os
import shutil
import subprocess
import time

ACCOUNTS = ("create-container", "container-exists", "delete-container", "update-container")


class FloorSshd:
    def __init__(self, root, port, public_key):
        self.dir = f"{root}/sshd"
        self.keys = f"{root}/keys"
        self.root = root
        self.port = port
        self.public_key = public_key

    def start(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.keys, mode=0o755)
        os.chmod(self.root, 0o755)
        for account in ACCOUNTS:
            with open(f"{self.keys}/{account}", "w") as f:
                f.write(f'restrict,pty,command="/bin/true" {self.public_key}\n')
            os.chmod(f"{self.keys}/{account}", 0o644)
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        subprocess.run([f"{here}/scripts/setup-sshd.sh", "--dir", self.dir, "--port", str(self.port), "--shell",
                        "/bin/true", "--socket", "/nonexistent", "--authorized-keys-dir", self.keys, "--start"],
                       check=True, stdout=subprocess.DEVNULL)
        for _ in range(200):  # bounded: 10 s
            if subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{self.port}"],
                              stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the floor sshd did not listen on {self.port}; see {self.dir}/sshd.log")

    def stop(self):
        pidfile = f"{self.dir}/sshd.pid"
        if os.path.exists(pidfile):
            try:
                os.kill(int(open(pidfile).read().strip()), 15)
            except (ProcessLookupError, ValueError):
                pass

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
