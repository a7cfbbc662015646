"""Completion by timeout (SPEC §2.3): on time while running, and late after a
restart when the group fell due while the daemon was down."""

import time
import unittest

from rollupd_harness import E2ETestCase, notification, parse_rfc3339_ns

TIMEOUT_S = 2


class CompletionTimeoutTest(E2ETestCase):
    def _wait_for_digest(self, d, email, within):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.digests_of(d, email)
            if found:
                return found
            time.sleep(0.2)
        self.fail("no digest for %s within %.0f s" % (email, within))

    def test_group_completes_after_the_timeout(self):
        d = self.start_daemon("--completion-timeout", "%ds" % TIMEOUT_S)
        self.assertAccepted(d.post("/notifications", notification("to@example.com", "t-0")))
        self.assertAccepted(d.post("/notifications", notification("to@example.com", "t-1")))
        g = d.get("/v1/aggregations/to@example.com").json()
        self.assertEqual(parse_rfc3339_ns(g["DueAt"]) - parse_rfc3339_ns(g["FirstReceivedAt"]),
                         TIMEOUT_S * 1_000_000_000)

        found = self._wait_for_digest(d, "to@example.com", within=TIMEOUT_S + 15)
        self.assertEqual(len(found), 1, found)
        dig = self.assertDigest(found[0], "to@example.com", "timeout", 2, late=False)
        self.assertEqual(self.texts(dig["Notifications"]), ["t-0", "t-1"])
        emitted = parse_rfc3339_ns(dig["EmittedAt"])
        due = parse_rfc3339_ns(g["DueAt"])
        self.assertGreaterEqual(emitted, due, "not emitted before it was due")
        self.assertLess(emitted - due, 10 * 1_000_000_000, "emitted within 10 s of DueAt")
        self.assertProblem(d.get("/v1/aggregations/to@example.com"), 404)

    def test_timeout_zero_never_completes(self):
        d = self.start_daemon("--completion-timeout", "0")
        self.assertAccepted(d.post("/notifications", notification("never@example.com", "x")))
        time.sleep(3)
        g = d.get("/v1/aggregations/never@example.com")
        self.assertStatus(g, 200)
        self.assertEqual(self.digests_of(d, "never@example.com"), [])

    def test_group_opened_without_timeout_times_out_once_touched_with_one(self):
        # Opened while timeouts were off, the group has no deadline. After a
        # restart with a timeout, its next notification gives it a due time
        # already in the past: it must complete at once, not wait or be lost.
        d = self.start_daemon("--completion-timeout", "0")
        self.assertAccepted(d.post("/notifications", notification("off@example.com", "o-0")))
        d.stop()
        time.sleep(TIMEOUT_S + 1.5)
        d.args = ["--completion-timeout", "%ds" % TIMEOUT_S]
        d.start()
        # Until then it has no due time, and says so.
        g = d.get("/v1/aggregations/off@example.com")
        self.assertStatus(g, 200)
        self.assertIsNone(g.json()["DueAt"], "a group opened while timeouts were off has no due time")
        listed = {a["Email"]: a for a in d.get("/v1/aggregations").json()["Aggregations"]}
        self.assertIsNone(listed["off@example.com"]["DueAt"])
        # A group opened and closed by count after the restart leaves a
        # deadline entry later than off@'s due time; once the timeout look has
        # removed it, the look starts past off@'s due time.
        for i in range(3):
            self.assertAccepted(d.post("/notifications", notification("closed@example.com", "c-%d" % i)))
        time.sleep(TIMEOUT_S + 1.5)
        self.assertAccepted(d.post("/notifications", notification("off@example.com", "o-1")))
        found = self._wait_for_digest(d, "off@example.com", within=15)
        self.assertEqual(len(found), 1, found)
        dig = self.assertDigest(found[0], "off@example.com", "timeout", 2, late=True)
        self.assertEqual(self.texts(dig["Notifications"]), ["o-0", "o-1"])
        self.assertProblem(d.get("/v1/aggregations/off@example.com"), 404)

    def test_group_due_while_down_is_emitted_late_at_startup(self):
        d = self.start_daemon("--completion-timeout", "%ds" % TIMEOUT_S)
        self.assertAccepted(d.post("/notifications", notification("late@example.com", "l-0")))
        d.stop()
        time.sleep(TIMEOUT_S + 1.5)
        d.start()
        found = self._wait_for_digest(d, "late@example.com", within=15)
        self.assertEqual(len(found), 1, found)
        dig = self.assertDigest(found[0], "late@example.com", "timeout", 1, late=True)
        self.assertEqual(self.texts(dig["Notifications"]), ["l-0"])
        self.assertProblem(d.get("/v1/aggregations/late@example.com"), 404)

    def test_group_due_after_kill9_is_emitted(self):
        d = self.start_daemon("--completion-timeout", "%ds" % TIMEOUT_S)
        self.assertAccepted(d.post("/notifications", notification("k9@example.com", "k-0")))
        d.kill9()
        time.sleep(TIMEOUT_S + 1.5)
        d.start()
        found = self._wait_for_digest(d, "k9@example.com", within=15)
        self.assertEqual(len(found), 1, found)
        self.assertDigest(found[0], "k9@example.com", "timeout", 1, late=True)


if __name__ == "__main__":
    unittest.main()
