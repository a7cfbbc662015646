"""SPEC §10: rollupd under systemd.

NotifyTest plays the service manager: it binds the unix datagram socket that
systemd would pass in $NOTIFY_SOCKET and checks what the daemon tells it
(sd_notify(3)): READY=1 only once the port answers, WATCHDOG=1 every
WatchdogSec/2, STOPPING=1 on SIGTERM. UnitFileTest checks
config/rollupd.service with systemd-analyze (no systemd as PID 1 needed);
config/verify-unit.sh (ctest systemd.verify_unit) starts it under a real one.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from rollupd_harness import E2ETestCase, READY_TIMEOUT, rollupd_bin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = os.path.join(ROOT, "config", "rollupd.service")
EXAMPLE_CONFIG = os.path.join(ROOT, "config", "rollupd.toml")
INSTALLED_BIN = "/usr/local/bin/rollupd"
MAX_EXPOSURE = 2.0


class NotifySocket:
    """The service manager's end of the notification protocol."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.received = []  # (monotonic time, {name: value}) per datagram

    def close(self):
        self.sock.close()

    def receive(self, timeout):
        """The next datagram as a dict, or None when none came in time."""
        self.sock.settimeout(max(0.001, timeout))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return None
        fields = {}
        for line in data.decode("utf-8", "replace").split("\n"):
            if line:
                k, _, v = line.partition("=")
                fields[k] = v
        self.received.append((time.monotonic(), fields))
        return fields

    def wait_for(self, name, value, timeout):
        """Reads datagrams until one sets name=value; returns it (or None)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.receive(deadline - time.monotonic())
            if m is not None and m.get(name) == value:
                return m
        return None

    def count(self, name, value, duration):
        """How many datagrams setting name=value arrive within `duration` seconds."""
        n = 0
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            m = self.receive(deadline - time.monotonic())
            if m is not None and m.get(name) == value:
                n += 1
        return n

    def seen(self, name, value):
        return [t for t, m in self.received if m.get(name) == value]


class NotifyTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.notify = NotifySocket(tempfile.mkdtemp(prefix="notify-", dir=self.workdir))
        self.addCleanup(self.notify.close)

    def start(self, **env):
        env = dict(env)
        env["NOTIFY_SOCKET"] = self.notify.path
        return self.start_daemon(env=env, wait=False)

    def test_ready_watchdog_stopping(self):
        d = self.start(WATCHDOG_USEC="400000")
        ready = self.notify.wait_for("READY", "1", READY_TIMEOUT)
        self.assertIsNotNone(ready, "no READY=1 within %.0fs" % READY_TIMEOUT)
        # READY=1 promises the database is open and the port bound.
        r = d.get("/readyz")
        self.assertStatus(r, 200, "/readyz right after READY=1")
        self.assertIn("STATUS", ready, "READY=1 without a STATUS= line: %r" % ready)
        self.assertIn("127.0.0.1:%d" % d.port, ready["STATUS"])

        # WATCHDOG_USEC=400ms: a ping every 200ms, so ~10 in 2s; ask for 2.
        self.notify.count("WATCHDOG", "1", 2.0)
        pings = len(self.notify.seen("WATCHDOG", "1"))
        self.assertGreaterEqual(pings, 2, "WATCHDOG=1 pings in the 2s after READY=1: %d" % pings)

        rc = d.terminate()
        stopping = self.notify.wait_for("STOPPING", "1", 5.0)
        self.assertIsNotNone(stopping, "no STOPPING=1 after SIGTERM; got %r" % [m for _, m in self.notify.received])
        self.assertEqual(rc, 0, "exit code after SIGTERM")
        # The drain stops the watchdog: no ping after STOPPING=1.
        t_stop = self.notify.seen("STOPPING", "1")[0]
        late = [t for t in self.notify.seen("WATCHDOG", "1") if t > t_stop]
        self.assertEqual(late, [], "WATCHDOG=1 after STOPPING=1")

    def test_no_watchdog_for_another_process(self):
        # WATCHDOG_PID names the process the pings are expected from; a
        # daemon that is not that process must not send them.
        d = self.start(WATCHDOG_USEC="200000", WATCHDOG_PID="1")
        self.assertIsNotNone(self.notify.wait_for("READY", "1", READY_TIMEOUT), "no READY=1")
        self.notify.count("WATCHDOG", "1", 1.0)
        self.assertEqual(self.notify.seen("WATCHDOG", "1"), [], "WATCHDOG=1 although WATCHDOG_PID is another process")
        d.stop()


class UnitFileTest(unittest.TestCase):
    """config/rollupd.service passes systemd-analyze verify and security."""

    def setUp(self):
        self.analyze = shutil.which("systemd-analyze")
        if self.analyze is None:
            self.skipTest("systemd-analyze not installed (Debian package systemd)")

    def run_analyze(self, *args):
        return subprocess.run([self.analyze, *args], capture_output=True, text=True, timeout=120)

    def test_verify(self):
        # verify insists that ExecStart= names an executable, so check a copy
        # whose commands point at the built binary instead of the installed one.
        with open(UNIT, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(INSTALLED_BIN, text)
        bin_path = os.path.abspath(rollupd_bin())
        with tempfile.TemporaryDirectory(prefix="rollupd-unit-") as tmp:
            unit = os.path.join(tmp, "rollupd.service")
            with open(unit, "w", encoding="utf-8") as f:
                f.write(text.replace(INSTALLED_BIN, bin_path))
            p = self.run_analyze("verify", unit)
        out = (p.stdout + p.stderr).strip()
        self.assertEqual(p.returncode, 0, "systemd-analyze verify failed:\n" + out)
        self.assertEqual(out, "", "systemd-analyze verify is not clean:\n" + out)

    def test_security_exposure(self):
        p = self.run_analyze("security", "--offline=yes", "--threshold=%d" % int(MAX_EXPOSURE * 10), UNIT)
        out = p.stdout + p.stderr
        m = re.search(r"Overall exposure level for rollupd\.service: (\d+\.\d)", out)
        self.assertIsNotNone(m, "no overall exposure level in:\n" + out)
        self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE, out)
        self.assertEqual(p.returncode, 0, out)

    def test_unit_settings(self):
        with open(UNIT, encoding="utf-8") as f:
            lines = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
        for want in ("Type=notify", "StateDirectory=rollupd", "DynamicUser=yes", "KillSignal=SIGTERM",
                     "Restart=on-failure"):
            self.assertIn(want, lines)
        self.assertTrue(any(ln.startswith("WatchdogSec=") for ln in lines), "no WatchdogSec=")
        # systemd applies RestartPreventExitStatus= to the main process only:
        # a configuration check in ExecStartPre= exiting 78 was retried every
        # RestartSec (config/verify-unit.sh). rollupd checks the file itself.
        self.assertIn("RestartPreventExitStatus=78", lines)
        self.assertEqual([ln for ln in lines if ln.startswith("ExecStartPre=")], [])
        start = [ln for ln in lines if ln.startswith("ExecStart=")]
        self.assertEqual(len(start), 1)
        self.assertIn("--data-dir /var/lib/rollupd", start[0], "data must live in the StateDirectory")

    def test_example_config_passes_check_config(self):
        # The file the README installs, checked as the daemon checks it at start.
        p = subprocess.run([rollupd_bin(), "check-config", "--config", EXAMPLE_CONFIG], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
