"""Delivery of digests to sinks (SPEC §5): log, file, webhook (Standard
Webhooks signature, retries, dead letter and redelivery, no redirects).
The webhook receiver is a small HTTP server on 127.0.0.1 inside the test."""

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rollupd_harness import E2ETestCase, notification, pct

SECRET_BYTES = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()

DIGEST_KEYS = ("Id", "Email", "Reason", "Count", "FirstReceivedAt", "EmittedAt", "Late", "Notifications")


class Receiver:
    """Records every request; answers with the next status from `script`
    (the last one repeats)."""

    def __init__(self, script=(200,), headers=None):
        self.script = list(script)
        self.extra_headers = dict(headers or {})
        self.requests = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer.cond:
                    n = len(outer.requests)
                    outer.requests.append({"method": self.command, "path": self.path,
                                           "headers": {k.lower(): v for k, v in self.headers.items()},
                                           "body": body, "at": time.time()})
                    status = outer.script[min(n, len(outer.script) - 1)]
                    outer.cond.notify_all()
                self.send_response(status)
                for k, v in outer.extra_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _handle
            do_GET = _handle
            do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def wait_for(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class DeliveryCase(E2ETestCase):
    def receiver(self, *args, **kw):
        r = Receiver(*args, **kw)
        self.addCleanup(r.close)
        return r

    def digest_for(self, d, email, text="x"):
        a = self.assertAccepted(d.post("/notifications", notification(email, text, Priority="HIGH")))
        return self.assertDigest(a["Digest"], email, "priority", 1)

    def assertSameDigest(self, got, want, msg=""):
        for k in DIGEST_KEYS:
            self.assertEqual(got.get(k), want[k], "%s: field %s" % (msg, k))


class LogSinkTest(DeliveryCase):
    def test_one_log_line_per_digest(self):
        d = self.start_daemon()
        dig = self.digest_for(d, "log@example.com")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and dig["Id"] not in d.log():
            time.sleep(0.2)
        lines = [line for line in d.log().splitlines() if dig["Id"] in line]
        self.assertTrue(lines, "no log line names digest %s" % dig["Id"])


class FileSinkTest(DeliveryCase):
    def _lines(self, path):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        if not data.endswith(b"\n"):
            data = data[:data.rfind(b"\n") + 1]
        return [json.loads(x) for x in data.decode().splitlines() if x.strip()]

    def _wait_lines(self, path, n, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self._lines(path)
            if len(lines) >= n:
                return lines
            time.sleep(0.2)
        return self._lines(path)

    def test_file_sink_appends_one_json_line_per_digest(self):
        path = os.path.join(self.workdir, "digests.jsonl")
        d = self.start_daemon("--digest-file", path)
        digs = []
        for i in range(3):
            for j in range(3):
                a = self.assertAccepted(d.post("/notifications", notification("file@example.com", "f-%d-%d" % (i, j))))
            digs.append(self.assertDigest(a["Digest"], "file@example.com", "count", 3))
        lines = self._wait_lines(path, 3)
        self.assertEqual([x["Id"] for x in lines], [x["Id"] for x in digs], "one line per digest, in order")
        for got, want in zip(lines, digs):
            self.assertSameDigest(got, want, "file line")

        # Retired entries are not written again after a graceful restart.
        d.restart()
        time.sleep(2)
        self.assertEqual(len(self._lines(path)), 3, "a graceful restart must not redeliver retired digests")


class WebhookTest(DeliveryCase):
    def assertSigned(self, req, digest_id):
        h = req["headers"]
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], "/hook")
        self.assertEqual(h.get("webhook-id"), digest_id)
        ts = h.get("webhook-timestamp")
        self.assertIsNotNone(ts, "no webhook-timestamp: %r" % h)
        self.assertRegex(ts, r"^\d+$", "webhook-timestamp is integer seconds")
        self.assertLess(abs(int(ts) - time.time()), 300, "webhook-timestamp is now")
        self.assertTrue((h.get("content-type") or "").startswith("application/json"), h)
        sig = h.get("webhook-signature")
        self.assertIsNotNone(sig, "no webhook-signature although a secret is set: %r" % h)
        expected = base64.b64encode(hmac.new(SECRET_BYTES, ("%s.%s." % (digest_id, ts)).encode() + req["body"],
                                             hashlib.sha256).digest()).decode()
        self.assertIn("v1," + expected, sig.split(" "), "signature %r, want v1,%s" % (sig, expected))

    def test_signed_delivery(self):
        rx = self.receiver()
        d = self.start_daemon("--webhook-url", rx.url(), "--webhook-secret", SECRET)
        dig = self.digest_for(d, "hook@example.com")
        reqs = rx.wait_for(1, 15)
        self.assertEqual(len(reqs), 1, "webhook deliveries: %r" % reqs)
        self.assertSigned(reqs[0], dig["Id"])
        self.assertSameDigest(json.loads(reqs[0]["body"]), dig, "webhook body")

    def test_unsigned_without_secret(self):
        rx = self.receiver()
        d = self.start_daemon("--webhook-url", rx.url())
        dig = self.digest_for(d, "plain@example.com")
        reqs = rx.wait_for(1, 15)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["headers"].get("webhook-id"), dig["Id"])
        self.assertIsNone(reqs[0]["headers"].get("webhook-signature"))

    def test_in_order_per_user(self):
        rx = self.receiver()
        d = self.start_daemon("--webhook-url", rx.url(), "--webhook-secret", SECRET)
        ids = [self.digest_for(d, "order@example.com", "o-%d" % i)["Id"] for i in range(4)]
        reqs = rx.wait_for(4, 20)
        self.assertEqual([r["headers"].get("webhook-id") for r in reqs], ids)

    def test_failure_is_retried_with_the_same_id(self):
        rx = self.receiver(script=(503, 500, 200))
        d = self.start_daemon("--webhook-url", rx.url(), "--webhook-secret", SECRET)
        dig = self.digest_for(d, "retry@example.com")
        reqs = rx.wait_for(3, 30)
        self.assertEqual(len(reqs), 3, "two failures then a success: %r" % [(r["path"], r["at"]) for r in reqs])
        for r in reqs:
            self.assertSigned(r, dig["Id"])
        time.sleep(2)
        self.assertEqual(len(rx.requests), 3, "a confirmed digest is not sent again")

    def test_retry_after_is_honoured(self):
        rx = self.receiver(script=(503, 200), headers={"Retry-After": "3"})
        d = self.start_daemon("--webhook-url", rx.url())
        dig = self.digest_for(d, "later@example.com")
        reqs = rx.wait_for(2, 30)
        self.assertEqual(len(reqs), 2, "a 503 then a success")
        self.assertEqual(reqs[1]["headers"].get("webhook-id"), dig["Id"])
        self.assertGreaterEqual(reqs[1]["at"] - reqs[0]["at"], 2.5, "Retry-After: 3 honoured")

    def test_redirect_is_not_followed(self):
        rx = self.receiver(script=(307,), headers={"Location": "/elsewhere"})
        d = self.start_daemon("--webhook-url", rx.url(), "--webhook-max-attempts", "1")
        self.digest_for(d, "redir@example.com")
        reqs = rx.wait_for(2, 5)
        self.assertGreaterEqual(len(reqs), 1, "no delivery attempt")
        self.assertEqual([r["path"] for r in reqs], ["/hook"], "redirects must not be followed")

    def test_dead_letter_and_redeliver(self):
        rx = self.receiver(script=(500, 200))
        d = self.start_daemon("--webhook-url", rx.url(), "--webhook-max-attempts", "1")
        dig = self.digest_for(d, "dead@example.com")
        self.assertEqual(len(rx.wait_for(1, 15)), 1, "the one allowed attempt")
        time.sleep(1.5)
        self.assertEqual(len(rx.requests), 1, "max_attempts 1: no retry")
        r = d.get("/v1/digests/" + pct(dig["Id"]))
        self.assertStatus(r, 200)
        r = d.post("/v1/digests/%s/redeliver" % pct(dig["Id"]))
        self.assertStatus(r, 202, "redeliver a dead-lettered digest")
        reqs = rx.wait_for(2, 15)
        self.assertEqual(len(reqs), 2, "redelivered")
        self.assertEqual(reqs[1]["headers"].get("webhook-id"), dig["Id"])
        self.assertSameDigest(json.loads(reqs[1]["body"]), dig, "redelivered body")

    def test_redeliver_unknown_digest_is_404(self):
        d = self.start_daemon()
        self.assertProblem(d.post("/v1/digests/no-such-digest/redeliver"), 404)

    def test_undelivered_digest_is_delivered_after_restart(self):
        rx = self.receiver(script=(500, 200))
        port = rx.port
        d = self.start_daemon("--webhook-url", rx.url(), "--webhook-secret", SECRET)
        dig = self.digest_for(d, "persist@example.com")
        self.assertGreaterEqual(len(rx.wait_for(1, 15)), 1)
        d.kill9()
        d.start()
        reqs = rx.wait_for(2, 30)
        self.assertGreaterEqual(len(reqs), 2, "the outbox entry survives kill -9 (receiver on port %d)" % port)
        self.assertTrue(all(r["headers"].get("webhook-id") == dig["Id"] for r in reqs))


if __name__ == "__main__":
    unittest.main()
