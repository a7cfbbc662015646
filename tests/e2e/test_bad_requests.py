"""Bad requests (SPEC §1, §4.3, §4.4): each is answered as specified, changes
nothing, and the daemon keeps serving."""

import json
import os
import socket
import unittest

from rollupd_harness import E2ETestCase, notification, raw_exchange

GOOD = {"Email": "good@example.com", "Notification": "fine"}


class BadRequestCase(E2ETestCase):
    def assertUnchanged(self, d, expected_groups=()):
        """The daemon still serves and holds exactly the expected open groups."""
        self.assertStatus(d.get("/livez"), 200, "/livez after a bad request")
        groups = self.open_groups(d)
        self.assertEqual([(g["Email"], g["Count"]) for g in groups], list(expected_groups),
                         "a bad request must not change state")

    def assert422(self, resp, expected, msg=""):
        """422 whose errors name exactly the given (index or None, field) pairs."""
        p = self.assertProblem(resp, 422, msg)
        self.assertIn("errors", p, "%s: 422 without errors: %r" % (msg, p))
        self.assertIsInstance(p["errors"], list)
        self.assertTrue(p["errors"], msg)
        named = set()
        for e in p["errors"]:
            self.assertIsInstance(e, dict, msg)
            self.assertIsInstance(e.get("field"), str, "%s: %r" % (msg, e))
            self.assertIsInstance(e.get("rule"), str, "%s: %r" % (msg, e))
            self.assertTrue(e["rule"].strip(), "%s: empty rule %r" % (msg, e))
            if "index" in e:
                self.assertIsInstance(e["index"], int, "%s: %r" % (msg, e))
            named.add((e.get("index"), e["field"]))
        self.assertEqual(named, set(expected), "%s: errors %r" % (msg, p["errors"]))
        return p


class MalformedJsonTest(BadRequestCase):
    def test_malformed_json_is_400_with_offset(self):
        d = self.start_daemon()
        bodies = [b'{"Email":"a@example.com","Notification":',
                  b'{"Email":"a@example.com",,"Notification":"x"}',
                  b'{"Email":"a@example.com","Notification":"x"} trailing',
                  b'not json at all',
                  b'{"Email":"a@example.com","Notification":"x",}',
                  b'{"Email":"a@example.com","Notification":"x","N":1e999999}',  # beyond a double
                  b'']
        for body in bodies:
            with self.subTest(body=body):
                p = self.assertProblem(d.post("/notifications", body, {"Content-Type": "application/json"}), 400,
                                       "malformed %r" % body)
                self.assertIn("offset", p, p)
                self.assertIsInstance(p["offset"], int, p)
                self.assertTrue(0 <= p["offset"] <= len(body), "offset %r outside the body of %d bytes"
                                % (p["offset"], len(body)))
        self.assertUnchanged(d)

    def test_a_key_given_twice_is_400_and_nothing_is_stored(self):
        d = self.start_daemon()
        for body in (b'{"Email":"a@example.com","Email":"b@example.com","Notification":"x"}',
                     b'[{"Email":"a@example.com","Notification":"x","Extra":{"k":1,"k":2}}]'):
            with self.subTest(body=body):
                p = self.assertProblem(d.post("/notifications", body, {"Content-Type": "application/json"}), 400,
                                       "a key twice")
                self.assertIn("given twice in one object", p["detail"])
        self.assertUnchanged(d)

    def test_a_number_too_large_is_not_echoed(self):
        d = self.start_daemon()
        number = b"9" * 400_000
        body = b'{"Email":"a@example.com","Notification":"x","N":' + number + b'}'
        r = d.post("/notifications", body, {"Content-Type": "application/json"})
        p = self.assertProblem(r, 400, "a 400,000-digit number")
        self.assertEqual(p.get("offset"), body.index(number), p["detail"][:200])
        self.assertLess(len(r.body), 1000, "the problem echoes the number: %d bytes" % len(r.body))
        self.assertUnchanged(d)


class ValidationTest(BadRequestCase):
    def test_invalid_fields_are_422_naming_the_field(self):
        d = self.start_daemon()
        cases = [
            ("missing Email", {"Notification": "x"}, "Email"),
            ("Email null", {"Email": None, "Notification": "x"}, "Email"),
            ("Email not a string", {"Email": 42, "Notification": "x"}, "Email"),
            ("Email without @", {"Email": "not-an-email", "Notification": "x"}, "Email"),
            ("Email with two @", {"Email": "a@b@example.com", "Notification": "x"}, "Email"),
            ("Email empty local part", {"Email": "@example.com", "Notification": "x"}, "Email"),
            ("Email empty domain", {"Email": "a@", "Notification": "x"}, "Email"),
            ("Email inner space", {"Email": "a b@example.com", "Notification": "x"}, "Email"),
            ("Email no-break space", {"Email": "a\u00a0b@example.com", "Notification": "x"}, "Email"),
            ("Email zero-width space", {"Email": "a\u200bb@example.com", "Notification": "x"}, "Email"),
            ("Email too long", {"Email": "a" * 250 + "@example.com", "Notification": "x"}, "Email"),
            ("missing Notification", {"Email": "a@example.com"}, "Notification"),
            ("empty Notification", {"Email": "a@example.com", "Notification": ""}, "Notification"),
            ("Notification not a string", {"Email": "a@example.com", "Notification": ["x"]}, "Notification"),
            ("Notification over 16384 bytes", {"Email": "a@example.com", "Notification": "x" * 16385},
             "Notification"),
            ("bad Timestamp", {"Email": "a@example.com", "Notification": "x", "Timestamp": "yesterday"},
             "Timestamp"),
            ("Timestamp without zone", {"Email": "a@example.com", "Notification": "x",
                                        "Timestamp": "2019-08-10T15:31:47"}, "Timestamp"),
            ("Timestamp impossible date", {"Email": "a@example.com", "Notification": "x",
                                           "Timestamp": "2019-13-40T15:31:47Z"}, "Timestamp"),
            ("Timestamp a number", {"Email": "a@example.com", "Notification": "x", "Timestamp": 1565451107},
             "Timestamp"),
            ("Priority 7", {"Email": "a@example.com", "Notification": "x", "Priority": 7}, "Priority"),
            ("Priority -1", {"Email": "a@example.com", "Notification": "x", "Priority": -1}, "Priority"),
            ("Priority URGENT", {"Email": "a@example.com", "Notification": "x", "Priority": "URGENT"}, "Priority"),
            ("Priority 1.5", {"Email": "a@example.com", "Notification": "x", "Priority": 1.5}, "Priority"),
            ("Id with a control char", {"Email": "a@example.com", "Notification": "x", "Id": "abc\u0001def"}, "Id"),
            ("Id empty", {"Email": "a@example.com", "Notification": "x", "Id": ""}, "Id"),
            ("Id over 200", {"Email": "a@example.com", "Notification": "x", "Id": "i" * 201}, "Id"),
            ("Id not ASCII", {"Email": "a@example.com", "Notification": "x", "Id": "caf\u00e9"}, "Id"),
        ]
        for name, body, field in cases:
            with self.subTest(case=name):
                r = d.post("/notifications", body)
                p = self.assert422(r, {(None, field)}, name)
                for e in p["errors"]:
                    self.assertNotIn("index", e, "%s: index only for array elements: %r" % (name, e))
        self.assertUnchanged(d)

    def test_two_idempotency_keys_are_422(self):
        # Which one is the key cannot be known: neither is taken.
        d = self.start_daemon()
        body = json.dumps(notification("twokeys@example.com", "x")).encode()
        r = raw_exchange(d.port, b"POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 b"Idempotency-Key: A\r\nIdempotency-Key: B\r\nConnection: close\r\n"
                                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.assert422(r, {(None, "Idempotency-Key")}, "two Idempotency-Key headers")
        self.assertUnchanged(d)

    def test_several_broken_rules_are_all_named(self):
        d = self.start_daemon()
        r = d.post("/notifications", {"Email": "nope", "Notification": "", "Priority": 9})
        self.assert422(r, {(None, "Email"), (None, "Notification"), (None, "Priority")})
        self.assertUnchanged(d)

    def test_body_that_is_not_an_object(self):
        d = self.start_daemon()
        for body in ('"a string"', "42", "null", "true"):
            with self.subTest(body=body):
                p = self.assertProblem(d.post("/notifications", body, {"Content-Type": "application/json"}), 422,
                                       body)
                self.assertIn("errors", p)
        self.assertUnchanged(d)

    def test_notification_over_64_kib_as_json(self):
        d = self.start_daemon()
        body = {"Email": "a@example.com", "Notification": "x", "Extra": "y" * (70 * 1024)}
        p = self.assertProblem(d.post("/notifications", body), 422, "notification over 64 KiB")
        self.assertIn("errors", p)
        self.assertUnchanged(d)

    def test_notification_of_exactly_64_kib_as_json(self):
        # SPEC §1: at most 64 KiB as JSON, extra keys included. The size is the
        # notification written compactly, so an escaped character counts as
        # its escape and a non-ASCII one as its UTF-8 bytes.
        def compact_size(n):
            return len(json.dumps(n, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8"))

        def sized(email, size):
            n = {"Email": email, "Notification": "n", "Extra": ""}
            unit = 'q"\u00e9\n'  # 1 + 2 + 2 + 2 bytes as JSON
            k, r = divmod(size - compact_size(n), 7)
            n["Extra"] = unit * k + "a" * r
            self.assertEqual(compact_size(n), size)
            return n

        d = self.start_daemon()
        self.assertAccepted(d.post("/notifications", sized("at-limit@example.com", 65536)), "exactly 64 KiB")
        p = self.assertProblem(d.post("/notifications", sized("over@example.com", 65537)), 422, "one byte over")
        self.assertIn("65536", p["detail"])
        self.assertUnchanged(d, [("at-limit@example.com", 1)])

    def test_array_with_one_bad_element_stores_nothing(self):
        d = self.start_daemon()
        self.assertAccepted(d.post("/notifications", notification("keep@example.com", "already here")))
        body = [notification("arr@example.com", "ok-0"),
                {"Email": "arr@example.com", "Notification": "bad", "Priority": 7},
                notification("arr@example.com", "ok-2"),
                notification("keep@example.com", "ok-3")]
        p = self.assert422(d.post("/notifications", body), {(1, "Priority")}, "array with a bad element")
        self.assertIn("1", p["detail"], "detail names the index: %r" % p["detail"])
        self.assertProblem(d.get("/v1/aggregations/arr@example.com"), 404, "nothing of the array is stored")
        self.assertUnchanged(d, [("keep@example.com", 1)])

    def test_array_names_every_bad_index(self):
        d = self.start_daemon()
        body = [{"Notification": "no email"}, notification("arr@example.com", "ok"),
                {"Email": "arr@example.com", "Notification": "x", "Timestamp": "bad"}]
        self.assert422(d.post("/notifications", body), {(0, "Email"), (2, "Timestamp")})
        self.assertUnchanged(d)

    def test_array_limits(self):
        d = self.start_daemon()
        self.assertProblem(d.post("/notifications", []), 422, "empty array")
        big = [notification("big@example.com", "n%d" % i) for i in range(1001)]
        self.assertProblem(d.post("/notifications", big), 422, "array of 1001")
        self.assertUnchanged(d)
        ok = [notification("big@example.com", "n%d" % i, Priority=0) for i in range(1000)]
        r = d.post("/notifications", ok)
        self.assertStatus(r, 202, "array of exactly 1000")
        self.assertEqual(len(r.json()["Results"]), 1000)


class ProtocolErrorsTest(BadRequestCase):
    def test_wrong_content_type_is_415(self):
        d = self.start_daemon()
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            with self.subTest(ctype=ctype):
                p = self.assertProblem(d.post("/notifications", json.dumps(GOOD), {"Content-Type": ctype}), 415,
                                       ctype)
                self.assertIn("application/json", p["detail"], "415 detail must hint at application/json")
        self.assertUnchanged(d)

    def test_a_compressed_body_is_415_not_malformed_json(self):
        import gzip
        d = self.start_daemon()
        for encoding, body in (("gzip", gzip.compress(json.dumps(GOOD).encode())), ("br", b"\x0b\x02\x80")):
            with self.subTest(encoding=encoding):
                r = d.post("/notifications", body, {"Content-Type": "application/json", "Content-Encoding": encoding})
                p = self.assertProblem(r, 415, encoding)
                self.assertIn("Content-Encoding", p["detail"])
        r = d.post("/notifications", json.dumps(GOOD), {"Content-Type": "application/json",
                                                        "Content-Encoding": "identity"})
        self.assertAccepted(r, "identity is no encoding")

    def _over_limit(self, d, limit):
        head = ("POST /notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n\r\n" % (limit + 1)).encode()
        try:
            r = raw_exchange(d.port, head, timeout=15)
        except socket.timeout as e:
            self.fail("no answer to a Content-Length over max_body_bytes without sending the body: "
                      "the daemon waited for the body (%s)" % e)
        self.assertIsNotNone(r, "connection closed without a 413")
        self.assertProblem(r, 413, "Content-Length %d over %d" % (limit + 1, limit))

    def test_body_over_max_body_bytes_is_413_before_reading(self):
        d = self.start_daemon("--max-body-bytes", "1024")
        self._over_limit(d, 1024)
        # A body just within the limit is fine.
        small = notification("lim@example.com", "x" * 900)
        self.assertLessEqual(len(json.dumps(small)), 1024)
        self.assertAccepted(d.post("/notifications", small))
        self.assertUnchanged(d, [("lim@example.com", 1)])

    def test_default_limit_is_one_mib(self):
        d = self.start_daemon()
        self._over_limit(d, 1048576)
        self.assertUnchanged(d)

    def test_chunked_body_over_limit_is_413(self):
        d = self.start_daemon("--max-body-bytes", "1024")
        chunk = b"x" * 600
        data = (b"POST /notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            data += b"%x\r\n%s\r\n" % (len(chunk), chunk)
        data += b"0\r\n\r\n"
        r = raw_exchange(d.port, data, timeout=15)
        self.assertIsNotNone(r, "connection closed without a 413")
        self.assertProblem(r, 413, "chunked body of 1800 bytes over 1024")
        self.assertUnchanged(d)

    def test_headers_too_large_is_431(self):
        d = self.start_daemon()
        head = ("GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n" % ("a" * 32 * 1024)).encode()
        r = raw_exchange(d.port, head, timeout=15)
        self.assertIsNotNone(r, "connection closed without a 431")
        self.assertProblem(r, 431, "32 KiB header")
        # Many headers that add up to more than 16 KiB count too.
        many = "".join("X-H%d: %s\r\n" % (i, "b" * 100) for i in range(300))
        r = raw_exchange(d.port, ("GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % many).encode(), timeout=15)
        self.assertIsNotNone(r, "connection closed without a 431")
        self.assertProblem(r, 431, "300 headers of ~110 bytes")
        self.assertUnchanged(d)

    def test_unknown_path_is_404(self):
        d = self.start_daemon()
        for method, path in (("GET", "/nope"), ("POST", "/v2/notifications"), ("GET", "/v1/"),
                             ("POST", "/notifications/extra")):
            with self.subTest(path=path):
                self.assertProblem(d.request(method, path, GOOD if method == "POST" else None), 404,
                                   "%s %s" % (method, path))
        self.assertUnchanged(d)

    def test_wrong_method_is_405_with_allow(self):
        d = self.start_daemon()
        for method, path in (("GET", "/notifications"), ("PUT", "/notifications"), ("DELETE", "/v1/notifications"),
                             ("GET", "/v1/notifications")):
            with self.subTest(method=method, path=path):
                r = d.request(method, path)
                self.assertProblem(r, 405, "%s %s" % (method, path))
                allow = r.header("Allow")
                self.assertIsNotNone(allow, "405 without Allow: %r" % r)
                self.assertIn("POST", [m.strip().upper() for m in allow.split(",")], allow)
        r = d.request("POST", "/livez")
        self.assertProblem(r, 405, "POST /livez")
        self.assertIn("GET", [m.strip().upper() for m in (r.header("Allow") or "").split(",")])
        self.assertUnchanged(d)

    def test_garbage_bytes_on_a_socket(self):
        d = self.start_daemon()
        samples = [os.urandom(512) + b"\r\n\r\n",
                   b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n",
                   b"GARBAGE GARBAGE GARBAGE\r\n\r\n",
                   b"POST /notifications HTTP/1.1\r\nContent-Length: -5\r\n\r\n"]
        for data in samples:
            with self.subTest(data=data[:20]):
                try:
                    r = raw_exchange(d.port, data, timeout=15, shutdown_write=True)
                except socket.timeout:
                    self.fail("neither answered nor closed within 15 s")
                if r is not None:
                    self.assertProblem(r, 400, "answer to garbage")
                self.assertStatus(d.get("/livez"), 200, "daemon serves after garbage")
        self.assertUnchanged(d)


class AccessTokenTest(BadRequestCase):
    """SPEC §4.4."""

    TOKEN = "s3cret-token"

    def test_api_token(self):
        d = self.start_daemon("--api-token", self.TOKEN)
        right = {"Authorization": "Bearer " + self.TOKEN}
        wrongs = [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer " + self.TOKEN + "x"},
                  {"Authorization": "Bearer " + self.TOKEN[:-1]}, {"Authorization": "Basic " + self.TOKEN},
                  {"Authorization": self.TOKEN}]
        for h in wrongs:
            with self.subTest(headers=h):
                self.assertProblem(d.post("/notifications", GOOD, h), 401, "POST /notifications %r" % h)
                self.assertProblem(d.post("/v1/notifications", GOOD, h), 401, "POST /v1/notifications %r" % h)
                self.assertProblem(d.get("/v1/aggregations", h), 401, "GET /v1/aggregations %r" % h)
                self.assertProblem(d.get("/v1/aggregations/good@example.com", h), 401)
                self.assertProblem(d.get("/v1/digests", h), 401, "GET /v1/digests %r" % h)
        # Nothing got in.
        self.assertProblem(d.get("/v1/aggregations/good@example.com", right), 404)

        a = self.assertAccepted(d.post("/notifications", GOOD, right))
        self.assertEqual(a, {"Email": "good@example.com", "Pending": 1, "Duplicate": False, "Digest": None})
        r = d.get("/v1/aggregations", right)
        self.assertStatus(r, 200)
        self.assertEqual([g["Email"] for g in r.json()["Aggregations"]], ["good@example.com"])

        for path in ("/livez", "/readyz"):
            with self.subTest(path=path):
                self.assertStatus(d.get(path), 200, path + " stays open")

    def test_token_is_never_logged(self):
        d = self.start_daemon("--api-token", self.TOKEN)
        d.post("/notifications", GOOD, {"Authorization": "Bearer " + self.TOKEN})
        d.post("/notifications", GOOD, {"Authorization": "Bearer wrong-" + self.TOKEN})
        d.stop()
        log = d.log()
        # The command line itself is written by the harness to the log head; skip those lines.
        body = "\n".join(line for line in log.splitlines() if not line.startswith("===== start"))
        self.assertNotIn(self.TOKEN, body, "the api token appears in the daemon's log")


if __name__ == "__main__":
    unittest.main()
