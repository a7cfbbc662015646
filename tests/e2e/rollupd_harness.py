"""Drives the built rollupd binary over real HTTP on loopback, as a user would.

Standard library only. The binary comes from $ROLLUPD_BIN. Every daemon gets a
fresh temporary data directory, a free port on 127.0.0.1, --log-level debug,
and its stderr/stdout captured to a file that is printed when a test fails.
"""

import calendar
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0  # the test build runs under AddressSanitizer: slow start
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 60.0

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
PROBLEM_TYPE = re.compile(r"^urn:rollupd:problem:[a-z0-9][a-z0-9-]*$")

# Lines a sanitizer writes when it finds a bug; a daemon log holding one fails the test.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error:")


def rollupd_bin():
    path = os.environ.get("ROLLUPD_BIN", "")
    if not path:
        raise unittest.SkipTest("ROLLUPD_BIN is not set")
    if not os.access(path, os.X_OK):
        raise AssertionError("ROLLUPD_BIN=%r is not an executable file" % path)
    return path


def sanitizer_env(env=None):
    """The environment for a daemon: the caller's, plus sanitizer options that
    make a finding fatal and visible (unless the caller chose its own)."""
    e = dict(os.environ if env is None else env)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    # Settings must come only from what a test passes, never from the runner's
    # shell (ROLLUPD_BIN is the harness's own and means nothing to the daemon).
    for k in list(e):
        if k.startswith("ROLLUPD_"):
            del e[k]
    # Nor may a daemon under test talk to the service manager of whatever runs
    # the tests (sd_notify); test_systemd passes its own NOTIFY_SOCKET.
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        e.pop(k, None)
    return e


def ephemeral_low():
    """The lowest port the kernel hands out to outgoing connections and bind(0)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port nobody listens on, below the ephemeral range: a port
    bind(0) chose could be handed to an outgoing connection (the tests' own
    clients) before the daemon binds it; ports below that range are only
    taken by listeners."""
    low = ephemeral_low()
    start = 10000 if low >= 11024 else 1024  # too little room above 10000: from the first unprivileged port
    end = low if low > start + 100 else 65536  # no room below the range at all: any port
    for _ in range(200):
        port = random.randrange(start, end)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    raise AssertionError("no free loopback port in %d-%d" % (start, end - 1))


def parse_rfc3339_ns(text):
    """RFC 3339 (UTC 'Z' or offset) -> integer nanoseconds since the epoch."""
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)$", text)
    if not m:
        raise ValueError("not RFC 3339: %r" % text)
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "").ljust(9, "0")
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    tz = m.group(8)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        secs -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return secs * 1_000_000_000 + int(frac or "0")


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception as e:  # noqa: BLE001 - report what came instead of JSON
            raise AssertionError("response %d is not JSON (%s): %r" % (self.status, e, self.body[:2000]))

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:2000])


def read_response(conn_response):
    body = conn_response.read()
    return Response(conn_response.status, conn_response.reason, conn_response.getheaders(), body)


def encode_body(body, headers):
    headers = dict(headers or {})
    if body is None:
        return None, headers
    if isinstance(body, (bytes, bytearray)):
        return bytes(body), headers
    if isinstance(body, str):
        return body.encode("utf-8"), headers
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(body).encode("utf-8"), headers


class Client:
    """A keep-alive HTTP/1.1 connection to one daemon (one per thread)."""

    def __init__(self, port, timeout=REQUEST_TIMEOUT):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def _connect(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        return self.conn

    def request(self, method, path, body=None, headers=None):
        data, headers = encode_body(body, headers)
        conn = self._connect()
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = read_response(conn.getresponse())
        except Exception:
            self.close()
            raise
        if (resp.header("Connection", "") or "").lower() == "close":
            self.close()
        return resp

    def post(self, path, body=None, headers=None):
        return self.request("POST", path, body, headers)

    def get(self, path, headers=None):
        return self.request("GET", path, None, headers)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def read_raw_response(sock, buf, deadline):
    """Reads one HTTP/1.1 response (Content-Length framed) from `sock`.

    `buf` holds bytes already read. Returns (Response, leftover bytes), or
    (None, b"") when the peer closed before sending anything.
    """
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise socket.timeout("no complete response head in time: %r" % buf[:500])
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if not buf:
                return None, b""
            raise AssertionError("connection closed inside the response head: %r" % buf[:2000])
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        raise AssertionError("not an HTTP status line: %r" % lines[0])
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    length = 0
    for k, v in headers:
        if k.lower() == "content-length":
            length = int(v)
    while len(rest) < length:
        if time.monotonic() > deadline:
            raise socket.timeout("response body incomplete")
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise AssertionError("connection closed inside the response body")
        rest += chunk
    return Response(int(m.group(1)), "", headers, rest[:length]), rest[length:]


def raw_exchange(port, data, timeout=10.0, shutdown_write=False):
    """Sends raw bytes and reads one HTTP response.

    Returns the Response, or None when the daemon closed the connection
    without answering. Raises socket.timeout if it neither answers nor closes
    within `timeout`.
    """
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if shutdown_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may answer and close before reading all we send
        resp, _ = read_raw_response(s, b"", time.monotonic() + timeout)
        return resp


def raw_pipeline(port, data, count, timeout=30.0):
    """Sends raw bytes holding `count` pipelined requests; returns the responses read."""
    out = []
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        deadline = time.monotonic() + timeout
        for _ in range(count):
            resp, buf = read_raw_response(s, buf, deadline)
            if resp is None:
                break
            out.append(resp)
    return out


class Daemon:
    """One rollupd process on a fresh data dir and a free loopback port."""

    def __init__(self, workdir, name="rollupd", args=(), env=None, port=None, data_dir=None):
        self.bin = rollupd_bin()
        self.workdir = workdir
        self.name = name
        self.args = list(args)
        self.env = dict(env or {})
        self.port = port or free_port()
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="data-", dir=workdir)
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.proc = None
        self.starts = 0

    # -- process control -------------------------------------------------
    def command(self):
        return [self.bin, "--listen", "%s:%d" % (HOST, self.port), "--data-dir", self.data_dir,
                "--log-level", "debug"] + self.args

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        env = sanitizer_env()
        env.update(self.env)
        with open(self.log_path, "ab") as log:
            log.write(("\n===== start #%d: %s\n" % (self.starts, " ".join(self.command()))).encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError("rollupd exited with %d before it was ready; log:\n%s" % (rc, self.log()))
            c = Client(self.port, timeout=5)
            try:
                r = c.get("/readyz")
                last = r
                if r.status == 200:
                    return
            except (OSError, http.client.HTTPException) as e:
                last = e
            finally:
                c.close()
            time.sleep(0.1)
        raise AssertionError("rollupd not ready within %.0fs (last: %r); log:\n%s" % (timeout, last, self.log()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM; returns the exit code (raises if it takes too long)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError("rollupd did not exit within %.0fs of SIGTERM; log:\n%s" % (timeout, self.log()))

    def stop(self):
        """SIGTERM and insist on exit code 0."""
        rc = self.terminate()
        if rc != 0:
            raise AssertionError("rollupd exited with %d after SIGTERM (expected 0); log:\n%s" % (rc, self.log()))

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)

    def restart(self, graceful=True):
        if self.running():
            if graceful:
                self.stop()
            else:
                self.kill9()
        return self.start()

    def cleanup(self):
        if self.running():
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return "(no log)"
        text = data.decode("utf-8", "replace")
        if len(text) > 60000:
            text = "...(%d bytes cut)...\n" % (len(text) - 60000) + text[-60000:]
        return text

    def sanitizer_findings(self):
        text = self.log()
        return [m for m in SANITIZER_MARKS if m in text]

    # -- HTTP ------------------------------------------------------------
    def client(self, timeout=REQUEST_TIMEOUT):
        return Client(self.port, timeout)

    def request(self, method, path, body=None, headers=None):
        c = Client(self.port)
        try:
            return c.request(method, path, body, headers)
        finally:
            c.close()

    def post(self, path, body=None, headers=None):
        return self.request("POST", path, body, headers)

    def get(self, path, headers=None):
        return self.request("GET", path, None, headers)


def notification(email="a@example.com", text="test notification", **extra):
    n = {"Email": email, "Notification": text}
    n.update(extra)
    return n


class E2ETestCase(unittest.TestCase):
    """Starts daemons in a private work dir; prints their logs when a test fails."""

    maxDiff = None

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="rollupd-e2e-")
        self.daemons = []
        self.addCleanup(self._stop_daemons)

    def _stop_daemons(self):
        """Every daemon a test left running gets SIGTERM and must exit 0;
        no daemon's log may hold a sanitizer report."""
        problems = []
        for d in self.daemons:
            if d.running():
                try:
                    rc = d.terminate()
                    if rc != 0:
                        problems.append("%s exited with %d after SIGTERM at the end of the test" % (d.name, rc))
                except AssertionError as e:
                    problems.append(str(e).split("; log:")[0])
                finally:
                    d.cleanup()
            found = d.sanitizer_findings()
            if found:
                problems.append("sanitizer report in the log of %s: %s" % (d.name, found))
        if problems:
            raise AssertionError("; ".join(problems))

    def start_daemon(self, *args, env=None, wait=True, name=None, port=None, data_dir=None):
        d = Daemon(self.workdir, name=name or "rollupd-%d" % (len(self.daemons) + 1), args=args, env=env,
                   port=port, data_dir=data_dir)
        self.daemons.append(d)
        d.start(wait=wait)
        return d

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            daemons = getattr(self, "daemons", [])
            if len(result.failures) + len(result.errors) > before:
                for d in daemons:
                    sys.stderr.write("\n----- %s log (%s) -----\n%s\n----- end of %s log -----\n"
                                     % (d.name, d.log_path, d.log(), d.name))
                sys.stderr.flush()
            if getattr(self, "workdir", None):
                shutil.rmtree(self.workdir, ignore_errors=True)

    # -- assertions --------------------------------------------------------
    def assertStatus(self, resp, status, msg=""):
        self.assertEqual(resp.status, status, "%s: expected %d, got %r" % (msg or "status", status, resp))

    def assertProblem(self, resp, status, msg=""):
        """An RFC 9457 problem response with exactly this status; returns its JSON."""
        self.assertStatus(resp, status, msg)
        ctype = resp.header("Content-Type", "")
        self.assertTrue(ctype.split(";")[0].strip().lower() == "application/problem+json",
                        "%s: Content-Type %r, want application/problem+json" % (msg, ctype))
        p = resp.json()
        self.assertIsInstance(p, dict, msg)
        self.assertIsInstance(p.get("type"), str, "%s: problem without type: %r" % (msg, p))
        self.assertRegex(p["type"], PROBLEM_TYPE, msg)
        self.assertIsInstance(p.get("title"), str, "%s: problem without title: %r" % (msg, p))
        self.assertTrue(p["title"], msg)
        self.assertEqual(p.get("status"), status, "%s: problem status: %r" % (msg, p))
        self.assertIsInstance(p.get("detail"), str, "%s: problem without detail: %r" % (msg, p))
        self.assertTrue(p["detail"].strip(), "%s: empty detail: %r" % (msg, p))
        return p

    def assertAccepted(self, resp, msg=""):
        """202 with the §4.1 shape for one notification; returns its JSON."""
        self.assertStatus(resp, 202, msg)
        ctype = resp.header("Content-Type", "")
        self.assertTrue(ctype.split(";")[0].strip().lower() == "application/json",
                        "%s: Content-Type %r" % (msg, ctype))
        a = resp.json()
        self.assertEqual(set(a), {"Email", "Pending", "Duplicate", "Digest"}, "%s: %r" % (msg, a))
        return a

    def assertTime(self, value, msg=""):
        self.assertIsInstance(value, str, msg)
        self.assertRegex(value, RFC3339_UTC, msg)

    def assertDigest(self, d, email, reason, count, late=False):
        self.assertIsInstance(d, dict, "digest: %r" % (d,))
        for k in ("Id", "Email", "Reason", "Count", "FirstReceivedAt", "EmittedAt", "Late", "Notifications"):
            self.assertIn(k, d, "digest lacks %s: %r" % (k, d))
        self.assertIsInstance(d["Id"], str)
        self.assertTrue(d["Id"])
        self.assertEqual(d["Email"], email, d)
        self.assertEqual(d["Reason"], reason, d)
        self.assertEqual(d["Count"], count, d)
        self.assertIs(d["Late"], late, d)
        self.assertTime(d["FirstReceivedAt"], "FirstReceivedAt")
        self.assertTime(d["EmittedAt"], "EmittedAt")
        self.assertLessEqual(parse_rfc3339_ns(d["FirstReceivedAt"]), parse_rfc3339_ns(d["EmittedAt"]), d)
        self.assertIsInstance(d["Notifications"], list)
        self.assertEqual(len(d["Notifications"]), count, d)
        for n in d["Notifications"]:
            self.assertIsInstance(n, dict)
            self.assertIsInstance(n.get("Notification"), str, n)
            self.assertIsInstance(n.get("Priority"), int, n)
            self.assertTime(n.get("Timestamp"), "notification Timestamp")
        return d

    def texts(self, notifications):
        return [n["Notification"] for n in notifications]

    # -- reading state -------------------------------------------------------
    def open_groups(self, daemon, limit=100, max_pages=50):
        """Every open group via GET /v1/aggregations, following Next."""
        out, after = [], None
        for _ in range(max_pages):
            path = "/v1/aggregations?limit=%d" % limit
            if after is not None:
                path += "&after=" + pct(after)
            r = daemon.get(path)
            self.assertStatus(r, 200, "GET " + path)
            body = r.json()
            self.assertEqual(set(body), {"Aggregations", "Next"}, body)
            out.extend(body["Aggregations"])
            if body["Next"] is None:
                return out
            after = body["Next"]
        self.fail("GET /v1/aggregations did not end within %d pages" % max_pages)

    def digests_of(self, daemon, email, limit=20, max_pages=100):
        """Every digest for `email` via GET /v1/digests, newest first, following Next."""
        out, after = [], None
        for _ in range(max_pages):
            path = "/v1/digests?email=%s&limit=%d" % (pct(email), limit)
            if after is not None:
                path += "&after=" + pct(after)
            r = daemon.get(path)
            self.assertStatus(r, 200, "GET " + path)
            body = r.json()
            self.assertIn("Digests", body)
            self.assertIn("Next", body)
            self.assertLessEqual(len(body["Digests"]), limit, "page larger than limit")
            out.extend(body["Digests"])
            if body["Next"] is None:
                return out
            after = body["Next"]
        self.fail("GET /v1/digests did not end within %d pages" % max_pages)


def pct(text):
    from urllib.parse import quote
    return quote(text, safe="")
