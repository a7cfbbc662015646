"""Ingest and the strategy, end to end (SPEC §1, §2, §3, §4.1)."""

import json
import os
import subprocess
import unittest

from rollupd_harness import E2ETestCase, notification, pct

SPEC_BODY = ('{"Email":"a@example.com","Notification":"test notification",'
             '"Timestamp":"2019-08-10T15:31:47.808596Z","Priority":0}')

# SPEC §1, verbatim, with the port left open.
SPEC_CURL = ('curl -H "Content-Type: application/json" \\\n'
             '  -d \'' + SPEC_BODY + '\' \\\n'
             '  http://localhost:%d/notifications')

DIGEST_KEYS = ("Id", "Email", "Reason", "Count", "FirstReceivedAt", "EmittedAt", "Late", "Notifications")


class SpecExampleTest(E2ETestCase):
    """Issue test 1: the request from the original documentation works unchanged."""

    def test_spec_body_three_times_completes_a_digest(self):
        d = self.start_daemon()
        for i in (1, 2):
            a = self.assertAccepted(d.post("/notifications", SPEC_BODY, {"Content-Type": "application/json"}),
                                    "POST #%d" % i)
            self.assertEqual(a, {"Email": "a@example.com", "Pending": i, "Duplicate": False, "Digest": None})
            g = d.get("/v1/aggregations/a@example.com")
            self.assertStatus(g, 200, "open group after POST #%d" % i)
            self.assertEqual(g.json()["Count"], i)

        a = self.assertAccepted(d.post("/notifications", SPEC_BODY, {"Content-Type": "application/json"}), "POST #3")
        self.assertEqual(a["Email"], "a@example.com")
        self.assertEqual(a["Pending"], 0, "the group completed, so nothing is pending: %r" % a)
        self.assertIs(a["Duplicate"], False)
        dig = self.assertDigest(a["Digest"], "a@example.com", "count", 3, late=False)
        for n in dig["Notifications"]:
            self.assertEqual(n, {"Email": "a@example.com", "Notification": "test notification",
                                 "Timestamp": "2019-08-10T15:31:47.808596Z", "Priority": 0})

        # A completed group is gone.
        self.assertProblem(d.get("/v1/aggregations/a@example.com"), 404, "aggregation after completion")
        self.assertEqual(self.open_groups(d), [])

        # The digest is kept and can be read back, alone and in the list.
        r = d.get("/v1/digests/" + pct(dig["Id"]))
        self.assertStatus(r, 200, "GET /v1/digests/{Id}")
        got = r.json()
        for k in DIGEST_KEYS:
            self.assertEqual(got.get(k), dig[k], "GET /v1/digests/{Id} field %s" % k)

        r = d.get("/v1/digests?email=a@example.com")
        self.assertStatus(r, 200, "GET /v1/digests?email=a@example.com")
        listed = r.json()
        self.assertIn("Digests", listed)
        self.assertIn("Next", listed)
        self.assertEqual([x["Id"] for x in listed["Digests"]], [dig["Id"]], listed)
        for k in DIGEST_KEYS:
            self.assertEqual(listed["Digests"][0].get(k), dig[k], "listed digest field %s" % k)

    def test_v1_notifications_is_the_same_endpoint(self):
        d = self.start_daemon()
        a = self.assertAccepted(d.post("/v1/notifications", SPEC_BODY, {"Content-Type": "application/json"}))
        self.assertEqual(a, {"Email": "a@example.com", "Pending": 1, "Duplicate": False, "Digest": None})
        a = self.assertAccepted(d.post("/notifications", SPEC_BODY, {"Content-Type": "application/json"}))
        self.assertEqual(a["Pending"], 2, "both paths feed the same group")

    def test_no_content_type_is_accepted(self):
        d = self.start_daemon()
        a = self.assertAccepted(d.post("/notifications", SPEC_BODY.encode(), {}))
        self.assertEqual(a["Pending"], 1)
        a = self.assertAccepted(d.post("/notifications", SPEC_BODY.encode(),
                                       {"Content-Type": "application/problem+json"}), "application/*+json")
        self.assertEqual(a["Pending"], 2)
        a = self.assertAccepted(d.post("/notifications", SPEC_BODY.encode(),
                                       {"Content-Type": "application/json; charset=utf-8"}), "with charset")
        self.assertEqual(a["Pending"], 0)
        self.assertIsNotNone(a["Digest"])

    @unittest.skipUnless(os.access("/usr/bin/curl", os.X_OK), "no /usr/bin/curl")
    def test_real_curl_command_line(self):
        d = self.start_daemon()
        cmd = SPEC_CURL % d.port
        p = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, "curl failed: %r" % (p,))
        a = json.loads(p.stdout.decode())
        self.assertEqual(a, {"Email": "a@example.com", "Pending": 1, "Duplicate": False, "Digest": None})
        g = d.get("/v1/aggregations/a@example.com")
        self.assertStatus(g, 200)
        self.assertEqual(g.json()["Notifications"][0]["Notification"], "test notification")


class InterleavedUsersTest(E2ETestCase):
    """Issue test 2: groups are per user; arrival order is kept."""

    def test_interleaved_users_complete_independently(self):
        d = self.start_daemon()
        sent = []
        digests = {}
        for i, who in enumerate("ababab"):
            email = "%s@example.com" % who
            text = "%s-%d" % (who, i)
            sent.append((email, text))
            a = self.assertAccepted(d.post("/notifications", notification(email, text)), text)
            self.assertEqual(a["Email"], email)
            self.assertIs(a["Duplicate"], False)
            nth = sum(1 for e, _ in sent if e == email)
            if nth < 3:
                self.assertEqual(a["Pending"], nth, a)
                self.assertIsNone(a["Digest"], a)
            else:
                self.assertEqual(a["Pending"], 0, a)
                digests[email] = self.assertDigest(a["Digest"], email, "count", 3)
        self.assertEqual(self.texts(digests["a@example.com"]["Notifications"]), ["a-0", "a-2", "a-4"])
        self.assertEqual(self.texts(digests["b@example.com"]["Notifications"]), ["b-1", "b-3", "b-5"])
        for email, dig in digests.items():
            for n in dig["Notifications"]:
                self.assertEqual(n["Email"], email)
        self.assertNotEqual(digests["a@example.com"]["Id"], digests["b@example.com"]["Id"])
        self.assertEqual(self.open_groups(d), [])

    def test_next_notification_after_completion_starts_a_new_group(self):
        d = self.start_daemon()
        for i in range(3):
            d.post("/notifications", notification("n@example.com", "old-%d" % i))
        a = self.assertAccepted(d.post("/notifications", notification("n@example.com", "new-0")))
        self.assertEqual(a["Pending"], 1)
        self.assertIsNone(a["Digest"])
        g = d.get("/v1/aggregations/n@example.com")
        self.assertStatus(g, 200)
        self.assertEqual(self.texts(g.json()["Notifications"]), ["new-0"])


class PriorityFlushTest(E2ETestCase):
    """Issue test 3: a notification at or above flush_priority completes the group."""

    def test_low_then_high_flushes_two(self):
        d = self.start_daemon()
        a = self.assertAccepted(d.post("/notifications", notification("p@example.com", "low one")))
        self.assertEqual((a["Pending"], a["Digest"]), (1, None))
        a = self.assertAccepted(d.post("/notifications", notification("p@example.com", "high one", Priority="high")))
        self.assertEqual(a["Pending"], 0, a)
        dig = self.assertDigest(a["Digest"], "p@example.com", "priority", 2)
        self.assertEqual(self.texts(dig["Notifications"]), ["low one", "high one"])
        self.assertEqual([n["Priority"] for n in dig["Notifications"]], [0, 2])
        self.assertProblem(d.get("/v1/aggregations/p@example.com"), 404)

    def test_lone_high_flushes_one(self):
        d = self.start_daemon()
        for email, prio in (("h1@example.com", "HIGH"), ("h2@example.com", 2), ("h3@example.com", "High"),
                            ("h4@example.com", "2")):
            with self.subTest(priority=prio):
                a = self.assertAccepted(d.post("/notifications", notification(email, "alone", Priority=prio)))
                self.assertEqual(a["Pending"], 0, a)
                dig = self.assertDigest(a["Digest"], email, "priority", 1)
                self.assertEqual(dig["Notifications"][0]["Priority"], 2)
        self.assertEqual(self.open_groups(d), [])

    def test_priority_is_checked_before_count(self):
        d = self.start_daemon()
        d.post("/notifications", notification("q@example.com", "1"))
        d.post("/notifications", notification("q@example.com", "2", Priority="MEDIUM"))
        a = self.assertAccepted(d.post("/notifications", notification("q@example.com", "3", Priority=2)))
        dig = self.assertDigest(a["Digest"], "q@example.com", "priority", 3)
        self.assertEqual([n["Priority"] for n in dig["Notifications"]], [0, 1, 2])

    def test_medium_does_not_flush_by_default(self):
        d = self.start_daemon()
        a = self.assertAccepted(d.post("/notifications", notification("m@example.com", "m", Priority="medium")))
        self.assertEqual((a["Pending"], a["Digest"]), (1, None))
        a = self.assertAccepted(d.post("/notifications", notification("m@example.com", "m", Priority=1)))
        self.assertEqual((a["Pending"], a["Digest"]), (2, None))

    def test_flush_priority_medium(self):
        d = self.start_daemon("--flush-priority", "MEDIUM")
        a = self.assertAccepted(d.post("/notifications", notification("m@example.com", "low")))
        self.assertEqual((a["Pending"], a["Digest"]), (1, None))
        a = self.assertAccepted(d.post("/notifications", notification("m@example.com", "medium", Priority="medium")))
        self.assertEqual(a["Pending"], 0)
        dig = self.assertDigest(a["Digest"], "m@example.com", "priority", 2)
        self.assertEqual([n["Priority"] for n in dig["Notifications"]], [0, 1])


class KeysAndNormalisationTest(E2ETestCase):
    """Issue test 8: keys match case-insensitively; extra keys travel; times normalise to UTC."""

    def test_case_insensitive_keys_extra_keys_and_utc(self):
        d = self.start_daemon()
        details = {"Host": "h1", "Ports": [22, 443], "nested": {"deep": None, "Flag": True}}
        first = {"EMAIL": "c@example.com", "notification": "first", "priority": "medium",
                 "Source": "ids", "Details": details, "tags": ["x", None, True, 15, "ünïcødé"]}
        a = self.assertAccepted(d.post("/notifications", first))
        self.assertEqual(a, {"Email": "c@example.com", "Pending": 1, "Duplicate": False, "Digest": None})

        second = {"email": "c@example.com", "NOTIFICATION": "second",
                  "TimeStamp": "2019-08-10T17:31:47+02:00", "X-Custom": "v"}
        a = self.assertAccepted(d.post("/notifications", second))
        self.assertEqual(a["Pending"], 2, a)

        # The correlation ID is the trimmed, lower-cased email.
        third = {"eMaIl": "  C@Example.COM ", "Notification": "third", "PRIORITY": 0,
                 "timestamp": "2019-08-10T15:31:47.5-00:30"}
        a = self.assertAccepted(d.post("/notifications", third))
        self.assertEqual(a["Email"], "c@example.com")
        self.assertEqual(a["Pending"], 0, a)
        dig = self.assertDigest(a["Digest"], "c@example.com", "count", 3)
        n1, n2, n3 = dig["Notifications"]

        self.assertEqual(set(n1), {"Email", "Notification", "Timestamp", "Priority", "Source", "Details", "tags"})
        self.assertEqual(n1["Email"], "c@example.com")
        self.assertEqual(n1["Notification"], "first")
        self.assertEqual(n1["Priority"], 1)
        self.assertEqual(n1["Source"], "ids")
        self.assertEqual(n1["Details"], details)
        self.assertEqual(n1["tags"], ["x", None, True, 15, "ünïcødé"])

        self.assertEqual(set(n2), {"Email", "Notification", "Timestamp", "Priority", "X-Custom"})
        self.assertEqual(n2["Notification"], "second")
        self.assertEqual(n2["Timestamp"], "2019-08-10T15:31:47Z")
        self.assertEqual(n2["Priority"], 0)
        self.assertEqual(n2["X-Custom"], "v")

        self.assertEqual(set(n3), {"Email", "Notification", "Timestamp", "Priority"})
        self.assertEqual(n3["Notification"], "third")
        self.assertEqual(n3["Email"].lower(), "c@example.com", "Email is trimmed")
        self.assertEqual(n3["Timestamp"], "2019-08-10T16:01:47.5Z")

    def test_id_travels_into_the_digest(self):
        d = self.start_daemon()
        a = self.assertAccepted(d.post("/notifications", notification("i@example.com", "x", id="evt-1",
                                                                      Priority="HIGH")))
        dig = self.assertDigest(a["Digest"], "i@example.com", "priority", 1)
        self.assertEqual(dig["Notifications"][0].get("Id"), "evt-1")
        self.assertEqual(set(dig["Notifications"][0]), {"Email", "Notification", "Timestamp", "Priority", "Id"})

    def test_missing_timestamp_defaults_to_receipt_time(self):
        import time
        from rollupd_harness import parse_rfc3339_ns
        d = self.start_daemon()
        before = time.time_ns()
        a = self.assertAccepted(d.post("/notifications", notification("t@example.com", "now", Priority=2)))
        after = time.time_ns()
        ts = a["Digest"]["Notifications"][0]["Timestamp"]
        self.assertTime(ts)
        # one second of slack either side for clock granularity
        self.assertTrue(before - 1_000_000_000 <= parse_rfc3339_ns(ts) <= after + 1_000_000_000,
                        "Timestamp %s not the time of receipt" % ts)


class ArrayIngestTest(E2ETestCase):
    """Issue test 10: an array gets one result per element, in order."""

    def test_array_of_three_completes_a_digest(self):
        d = self.start_daemon()
        body = [notification("arr@example.com", "arr-%d" % i) for i in range(3)]
        r = d.post("/notifications", body)
        self.assertStatus(r, 202)
        out = r.json()
        self.assertEqual(set(out), {"Results"}, out)
        res = out["Results"]
        self.assertEqual(len(res), 3, res)
        for i, x in enumerate(res):
            self.assertEqual(set(x), {"Email", "Pending", "Duplicate", "Digest"}, x)
            self.assertEqual(x["Email"], "arr@example.com")
            self.assertIs(x["Duplicate"], False)
        self.assertEqual([x["Pending"] for x in res], [1, 2, 0])
        self.assertIsNone(res[0]["Digest"])
        self.assertIsNone(res[1]["Digest"])
        dig = self.assertDigest(res[2]["Digest"], "arr@example.com", "count", 3)
        self.assertEqual(self.texts(dig["Notifications"]), ["arr-0", "arr-1", "arr-2"])
        self.assertEqual(self.open_groups(d), [])

    def test_array_across_users_and_past_a_completion(self):
        d = self.start_daemon()
        body = [notification("x@example.com", "x0"), notification("y@example.com", "y0"),
                notification("x@example.com", "x1"), notification("x@example.com", "x2"),
                notification("x@example.com", "x3")]
        r = d.post("/v1/notifications", body)
        self.assertStatus(r, 202)
        res = r.json()["Results"]
        self.assertEqual([(x["Email"], x["Pending"]) for x in res],
                         [("x@example.com", 1), ("y@example.com", 1), ("x@example.com", 2),
                          ("x@example.com", 0), ("x@example.com", 1)])
        self.assertEqual([x["Digest"] is None for x in res], [True, True, True, False, True])
        self.assertEqual(self.texts(res[3]["Digest"]["Notifications"]), ["x0", "x1", "x2"])
        groups = self.open_groups(d)
        self.assertEqual([(g["Email"], g["Count"]) for g in groups], [("x@example.com", 1), ("y@example.com", 1)])

    def test_largest_array_across_more_users_than_a_transaction_holds(self):
        # 1000 notifications (SPEC §4.1's most) for 400 users, interleaved:
        # more users than one storage transaction takes (README, 256), so
        # the array is applied in several. Each user's notifications still
        # apply once each, in array order, and the answers keep the array's order.
        d = self.start_daemon()
        users = 400
        body = [notification("u%03d@example.com" % (k % users), "n%d" % (k // users)) for k in range(1000)]
        r = d.post("/notifications", body)
        self.assertStatus(r, 202)
        res = r.json()["Results"]
        self.assertEqual([x["Email"] for x in res], [n["Email"] for n in body])
        self.assertEqual([x["Pending"] for x in res], [[1, 2, 0][k // users] for k in range(1000)])
        for k, x in enumerate(res):
            if k // users < 2:
                self.assertIsNone(x["Digest"], k)
            else:
                self.assertEqual(self.texts(x["Digest"]["Notifications"]), ["n0", "n1", "n2"], k)
        groups = self.open_groups(d)
        self.assertEqual(sorted((g["Email"], g["Count"]) for g in groups),
                         [("u%03d@example.com" % u, 2) for u in range(200, users)])

    def test_array_of_one(self):
        d = self.start_daemon()
        r = d.post("/notifications", [notification("one@example.com", "only")])
        self.assertStatus(r, 202)
        self.assertEqual(r.json(), {"Results": [{"Email": "one@example.com", "Pending": 1, "Duplicate": False,
                                                 "Digest": None}]})

    def test_answers_are_the_json_a_reader_expects(self):
        """Answers are written as text, not through a JSON library: the README's
        answer byte for byte, and digests in answers equal to the stored ones,
        also with extra keys that need escaping and sort among the fixed ones."""
        d = self.start_daemon()
        r = d.post("/notifications", SPEC_BODY, {"Content-Type": "application/json"})
        self.assertStatus(r, 202)
        self.assertEqual(r.body, b'{"Digest":null,"Duplicate":false,"Email":"a@example.com","Pending":1}')

        # 40 users, three each, interleaved in one array: every group completes.
        extra = {"Aardvark": [1, {"b": None}], "Host\"name": "caf\u00e9 \u2713", "Idx": "tab\tnew\nline",
                 "Zone": 2.5, "zz": False}
        body = [notification("u%02d@example.com" % u, "n%d \"quoted\" \\ \u0001" % k, **extra)
                for k in range(3) for u in range(40)]
        r = d.post("/notifications", body)
        self.assertStatus(r, 202)
        res = r.json()["Results"]
        self.assertEqual(len(res), 120)
        digests = [x["Digest"] for x in res if x["Digest"] is not None]
        self.assertEqual(len(digests), 40)
        for dig in digests:
            stored = d.get("/v1/digests/" + pct(dig["Id"]))
            self.assertStatus(stored, 200)
            got = stored.json()
            got.pop("Delivery", None)
            self.assertEqual(got, dig)
            for i, n in enumerate(dig["Notifications"]):
                self.assertEqual(n["Notification"], "n%d \"quoted\" \\ \u0001" % i)
                for k, v in extra.items():
                    self.assertEqual(n[k], v)


if __name__ == "__main__":
    unittest.main()
