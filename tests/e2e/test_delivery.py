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

from rollupd_harness import E2ETestCase, free_port, notification, parse_rfc3339_ns, pct

SECRET_BYTES = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()

DIGEST_KEYS = ("Id", "Email", "Reason", "Count", "FirstReceivedAt", "EmittedAt", "Late", "Notifications")


class Receiver:
    """Records every request; answers with the next status from `script`
    (the last one repeats). `port` 0 picks a free one; a given port is bound
    as is (for a receiver that comes up where the daemon already points)."""

    def __init__(self, script=(200,), headers=None, port=0):
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

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
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

    def dead_lettered_digest(self, email):
        """A daemon whose webhook (a receiver answering 500, then 200) is
        allowed one attempt, and a digest of `email` that attempt
        dead-lettered: (receiver, daemon, digest)."""
        rx = self.receiver(script=(500, 200))
        d = self.start_daemon("--webhook-url", rx.url(), "--webhook-max-attempts", "1")
        dig = self.digest_for(d, email)
        self.assertEqual(len(rx.wait_for(1, 15)), 1, "the one allowed attempt")
        time.sleep(1.5)
        return rx, d, dig

    def test_dead_letter_and_redeliver(self):
        rx, d, dig = self.dead_lettered_digest("dead@example.com")
        self.assertEqual(len(rx.requests), 1, "max_attempts 1: no retry")
        r = d.get("/v1/digests/" + pct(dig["Id"]))
        self.assertStatus(r, 200)
        r = d.post("/v1/digests/%s/redeliver" % pct(dig["Id"]))
        self.assertStatus(r, 202, "redeliver a dead-lettered digest")
        reqs = rx.wait_for(2, 15)
        self.assertEqual(len(reqs), 2, "redelivered")
        self.assertEqual(reqs[1]["headers"].get("webhook-id"), dig["Id"])
        self.assertSameDigest(json.loads(reqs[1]["body"]), dig, "redelivered body")

    def test_concurrent_redeliveries_send_a_dead_digest_once(self):
        rx, d, dig = self.dead_lettered_digest("twice@example.com")
        barrier = threading.Barrier(4)
        statuses = []

        def redeliver():
            c = d.client()
            try:
                barrier.wait()
                statuses.append(c.post("/v1/digests/%s/redeliver" % pct(dig["Id"])).status)
            finally:
                c.close()

        callers = [threading.Thread(target=redeliver) for _ in range(4)]
        for t in callers:
            t.start()
        for t in callers:
            t.join()
        self.assertEqual(sorted(statuses), [202, 409, 409, 409], "one redelivery queues it, the others find it queued")
        self.assertEqual(len(rx.wait_for(2, 15)), 2, "redelivered")
        time.sleep(1.5)
        self.assertEqual(len(rx.requests), 2, "sent again once")

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


class WebhookScenarioTest(DeliveryCase):
    """The delivery scenarios of the issue, end to end: a timeout digest
    signed to a webhook, an outbox entry that outlives kill -9 while the
    receiver is down, a group that falls due while rollupd is down, and a
    file sink that holds every digest rollupd lists."""

    TIMEOUT_S = 2

    # -- helpers -----------------------------------------------------------
    def _digest(self, d, digest_id):
        r = d.get("/v1/digests/" + pct(digest_id))
        self.assertStatus(r, 200, "GET /v1/digests/%s" % digest_id)
        body = r.json()
        self.assertIsInstance(body.get("Delivery"), dict, "digest without Delivery: %r" % body)
        return body

    def _wait_delivery(self, d, digest_id, sink, pred, within, what):
        """Polls GET /v1/digests/{id} until pred(Delivery[sink]); returns that record."""
        deadline = time.monotonic() + within
        last = None
        while True:
            body = self._digest(d, digest_id)
            last = body["Delivery"].get(sink)
            if last is not None and pred(last):
                return last
            if time.monotonic() >= deadline:
                self.fail("digest %s: %s not reached within %.0f s; last %s delivery: %r"
                          % (digest_id, what, within, sink, last))
            time.sleep(0.2)

    def _all_digests(self, d, limit=100, max_pages=50):
        out, after = [], None
        for _ in range(max_pages):
            path = "/v1/digests?limit=%d" % limit
            if after is not None:
                path += "&after=" + pct(after)
            r = d.get(path)
            self.assertStatus(r, 200, "GET " + path)
            body = r.json()
            self.assertIn("Digests", body)
            self.assertIn("Next", body)
            out.extend(body["Digests"])
            if body["Next"] is None:
                return out
            after = body["Next"]
        self.fail("GET /v1/digests did not end within %d pages" % max_pages)

    def assertStandardWebhook(self, req, secret):
        """Checks one webhook request the way a receiver would, with nothing but
        the standard library; returns the parsed body."""
        h = req["headers"]
        self.assertEqual(req["method"], "POST", req)
        self.assertEqual(req["path"], "/hook", req)
        self.assertTrue((h.get("content-type") or "").startswith("application/json"), h)
        msg_id, ts, sig = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
        self.assertIsNotNone(msg_id, "no webhook-id: %r" % h)
        self.assertIsNotNone(ts, "no webhook-timestamp: %r" % h)
        self.assertRegex(ts, r"^\d+$", "webhook-timestamp is integer Unix seconds")
        self.assertLess(abs(int(ts) - time.time()), 300, "webhook-timestamp is now")
        self.assertIsNotNone(sig, "no webhook-signature although a secret is set: %r" % h)
        self.assertTrue(secret.startswith("whsec_"))
        key = base64.b64decode(secret[len("whsec_"):], validate=True)
        signed = ("%s.%s." % (msg_id, ts)).encode() + req["body"]
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        self.assertTrue(hmac.compare_digest(expected.encode(), sig.encode()),
                        "webhook-signature %r, want %r" % (sig, expected))
        body = json.loads(req["body"].decode("utf-8"))
        self.assertIsInstance(body, dict, body)
        self.assertEqual(msg_id, body.get("Id"), "webhook-id must be the digest Id")
        return body

    # -- scenarios -----------------------------------------------------------
    def test_delivery_state_keeps_an_error_until_a_redelivery(self):
        # README: LastError is kept after a later success; a redelivery
        # starts the count afresh.
        rx = self.receiver(script=(503, 200))
        d = self.start_daemon("--webhook-url", rx.url())
        retried = self.digest_for(d, "retried@example.com")
        st = self._wait_delivery(d, retried["Id"], "webhook", lambda w: w.get("State") == "delivered", 20,
                                 "delivered after one failure")
        self.assertEqual(st["Attempts"], 2, st)
        self.assertIn("503", st["LastError"] or "", "the failure stays visible after the success: %r" % st)

        rx = self.receiver(script=(500, 200))
        d = self.start_daemon("--webhook-url", rx.url(), "--webhook-max-attempts", "1")
        dead = self.digest_for(d, "redelivered@example.com")
        st = self._wait_delivery(d, dead["Id"], "webhook", lambda w: w.get("State") == "dead", 15, "dead-lettered")
        self.assertIn("500", st["LastError"] or "", st)
        self.assertStatus(d.post("/v1/digests/%s/redeliver" % pct(dead["Id"])), 202)
        st = self._wait_delivery(d, dead["Id"], "webhook", lambda w: w.get("State") == "delivered", 15,
                                 "delivered after the redelivery")
        self.assertEqual(st["Attempts"], 1, st)
        self.assertIsNone(st["LastError"], st)
        self.assertTime(st["DeliveredAt"], "DeliveredAt")

    def test_timeout_digest_reaches_signed_webhook(self):
        secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        rx = self.receiver()
        d = self.start_daemon("--completion-timeout", "%ds" % self.TIMEOUT_S,
                              "--webhook-url", rx.url(), "--webhook-secret", secret)
        email = "timeout-hook@example.com"
        a = self.assertAccepted(d.post("/notifications", notification(email, "only-one", Priority="LOW")))
        self.assertIsNone(a["Digest"], a)
        self.assertEqual(a["Pending"], 1, a)

        reqs = rx.wait_for(1, self.TIMEOUT_S + 15)
        self.assertEqual(len(reqs), 1, "one webhook POST within %d s" % (self.TIMEOUT_S + 15))
        time.sleep(2)
        self.assertEqual(len(rx.requests), 1, "exactly one POST for a confirmed digest: %r"
                         % [(r["headers"].get("webhook-id"), r["at"]) for r in rx.requests])

        body = self.assertStandardWebhook(reqs[0], secret)
        dig = self.assertDigest(body, email, "timeout", 1, late=False)
        self.assertEqual(self.texts(dig["Notifications"]), ["only-one"])
        self.assertGreaterEqual(parse_rfc3339_ns(dig["EmittedAt"]) - parse_rfc3339_ns(dig["FirstReceivedAt"]),
                                self.TIMEOUT_S * 1_000_000_000, "not emitted before the timeout: %r" % dig)
        self.assertSameDigest(self._digest(d, dig["Id"]), dig, "GET /v1/digests/{id} vs webhook body")
        wh = self._wait_delivery(d, dig["Id"], "webhook", lambda w: w.get("State") == "delivered", 10,
                                 "webhook State delivered")
        self.assertEqual(wh["Attempts"], 1, wh)
        self.assertProblem(d.get("/v1/aggregations/" + pct(email)), 404, "the group is gone")

    def test_digest_committed_while_receiver_down_survives_kill9(self):
        port = free_port()  # nothing listens here until the receiver comes up below
        url = "http://127.0.0.1:%d/hook" % port
        d = self.start_daemon("--webhook-url", url, "--webhook-secret", SECRET)
        email = "receiver-down@example.com"
        a = self.assertAccepted(d.post("/notifications", notification(email, "d-0", Priority="HIGH")))
        dig = self.assertDigest(a["Digest"], email, "priority", 1)
        did = dig["Id"]

        before = self._wait_delivery(d, did, "webhook", lambda w: (w.get("Attempts") or 0) >= 1, 15,
                                     "a failed webhook attempt")
        self.assertEqual(before["State"], "pending", before)
        self.assertIsNone(before["DeliveredAt"], before)
        self.assertIsInstance(before["LastError"], str, before)
        self.assertIn("refused", before["LastError"].lower(), "LastError names the refusal: %r" % before)
        self.assertTime(before["NextAttemptAt"], "NextAttemptAt of a pending delivery")

        d.kill9()
        rx = self.receiver(port=port)
        d.start()

        reqs = rx.wait_for(1, 40)
        self.assertGreaterEqual(len(reqs), 1, "the digest reaches the receiver after the restart (port %d)" % port)
        body = self.assertStandardWebhook(reqs[0], SECRET)
        self.assertEqual(reqs[0]["headers"].get("webhook-id"), did)
        self.assertSameDigest(body, dig, "webhook body after restart")

        after = self._wait_delivery(d, did, "webhook", lambda w: w.get("State") == "delivered", 15,
                                    "webhook State delivered")
        self.assertTime(after["DeliveredAt"], "DeliveredAt")
        self.assertIsNone(after["NextAttemptAt"], after)
        self.assertGreaterEqual(after["Attempts"], before["Attempts"] + 1, "attempts: %r then %r" % (before, after))
        time.sleep(1.5)
        # The receiver never answered 2xx before the crash, so nothing justifies a repeat.
        self.assertEqual([r["headers"].get("webhook-id") for r in rx.requests], [did],
                         "exactly one delivery of the digest")

    def test_group_due_while_down_is_delivered_late_after_restart(self):
        rx = self.receiver()
        d = self.start_daemon("--completion-timeout", "%ds" % self.TIMEOUT_S,
                              "--webhook-url", rx.url(), "--webhook-secret", SECRET)
        email = "late-hook@example.com"
        a = self.assertAccepted(d.post("/notifications", notification(email, "l-0")))
        self.assertIsNone(a["Digest"], a)
        g = d.get("/v1/aggregations/" + pct(email))
        self.assertStatus(g, 200)
        due_ns = parse_rfc3339_ns(g.json()["DueAt"])
        d.stop()  # graceful: SIGTERM, exit 0
        stopped_ns = time.time_ns()
        self.assertLess(stopped_ns, due_ns, "precondition: rollupd was down before the group fell due "
                        "(stop took %.2f s too long)" % ((stopped_ns - due_ns) / 1e9))
        self.assertEqual(rx.requests, [], "no digest delivered before the group fell due")

        time.sleep(self.TIMEOUT_S + 1)
        self.assertGreater(time.time_ns(), due_ns)
        self.assertEqual(rx.requests, [])
        d.start()

        reqs = rx.wait_for(1, 15)
        self.assertEqual(len(reqs), 1, "the late digest reaches the webhook")
        time.sleep(1.5)
        self.assertEqual(len(rx.requests), 1, "exactly one POST: %r"
                         % [(r["headers"].get("webhook-id"), r["at"]) for r in rx.requests])
        body = self.assertStandardWebhook(reqs[0], SECRET)
        dig = self.assertDigest(body, email, "timeout", 1, late=True)
        self.assertEqual(self.texts(dig["Notifications"]), ["l-0"])
        self.assertGreaterEqual(parse_rfc3339_ns(dig["EmittedAt"]), due_ns, "emitted after DueAt")
        listed = self.digests_of(d, email)
        self.assertEqual([x["Id"] for x in listed], [dig["Id"]], "one digest for the user")
        self.assertSameDigest(listed[0], dig, "GET /v1/digests vs webhook body")
        self.assertProblem(d.get("/v1/aggregations/" + pct(email)), 404, "the group is gone")

    def test_file_sink_holds_every_digest(self):
        path = os.path.join(self.workdir, "every-digest.jsonl")
        d = self.start_daemon("--completion-timeout", "%ds" % self.TIMEOUT_S, "--digest-file", path)
        made = []  # (reason, digest) in the order they were made

        def post(email, text, **kw):
            return self.assertAccepted(d.post("/notifications", notification(email, text, **kw)))

        # count, twice for one user (per-user order), once for another
        for k in range(2):
            for i in range(3):
                a = post("count-a@example.com", "ca-%d-%d" % (k, i))
            made.append(self.assertDigest(a["Digest"], "count-a@example.com", "count", 3))
        for i in range(3):
            a = post("count-b@example.com", "cb-%d" % i)
        made.append(self.assertDigest(a["Digest"], "count-b@example.com", "count", 3))
        # priority: a group of two closed by HIGH, and a lone HIGH
        post("prio-a@example.com", "pa-0")
        a = post("prio-a@example.com", "pa-1", Priority="HIGH")
        made.append(self.assertDigest(a["Digest"], "prio-a@example.com", "priority", 2))
        a = post("prio-b@example.com", "pb-0", Priority=2)
        made.append(self.assertDigest(a["Digest"], "prio-b@example.com", "priority", 1))
        # flush
        post("flush@example.com", "f-0")
        post("flush@example.com", "f-1")
        r = d.post("/v1/aggregations/%s/flush" % pct("flush@example.com"))
        self.assertStatus(r, 200, "flush")
        made.append(self.assertDigest(r.json()["Digest"], "flush@example.com", "flush", 2))
        # timeout, for two users
        post("timeout-a@example.com", "ta-0")
        post("timeout-b@example.com", "tb-0")
        post("timeout-b@example.com", "tb-1")
        deadline = time.monotonic() + self.TIMEOUT_S + 15
        timed = {}
        while time.monotonic() < deadline and len(timed) < 2:
            for email in ("timeout-a@example.com", "timeout-b@example.com"):
                found = self.digests_of(d, email)
                if found:
                    timed[email] = found
            time.sleep(0.2)
        self.assertEqual(sorted(timed), ["timeout-a@example.com", "timeout-b@example.com"],
                         "timeout digests within %d s" % (self.TIMEOUT_S + 15))
        self.assertEqual(len(timed["timeout-a@example.com"]), 1, timed)
        self.assertEqual(len(timed["timeout-b@example.com"]), 1, timed)
        made.append(self.assertDigest(timed["timeout-a@example.com"][0], "timeout-a@example.com", "timeout", 1))
        made.append(self.assertDigest(timed["timeout-b@example.com"][0], "timeout-b@example.com", "timeout", 2))
        self.assertEqual(self.open_groups(d), [], "every group completed")

        # Everything rollupd lists, and nothing more than was made.
        listed = self._all_digests(d)
        listed_ids = [x["Id"] for x in listed]
        self.assertEqual(len(listed_ids), len(set(listed_ids)), "GET /v1/digests repeats an Id: %r" % listed_ids)
        self.assertEqual(sorted(listed_ids), sorted(x["Id"] for x in made), "GET /v1/digests lists what was made")

        # Wait until the file sink confirmed every one of them.
        deadline = time.monotonic() + 15
        while True:
            pending = [x["Id"] for x in self._all_digests(d)
                       if (x.get("Delivery") or {}).get("file", {}).get("State") != "delivered"]
            if not pending:
                break
            if time.monotonic() >= deadline:
                self.fail("file delivery not confirmed within 15 s for %r: %r"
                          % (pending, [x.get("Delivery") for x in self._all_digests(d)]))
            time.sleep(0.2)
        time.sleep(1.5)  # anything written after confirmation would be a stray line

        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n"), "the file ends with a whole line: %r" % data[-200:])
        raw_lines = data.decode("utf-8").split("\n")[:-1]
        self.assertNotIn("", raw_lines, "no empty lines")
        lines = [json.loads(x) for x in raw_lines]
        for x in lines:
            self.assertIsInstance(x, dict, x)
        file_ids = [x["Id"] for x in lines]
        self.assertEqual(len(file_ids), len(set(file_ids)), "one line per digest, no repeats: %r" % file_ids)
        self.assertEqual(sorted(file_ids), sorted(listed_ids), "the file holds exactly the listed digests")
        by_id = {x["Id"]: x for x in listed}
        for x in lines:
            self.assertSameDigest(x, by_id[x["Id"]], "file line for %s" % x["Id"])
        count_a = [x["Id"] for x in made if x["Email"] == "count-a@example.com"]
        self.assertEqual([i for i in file_ids if i in count_a], count_a, "one user's digests in order")


if __name__ == "__main__":
    unittest.main()
