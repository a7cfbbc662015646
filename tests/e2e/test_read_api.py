"""Read and control endpoints (SPEC §4.2)."""

import unittest

from rollupd_harness import E2ETestCase, notification, parse_rfc3339_ns, pct


class FlushTest(E2ETestCase):
    def test_flush_completes_the_open_group(self):
        d = self.start_daemon()
        for i in range(2):
            self.assertAccepted(d.post("/notifications", notification("f@example.com", "f-%d" % i)))
        r = d.post("/v1/aggregations/f@example.com/flush")
        self.assertStatus(r, 200, "flush")
        body = r.json()
        self.assertEqual(set(body), {"Digest"}, body)
        dig = self.assertDigest(body["Digest"], "f@example.com", "flush", 2)
        self.assertEqual(self.texts(dig["Notifications"]), ["f-0", "f-1"])
        self.assertProblem(d.get("/v1/aggregations/f@example.com"), 404, "after flush")
        self.assertProblem(d.post("/v1/aggregations/f@example.com/flush"), 404, "flush with no open group")
        got = d.get("/v1/digests/" + pct(dig["Id"]))
        self.assertStatus(got, 200)
        self.assertEqual(got.json()["Reason"], "flush")

    def test_flush_unknown_user_is_404(self):
        d = self.start_daemon()
        self.assertProblem(d.post("/v1/aggregations/nobody@example.com/flush"), 404)


class AggregationViewTest(E2ETestCase):
    def test_get_group_is_percent_decoded_and_case_insensitive(self):
        d = self.start_daemon()
        self.assertAccepted(d.post("/notifications", notification("Mixed.Case@Example.com", "x")))
        for path in ("/v1/aggregations/mixed.case@example.com", "/v1/aggregations/Mixed.Case%40Example.COM",
                     "/v1/aggregations/MIXED.CASE@EXAMPLE.COM"):
            with self.subTest(path=path):
                r = d.get(path)
                self.assertStatus(r, 200, path)
                g = r.json()
                self.assertEqual(set(g), {"Email", "Count", "FirstReceivedAt", "DueAt", "Notifications"}, g)
                self.assertEqual(g["Email"], "mixed.case@example.com")
                self.assertEqual(g["Count"], 1)
                self.assertEqual(len(g["Notifications"]), 1)
                self.assertEqual(g["Notifications"][0]["Notification"], "x")

    def test_unknown_group_is_404(self):
        d = self.start_daemon()
        self.assertProblem(d.get("/v1/aggregations/ghost@example.com"), 404)

    def test_list_is_ordered_and_paginated(self):
        d = self.start_daemon()
        users = ["e%d@example.com" % i for i in (3, 1, 4, 0, 2)]
        for i, u in enumerate(users):
            for _ in range(1 + i % 2):
                self.assertAccepted(d.post("/notifications", notification(u, "x")))
        expected = sorted(users)
        counts = {u: 1 + i % 2 for i, u in enumerate(users)}

        r = d.get("/v1/aggregations")
        self.assertStatus(r, 200)
        body = r.json()
        self.assertEqual(set(body), {"Aggregations", "Next"}, body)
        self.assertEqual([g["Email"] for g in body["Aggregations"]], expected)
        for g in body["Aggregations"]:
            self.assertEqual(set(g), {"Email", "Count", "FirstReceivedAt", "DueAt"}, g)
            self.assertEqual(g["Count"], counts[g["Email"]])
            self.assertTime(g["FirstReceivedAt"])
            self.assertTime(g["DueAt"])
            self.assertEqual(parse_rfc3339_ns(g["DueAt"]) - parse_rfc3339_ns(g["FirstReceivedAt"]),
                             600 * 1_000_000_000)
        self.assertIsNone(body["Next"])

        pages, after = [], None
        for _ in range(10):
            path = "/v1/aggregations?limit=2" + ("" if after is None else "&after=" + pct(after))
            r = d.get(path)
            self.assertStatus(r, 200, path)
            page = r.json()
            self.assertLessEqual(len(page["Aggregations"]), 2)
            pages.append([g["Email"] for g in page["Aggregations"]])
            if page["Next"] is None:
                break
            self.assertEqual(page["Next"], page["Aggregations"][-1]["Email"], "Next is the last email of the page")
            after = page["Next"]
        flat = [e for p in pages for e in p]
        self.assertEqual(flat, expected)
        self.assertEqual(pages[0], expected[:2])
        self.assertEqual(pages[1], expected[2:4])

        r = d.get("/v1/aggregations?after=" + pct("e2@example.com"))
        self.assertEqual([g["Email"] for g in r.json()["Aggregations"]], ["e3@example.com", "e4@example.com"])

    def test_bad_limit_is_a_problem(self):
        d = self.start_daemon()
        for path in ("/v1/aggregations?limit=abc", "/v1/aggregations?limit=-1", "/v1/aggregations?limit=1001",
                     "/v1/digests?limit=0", "/v1/digests?email=" + pct("not-an-email")):
            with self.subTest(path=path):
                p = self.assertProblem(d.get(path), 422, "a query parameter out of its range")
                field = "email" if "email=" in path else "limit"
                self.assertEqual([e["field"] for e in p["errors"]], [field], p)


class DigestListTest(E2ETestCase):
    def test_digests_newest_first_and_paginated(self):
        d = self.start_daemon()
        ids = []
        for i in range(9):
            a = self.assertAccepted(d.post("/notifications", notification("dl@example.com", "d-%d" % i)))
            if a["Digest"] is not None:
                ids.append(a["Digest"]["Id"])
        a = self.assertAccepted(d.post("/notifications", notification("other@example.com", "o", Priority="HIGH")))
        other_id = a["Digest"]["Id"]
        self.assertEqual(len(ids), 3)

        listed = self.digests_of(d, "dl@example.com", limit=50)
        self.assertEqual([x["Id"] for x in listed], list(reversed(ids)), "newest first")
        self.assertEqual(self.texts(listed[0]["Notifications"]), ["d-6", "d-7", "d-8"])

        paged = self.digests_of(d, "dl@example.com", limit=1)
        self.assertEqual([x["Id"] for x in paged], list(reversed(ids)))

        r = d.get("/v1/digests")
        self.assertStatus(r, 200)
        all_ids = [x["Id"] for x in r.json()["Digests"]]
        self.assertEqual(all_ids, [other_id] + list(reversed(ids)), "without email=, every user's, newest first")

        self.assertEqual(self.digests_of(d, "nobody@example.com"), [])

    def test_unknown_digest_is_404(self):
        d = self.start_daemon()
        self.assertProblem(d.get("/v1/digests/no-such-digest"), 404)


class ProbesTest(E2ETestCase):
    def test_livez_readyz(self):
        d = self.start_daemon()
        self.assertStatus(d.get("/livez"), 200)
        self.assertStatus(d.get("/readyz"), 200)
        self.assertAccepted(d.post("/notifications", notification("m@example.com", "x")))
        self.assertStatus(d.get("/readyz"), 200)

    def test_head_is_get_without_the_body(self):
        # curl -I on a probe, as the README suggests; on one keep-alive
        # connection, so a body sent with a HEAD answer would garble the next.
        d = self.start_daemon()
        full = d.get("/readyz")
        self.assertStatus(full, 200)
        c = d.client()
        try:
            head = c.request("HEAD", "/readyz")
            self.assertStatus(head, 200)
            self.assertEqual(head.header("Content-Length"), str(len(full.body)))
            refused = c.request("HEAD", "/notifications")
            self.assertStatus(refused, 405)
            self.assertEqual(refused.header("Allow"), "POST")
            self.assertAccepted(c.post("/notifications", notification("h@example.com", "x")))
            self.assertIsNotNone(c.conn, "the daemon closed the keep-alive connection")
        finally:
            c.close()

    def test_keep_alive(self):
        d = self.start_daemon()
        c = d.client()
        try:
            for i in range(5):
                self.assertAccepted(c.post("/notifications", notification("ka@example.com", "k%d" % i)))
                self.assertIsNotNone(c.conn, "the daemon closed a keep-alive connection")
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
