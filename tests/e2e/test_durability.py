"""Durability across crashes and restarts, idempotency, graceful shutdown
(SPEC §2, §6, §7)."""

import json
import os
import signal
import socket
import subprocess
import time
import unittest

from rollupd_harness import (HOST, Client, E2ETestCase, free_port, notification, parse_rfc3339_ns, pct,
                             read_raw_response, rollupd_bin, sanitizer_env)

TEN_MINUTES_NS = 10 * 60 * 1_000_000_000


class CrashDurabilityTest(E2ETestCase):
    """Issue test 4: an acknowledged notification survives kill -9."""

    def test_open_group_survives_kill9(self):
        d = self.start_daemon()
        for i, text in enumerate(("crash-1", "crash-2"), start=1):
            a = self.assertAccepted(d.post("/notifications", notification("k@example.com", text)))
            self.assertEqual(a["Pending"], i)
        before = d.get("/v1/aggregations/k@example.com")
        self.assertStatus(before, 200)
        before = before.json()
        self.assertEqual(set(before), {"Email", "Count", "FirstReceivedAt", "DueAt", "Notifications"}, before)
        self.assertEqual(before["Email"], "k@example.com")
        self.assertEqual(before["Count"], 2)
        self.assertTime(before["FirstReceivedAt"])
        self.assertTime(before["DueAt"])
        self.assertEqual(parse_rfc3339_ns(before["DueAt"]) - parse_rfc3339_ns(before["FirstReceivedAt"]),
                         TEN_MINUTES_NS, "DueAt is FirstReceivedAt + completion_timeout (10m default)")

        d.kill9()
        d.start()

        after = d.get("/v1/aggregations/k@example.com")
        self.assertStatus(after, 200, "open group after kill -9 and restart")
        after = after.json()
        self.assertEqual(after["Count"], 2, after)
        self.assertEqual(self.texts(after["Notifications"]), ["crash-1", "crash-2"])
        self.assertEqual(after["FirstReceivedAt"], before["FirstReceivedAt"], "restart must not move the group")
        self.assertEqual(after["DueAt"], before["DueAt"], "restart must neither lose nor delay the deadline")

        a = self.assertAccepted(d.post("/notifications", notification("k@example.com", "crash-3")))
        self.assertEqual(a["Pending"], 0)
        dig = self.assertDigest(a["Digest"], "k@example.com", "count", 3)
        self.assertEqual(self.texts(dig["Notifications"]), ["crash-1", "crash-2", "crash-3"])
        self.assertEqual(dig["FirstReceivedAt"], before["FirstReceivedAt"])

        # The digest itself is durable too.
        d.kill9()
        d.start()
        r = d.get("/v1/digests/" + pct(dig["Id"]))
        self.assertStatus(r, 200, "digest after a second kill -9")
        self.assertEqual(r.json()["Notifications"], dig["Notifications"])
        self.assertProblem(d.get("/v1/aggregations/k@example.com"), 404)

    def test_many_groups_survive_kill9(self):
        d = self.start_daemon()
        users = ["u%02d@example.com" % i for i in range(12)]
        for i, u in enumerate(users):
            for j in range(1 + i % 2):
                self.assertAccepted(d.post("/notifications", notification(u, "%s-%d" % (u, j))))
        d.kill9()
        d.start()
        groups = self.open_groups(d)
        self.assertEqual([(g["Email"], g["Count"]) for g in groups],
                         [(u, 1 + i % 2) for i, u in enumerate(users)])


class IdempotencyTest(E2ETestCase):
    """Issue test 7: a repeated Id or Idempotency-Key is answered, not applied."""

    def test_same_id_twice(self):
        d = self.start_daemon()
        a = self.assertAccepted(d.post("/notifications", notification("dup@example.com", "x", Id="evt-1")))
        self.assertEqual(a, {"Email": "dup@example.com", "Pending": 1, "Duplicate": False, "Digest": None})
        a = self.assertAccepted(d.post("/notifications", notification("dup@example.com", "x", Id="evt-1")))
        self.assertEqual(a, {"Email": "dup@example.com", "Pending": 1, "Duplicate": True, "Digest": None})
        # Same Id, different text: still the same notification by its key.
        a = self.assertAccepted(d.post("/notifications", notification("dup@example.com", "other", Id="evt-1")))
        self.assertEqual(a["Duplicate"], True)
        self.assertEqual(a["Pending"], 1)
        g = d.get("/v1/aggregations/dup@example.com").json()
        self.assertEqual(g["Count"], 1)
        self.assertEqual(self.texts(g["Notifications"]), ["x"])

    def test_ids_are_remembered_per_user(self):
        d = self.start_daemon()
        self.assertAccepted(d.post("/notifications", notification("u1@example.com", "x", Id="shared")))
        a = self.assertAccepted(d.post("/notifications", notification("u2@example.com", "x", Id="shared")))
        self.assertEqual(a, {"Email": "u2@example.com", "Pending": 1, "Duplicate": False, "Digest": None})

    def test_idempotency_key_header_twice(self):
        d = self.start_daemon()
        h = {"Idempotency-Key": "key-123"}
        a = self.assertAccepted(d.post("/notifications", notification("hk@example.com", "one"), h))
        self.assertEqual(a, {"Email": "hk@example.com", "Pending": 1, "Duplicate": False, "Digest": None})
        a = self.assertAccepted(d.post("/notifications", notification("hk@example.com", "one"), h))
        self.assertEqual(a, {"Email": "hk@example.com", "Pending": 1, "Duplicate": True, "Digest": None})
        # Without the header the same body is a new notification.
        a = self.assertAccepted(d.post("/notifications", notification("hk@example.com", "one")))
        self.assertEqual((a["Pending"], a["Duplicate"]), (2, False))

        d.restart()
        a = self.assertAccepted(d.post("/notifications", notification("hk@example.com", "one"), h),
                                "after a graceful restart")
        self.assertEqual(a, {"Email": "hk@example.com", "Pending": 2, "Duplicate": True, "Digest": None})

    def test_duplicate_detected_after_kill9(self):
        d = self.start_daemon()
        self.assertAccepted(d.post("/notifications", notification("dk@example.com", "x", Id="evt-9")))
        d.kill9()
        d.start()
        a = self.assertAccepted(d.post("/notifications", notification("dk@example.com", "x", Id="evt-9")),
                                "after kill -9")
        self.assertEqual(a, {"Email": "dk@example.com", "Pending": 1, "Duplicate": True, "Digest": None})
        g = d.get("/v1/aggregations/dk@example.com")
        self.assertStatus(g, 200)
        self.assertEqual(g.json()["Count"], 1)

    def test_duplicate_of_a_notification_already_in_a_digest(self):
        d = self.start_daemon()
        for i in range(3):
            self.assertAccepted(d.post("/notifications", notification("dd@example.com", "n%d" % i, Id="id-%d" % i)))
        self.assertProblem(d.get("/v1/aggregations/dd@example.com"), 404)
        a = self.assertAccepted(d.post("/notifications", notification("dd@example.com", "n0", Id="id-0")))
        self.assertEqual(a, {"Email": "dd@example.com", "Pending": 0, "Duplicate": True, "Digest": None})
        self.assertProblem(d.get("/v1/aggregations/dd@example.com"), 404, "a duplicate must not open a group")
        self.assertEqual(len(self.digests_of(d, "dd@example.com")), 1)

    def test_duplicates_inside_an_array(self):
        d = self.start_daemon()
        body = [notification("da@example.com", "a", Id="x"), notification("da@example.com", "a", Id="x"),
                notification("da@example.com", "b", Id="y")]
        r = d.post("/notifications", body)
        self.assertStatus(r, 202)
        res = r.json()["Results"]
        self.assertEqual([(x["Pending"], x["Duplicate"]) for x in res], [(1, False), (1, True), (2, False)])


class GracefulShutdownTest(E2ETestCase):
    """Issue test 9 (first half): SIGTERM exits 0 and keeps the data."""

    def test_sigterm_exits_zero_and_data_survives(self):
        d = self.start_daemon()
        for i in (1, 2):
            self.assertAccepted(d.post("/notifications", notification("g@example.com", "g-%d" % i)))
        d.stop()  # asserts exit code 0 within 15 s
        d.start()
        g = d.get("/v1/aggregations/g@example.com")
        self.assertStatus(g, 200)
        self.assertEqual(g.json()["Count"], 2)
        self.assertEqual(self.texts(g.json()["Notifications"]), ["g-1", "g-2"])

    def test_sigint_and_sighup_drain_and_exit_zero(self):
        # SIGHUP: the terminal that ran rollupd closed; stop as cleanly as for SIGTERM.
        for sig, name in ((signal.SIGINT, "SIGINT"), (signal.SIGHUP, "SIGHUP")):
            with self.subTest(signal=name):
                d = self.start_daemon()
                email = "%s@example.com" % name.lower()
                self.assertAccepted(d.post("/notifications", notification(email, "x")))
                d.proc.send_signal(sig)
                self.assertEqual(d.proc.wait(timeout=15), 0, "exit code after %s" % name)
                self.assertIn("%s: draining" % name, d.log())
                self.assertIn("shut down cleanly", d.log())
                d.start()
                self.assertEqual(d.get("/v1/aggregations/" + email).json()["Count"], 1)

    def test_log_reader_gone_does_not_end_the_daemon(self):
        # `rollupd | head -n1`: once the reader has gone, each log line is a
        # write to a broken pipe, which must fail quietly, not raise SIGPIPE.
        port = free_port()
        proc = subprocess.Popen([rollupd_bin(), "--listen", "%s:%d" % (HOST, port), "--data-dir",
                                 os.path.join(self.workdir, "pipe-data"), "--log-level", "debug"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=sanitizer_env())
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        c = Client(port, timeout=10)
        self.addCleanup(c.close)
        deadline = time.monotonic() + 30
        while True:
            self.assertIsNone(proc.poll(), "rollupd exited before it was ready")
            try:
                if c.get("/readyz").status == 200:
                    break
            except OSError:
                c.close()
            self.assertLess(time.monotonic(), deadline, "rollupd not ready within 30 s")
            time.sleep(0.1)
        proc.stdout.close()  # the reader goes away
        for i in range(3):  # each is logged; the third completes a digest, logged by the log sink
            try:
                r = c.post("/notifications", notification("pipe@example.com", "p-%d" % i))
            except OSError as e:
                time.sleep(0.5)
                self.fail("notification %d after the log reader went: %s (rollupd's exit: %r)" % (i, e, proc.poll()))
            self.assertIn(r.status, (200, 202), "notification %d after the log reader went: %r" % (i, r))
        time.sleep(0.5)  # the log sink's line comes from the dispatcher, after the answer
        self.assertIsNone(proc.poll(), "rollupd ended when its log reader went away (exit %r)" % proc.returncode)
        self.assertEqual(c.get("/v1/digests?email=pipe@example.com").json()["Digests"][0]["Count"], 3)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=15), 0, "exit code after SIGTERM")

    def test_a_request_arriving_at_sigterm_is_waited_for_and_served(self):
        # Its header came before the signal, its body after: it is in flight.
        d = self.start_daemon()
        body = json.dumps(notification("arriving@example.com", "in flight")).encode()
        head = ("POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n\r\n" % len(body)).encode()
        with socket.create_connection((HOST, d.port), timeout=15) as s:
            s.sendall(head + body[:10])
            time.sleep(0.3)  # the header is read
            d.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)  # the drain has begun, and waits
            self.assertIsNone(d.proc.poll(), "rollupd exited with a request half received")
            s.sendall(body[10:])
            r, _ = read_raw_response(s, b"", time.monotonic() + 15)
        self.assertIsNotNone(r, "the connection closed without an answer")
        self.assertAccepted(r, "the request that was arriving at SIGTERM")
        self.assertEqual(r.header("Connection", "").lower(), "close", "draining closes after the answer")
        self.assertEqual(d.proc.wait(timeout=15), 0, "exit code after SIGTERM")
        d.start()
        self.assertEqual(d.get("/v1/aggregations/arriving@example.com").json()["Count"], 1)

    def test_sigterm_with_idle_keepalive_connection(self):
        d = self.start_daemon()
        c = d.client()
        self.assertStatus(c.get("/livez"), 200)
        # The idle keep-alive connection must not hold shutdown up.
        d.stop()
        c.close()

    def test_wal_durability_mode(self):
        d = self.start_daemon("--durability", "wal")
        for i in (1, 2):
            self.assertAccepted(d.post("/notifications", notification("w@example.com", "w-%d" % i)))
        d.kill9()
        d.start()
        g = d.get("/v1/aggregations/w@example.com")
        self.assertStatus(g, 200, "wal mode survives a crash of the process")
        self.assertEqual(g.json()["Count"], 2)


class DiskFullTest(E2ETestCase):
    """A full disk: 503 and nothing lost; serving again, by itself, once
    there is room (RocksDB's own recovery, which wants room for a flush of
    the whole 64 MB memtable budget).

    Not in the ctest suite (see tests/e2e/CMakeLists.txt): in most runs the
    daemon aborts on an assertion of Debian's RocksDB as the disk fills (its
    info log, on the same disk, failed a write). Run by hand (as root,
    ROLLUPD_BIN set) until that is fixed."""

    def mount_small_disk(self, size):
        mnt = os.path.join(self.workdir, "disk")
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", mnt], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise unittest.SkipTest("cannot mount a tmpfs here (needs root): %s" % r.stderr.strip())
        self.addCleanup(lambda: subprocess.run(["umount", "-l", mnt], capture_output=True))
        return mnt

    def test_full_disk_is_503_and_serving_resumes_once_there_is_room(self):
        mnt = self.mount_small_disk("24m")
        d = self.start_daemon("--completion-timeout", "0", data_dir=os.path.join(mnt, "data"))
        self.addCleanup(d.cleanup)  # before the unmount
        c = d.client()
        acked, refused = [], None
        for i in range(200):  # 16 KB notifications, 40 users a request: ~0.6 MB each
            users = ["full-%d-%d@example.com" % (i, k) for k in range(40)]
            r = c.post("/notifications", [notification(u, "x" * 16000) for u in users])
            if r.status == 503:
                refused = r
                break
            self.assertIn(r.status, (200, 202), r)
            acked.extend(users)
        self.assertIsNotNone(refused, "24 MB never filled")
        self.assertTrue(acked, "the first request already failed")
        self.assertProblem(refused, 503, "a write to a full disk")
        self.assertIsNotNone(refused.header("Retry-After"), "503 without Retry-After")
        self.assertStatus(d.get("/readyz"), 503, "readyz on a full disk")
        self.assertStatus(d.get("/livez"), 200, "livez on a full disk")

        subprocess.run(["mount", "-o", "remount,size=160m", mnt], check=True)
        deadline = time.monotonic() + 30  # RocksDB looks every 5 s
        while d.get("/readyz").status != 200:
            self.assertLess(time.monotonic(), deadline, "still not ready 30 s after the disk had room")
            time.sleep(0.5)
        self.assertAccepted(d.post("/notifications", notification("after@example.com", "room again")))

        listed, after = set(), None
        while True:
            page = d.get("/v1/aggregations?limit=1000" + ("&after=" + pct(after) if after else "")).json()
            listed.update(a["Email"] for a in page["Aggregations"])
            after = page["Next"]
            if after is None:
                break
        missing = set(acked) - listed
        self.assertEqual(missing, set(), "acknowledged before the disk filled, then lost")
        d.stop()


if __name__ == "__main__":
    unittest.main()
