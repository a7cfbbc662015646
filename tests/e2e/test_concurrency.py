"""Concurrency (SPEC §7): one user's notifications are applied one at a time,
in arrival order, and none is lost or doubled."""

import threading
import time
import unittest

import json

from rollupd_harness import E2ETestCase, notification, raw_pipeline

THREADS = 20
PER_THREAD = 10
TOTAL = THREADS * PER_THREAD  # 200


class ConcurrentOneUserTest(E2ETestCase):
    """Issue test 5: 200 concurrent POSTs for one user over 20 keep-alive connections."""

    def test_200_concurrent_posts_one_user(self):
        d = self.start_daemon()
        email = "conc@example.com"
        answers = [None] * TOTAL
        errors = []
        start = threading.Barrier(THREADS)

        def worker(t):
            c = d.client(timeout=120)
            try:
                try:
                    start.wait(timeout=30)
                except threading.BrokenBarrierError:
                    pass
                for k in range(PER_THREAD):
                    i = t * PER_THREAD + k
                    r = c.post("/notifications", notification(email, "n-%d" % i))
                    answers[i] = r
            except Exception as e:  # noqa: BLE001 - collected and reported below
                errors.append("thread %d: %r" % (t, e))
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(THREADS)]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=max(1.0, 240 - (time.monotonic() - t0)))
        self.assertFalse([th for th in threads if th.is_alive()], "posting threads did not finish in 240 s")
        self.assertEqual(errors, [])

        digests_in_answers = []
        pendings = []
        for i, r in enumerate(answers):
            self.assertIsNotNone(r, "no answer for n-%d" % i)
            a = self.assertAccepted(r, "n-%d" % i)
            self.assertEqual(a["Email"], email)
            self.assertIs(a["Duplicate"], False)
            pendings.append(a["Pending"])
            if a["Digest"] is not None:
                self.assertEqual(a["Pending"], 0, a)
                digests_in_answers.append(self.assertDigest(a["Digest"], email, "count", 3))
            else:
                self.assertIn(a["Pending"], (1, 2), a)
        self.assertEqual(len(digests_in_answers), TOTAL // 3, "digests among the answers")
        self.assertEqual(sorted(pendings).count(1), TOTAL // 3 + 1)
        self.assertEqual(sorted(pendings).count(2), TOTAL // 3 + 1)

        # The same digests, as the daemon keeps them.
        listed = self.digests_of(d, email, limit=25)
        self.assertEqual(len(listed), TOTAL // 3, "digests via GET /v1/digests?email=")
        self.assertEqual(sorted(x["Id"] for x in listed), sorted(x["Id"] for x in digests_in_answers))
        self.assertEqual(len({x["Id"] for x in listed}), len(listed), "digest Ids are unique")
        by_id = {x["Id"]: x for x in digests_in_answers}
        for x in listed:
            self.assertDigest(x, email, "count", 3)
            self.assertEqual(x["Notifications"], by_id[x["Id"]]["Notifications"])

        g = d.get("/v1/aggregations/" + email)
        self.assertStatus(g, 200)
        g = g.json()
        self.assertEqual(g["Count"], TOTAL % 3)
        self.assertEqual(len(g["Notifications"]), TOTAL % 3)

        # Every notification exactly once across the digests and the open group.
        seen = [n["Notification"] for x in listed for n in x["Notifications"]] + self.texts(g["Notifications"])
        self.assertEqual(sorted(seen), sorted("n-%d" % i for i in range(TOTAL)))

        # Arrival order: a thread sends k+1 only after k was answered, so k must
        # come first in the one sequence (digests oldest first, then the open group).
        sequence = [n["Notification"] for x in reversed(listed) for n in x["Notifications"]]
        sequence += self.texts(g["Notifications"])
        position = {text: p for p, text in enumerate(sequence)}
        for t in range(THREADS):
            order = [position["n-%d" % (t * PER_THREAD + k)] for k in range(PER_THREAD)]
            self.assertEqual(order, sorted(order),
                             "thread %d's notifications out of arrival order (digests listed newest first)" % t)

    def test_concurrent_users_in_parallel(self):
        self.check_users_in_parallel(n_users=8, posts=9)

    def test_more_users_at_once_than_a_transaction_answers(self):
        # 40 users posting at once: more single notifications in flight than
        # one storage transaction answers (README: 16), so they are split
        # across transactions and storage threads; each user's still apply
        # once each, in order.
        self.check_users_in_parallel(n_users=40, posts=6)

    def check_users_in_parallel(self, n_users, posts):
        d = self.start_daemon()
        users = ["p%d@example.com" % i for i in range(n_users)]
        errors = []
        results = {u: [] for u in users}

        def worker(u):
            c = d.client(timeout=120)
            try:
                for k in range(posts):
                    r = c.post("/notifications", notification(u, "%s-%d" % (u, k)))
                    results[u].append(r)
            except Exception as e:  # noqa: BLE001
                errors.append("%s: %r" % (u, e))
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(u,), daemon=True) for u in users]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=180)
        self.assertFalse([th for th in threads if th.is_alive()], "threads did not finish")
        self.assertEqual(errors, [])
        for u in users:
            answers = [self.assertAccepted(r) for r in results[u]]
            self.assertEqual([a["Pending"] for a in answers], [1, 2, 0] * (posts // 3), u)
            for j, a in enumerate(answers[2::3]):
                dig = self.assertDigest(a["Digest"], u, "count", 3)
                self.assertEqual(self.texts(dig["Notifications"]), ["%s-%d" % (u, 3 * j + k) for k in range(3)])
        self.assertEqual(self.open_groups(d), [])


class PipeliningTest(E2ETestCase):
    """HTTP/1.1 keep-alive with pipelined requests: answered in request order."""

    def test_pipelined_posts_are_answered_in_order(self):
        d = self.start_daemon()
        data = b""
        for i in range(5):
            body = json.dumps(notification("pipe@example.com", "p-%d" % i)).encode()
            data += (b"POST /notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        data += b"GET /v1/aggregations/pipe@example.com HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        responses = raw_pipeline(d.port, data, 6)
        self.assertEqual(len(responses), 6, "six pipelined requests, six answers: %r" % responses)
        answers = [self.assertAccepted(r, "pipelined POST %d" % i) for i, r in enumerate(responses[:5])]
        self.assertEqual([a["Pending"] for a in answers], [1, 2, 0, 1, 2])
        self.assertEqual(self.texts(answers[2]["Digest"]["Notifications"]), ["p-0", "p-1", "p-2"])
        self.assertStatus(responses[5], 200)
        self.assertEqual(self.texts(responses[5].json()["Notifications"]), ["p-3", "p-4"])


if __name__ == "__main__":
    unittest.main()
