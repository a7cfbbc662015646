"""GET /metrics (SPEC §4.2): the Prometheus text format, read back with a real
Prometheus parser (Debian's python3-prometheus-client), and the figures it
shows after a known sequence of requests."""

import subprocess
import time

from prometheus_client.parser import text_string_to_metric_families

from rollupd_harness import E2ETestCase, free_port, notification, pct, rollupd_bin

TOKEN = "metrics-test-token-0123456789"
AUTH = {"Authorization": "Bearer " + TOKEN}


class Scrape:
    """One /metrics answer, parsed: the families by name and every sample."""

    def __init__(self, text):
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def value(self, name, **labels):
        """The value of the sample `name` whose labels include `labels`; None when absent."""
        found = [s.value for s in self.samples
                 if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        if len(found) > 1:
            raise AssertionError("%d samples of %s match %r" % (len(found), name, labels))
        return found[0] if found else None

    def total(self, name, **labels):
        """The sum over every sample of `name` whose labels include `labels`."""
        return sum(s.value for s in self.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


class MetricsCase(E2ETestCase):
    def scrape(self, d, headers=None):
        r = d.get("/metrics", headers)
        self.assertStatus(r, 200, "/metrics")
        self.assertTrue(r.header("Content-Type", "").startswith("text/plain; version=0.0.4"),
                        "Content-Type: %r" % r.header("Content-Type"))
        return Scrape(r.body.decode("utf-8"))

    def scrape_until(self, d, check, timeout=15.0):
        """Scrapes until `check(scrape)` is true; returns the last scrape."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.scrape(d)
            if check(s) or time.monotonic() > deadline:
                return s
            time.sleep(0.1)


class MetricsFormatTest(MetricsCase):
    def test_every_documented_family_is_there_and_prefixed(self):
        d = self.start_daemon()
        s = self.scrape(d)
        want = {
            "rollupd_http_requests": "counter",
            "rollupd_http_request_duration_seconds": "histogram",
            "rollupd_http_connections": "gauge",
            "rollupd_notifications_accepted": "counter",
            "rollupd_notifications_duplicate": "counter",
            "rollupd_digests_emitted": "counter",
            "rollupd_open_groups": "gauge",
            "rollupd_outbox_depth": "gauge",
            "rollupd_deliveries": "counter",
            "rollupd_delivery_latency_seconds": "histogram",
            "rollupd_build_info": "gauge",
        }
        got = {name: f.type for name, f in s.families.items()}
        self.assertEqual(got, want, s.text)
        for f in s.families.values():
            self.assertTrue(f.documentation, "no HELP for %s" % f.name)

    def test_build_info_carries_the_version(self):
        d = self.start_daemon()
        version = subprocess.run([rollupd_bin(), "--version"], capture_output=True, text=True,
                                 check=True).stdout.split()[-1]
        s = self.scrape(d)
        self.assertEqual(s.value("rollupd_build_info", version=version), 1.0, s.text)

    def test_open_without_the_token(self):
        d = self.start_daemon("--api-token", TOKEN)
        self.assertStatus(d.post("/v1/notifications", notification("a@example.com")), 401)
        s = self.scrape(d)  # no Authorization header
        self.assertEqual(s.value("rollupd_http_requests_total", method="POST", route="/v1/notifications",
                                 status="401"), 1.0, s.text)


class MetricsCountTest(MetricsCase):
    def test_counts_follow_a_known_sequence(self):
        d = self.start_daemon("--api-token", TOKEN)
        for i in range(3):  # completes by count
            self.assertStatus(d.post("/v1/notifications", notification("a@example.com", Id="a%d" % i), AUTH), 202)
        self.assertStatus(d.post("/v1/notifications", notification("a@example.com", Id="a0"), AUTH), 202)  # dup
        self.assertStatus(d.post("/v1/notifications", notification("b@example.com", Priority=2), AUTH), 202)
        self.assertStatus(d.post("/v1/notifications", notification("c@example.com"), AUTH), 202)
        self.assertStatus(d.post("/v1/aggregations/%s/flush" % pct("c@example.com"), None, AUTH), 200)
        self.assertStatus(d.post("/v1/notifications", notification("open@example.com"), AUTH), 202)
        self.assertProblem(d.post("/v1/notifications", {"Email": "not-an-email"}, AUTH), 422)
        self.assertProblem(d.get("/v1/nothing-here", AUTH), 404)

        # Three digests, each delivered to the log sink.
        s = self.scrape_until(d, lambda s: s.value("rollupd_deliveries_total", sink="log",
                                                   outcome="delivered") == 3.0)
        self.assertEqual(s.value("rollupd_notifications_accepted_total"), 6.0, s.text)
        self.assertEqual(s.value("rollupd_notifications_duplicate_total"), 1.0, s.text)
        for reason, n in (("count", 1.0), ("priority", 1.0), ("flush", 1.0)):
            self.assertEqual(s.value("rollupd_digests_emitted_total", reason=reason), n, reason)
        self.assertIsNone(s.value("rollupd_digests_emitted_total", reason="timeout"), "no timeout yet")
        self.assertEqual(s.value("rollupd_open_groups"), 1.0, "only open@ is open")
        self.assertEqual(s.value("rollupd_outbox_depth", sink="log"), 0.0)
        self.assertEqual(s.value("rollupd_deliveries_total", sink="log", outcome="delivered"), 3.0)
        self.assertEqual(s.total("rollupd_deliveries_total", outcome="failed"), 0.0)
        self.assertEqual(s.value("rollupd_delivery_latency_seconds_count", sink="log"), 3.0)
        self.assertGreater(s.value("rollupd_delivery_latency_seconds_sum", sink="log"), 0.0)

        post = dict(method="POST", route="/v1/notifications")
        self.assertEqual(s.value("rollupd_http_requests_total", status="202", **post), 7.0, s.text)
        self.assertEqual(s.value("rollupd_http_requests_total", status="422", **post), 1.0, s.text)
        self.assertEqual(s.value("rollupd_http_requests_total", method="POST",
                                 route="/v1/aggregations/{email}/flush", status="200"), 1.0, s.text)
        self.assertEqual(s.value("rollupd_http_requests_total", method="GET", route="unmatched",
                                 status="404"), 1.0, s.text)
        self.assertGreaterEqual(s.value("rollupd_http_connections"), 1.0)

        # The duration histogram saw every answer on the route, in
        # cumulative buckets ending in +Inf.
        self.assertEqual(s.value("rollupd_http_request_duration_seconds_count", route="/v1/notifications"), 8.0)
        buckets = [(float(x.labels["le"]), x.value) for x in s.samples
                   if x.name == "rollupd_http_request_duration_seconds_bucket"
                   and x.labels["route"] == "/v1/notifications"]
        self.assertEqual(buckets[-1], (float("inf"), 8.0))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets), "cumulative")

    def test_a_body_over_the_limit_is_counted_on_its_route(self):
        d = self.start_daemon("--max-body-bytes", "1024")
        self.assertProblem(d.post("/v1/notifications", notification("a@example.com", Notification="x" * 2000)), 413)
        s = self.scrape(d)
        self.assertEqual(s.value("rollupd_http_requests_total", method="POST", route="/v1/notifications",
                                 status="413"), 1.0, s.text)


class MetricsAcrossRestartTest(MetricsCase):
    def test_gauges_start_from_what_is_stored(self):
        # A webhook that refuses connections: the digest stays queued.
        dead_port = free_port()
        args = ("--webhook-url", "http://127.0.0.1:%d/hook" % dead_port)
        d = self.start_daemon(*args)
        for email in ("x@example.com", "y@example.com"):
            self.assertStatus(d.post("/v1/notifications", notification(email)), 202)
        self.assertStatus(d.post("/v1/notifications", notification("z@example.com", Priority=2)), 202)
        s = self.scrape_until(d, lambda s: (s.value("rollupd_deliveries_total", sink="webhook",
                                                    outcome="failed") or 0) >= 1.0)
        self.assertGreaterEqual(s.value("rollupd_deliveries_total", sink="webhook", outcome="failed"), 1.0)
        self.assertEqual(s.value("rollupd_outbox_depth", sink="webhook"), 1.0, s.text)
        self.assertEqual(s.value("rollupd_open_groups"), 2.0, s.text)

        d.restart()
        s = self.scrape(d)
        self.assertEqual(s.value("rollupd_open_groups"), 2.0, "counted from storage at start")
        self.assertEqual(s.value("rollupd_outbox_depth", sink="webhook"), 1.0, "counted from storage at start")
        self.assertEqual(s.value("rollupd_notifications_accepted_total"), 0.0, "counters start at 0")
