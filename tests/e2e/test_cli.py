"""The command line and configuration (SPEC §9): check-config, healthcheck,
--version, --help, and TOML < environment < flags."""

import json
import os
import subprocess
import unittest

from rollupd_harness import E2ETestCase, free_port, notification, rollupd_bin, sanitizer_env

EX_CONFIG = 78


class CliCase(E2ETestCase):
    def run_cli(self, *args, env=None, timeout=60):
        e = sanitizer_env()
        e.update(env or {})
        p = subprocess.run([rollupd_bin()] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           env=e, cwd=self.workdir, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        return p.returncode, out, err

    def write_config(self, text, name="rollupd.toml"):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assertOutputClean(self, out, err):
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error:"):
            self.assertNotIn(mark, out + err)


class CheckConfigTest(CliCase):
    def test_good_config_exits_zero(self):
        path = self.write_config(
            'listen = "127.0.0.1:18080"\n'
            'data_dir = "%s"\n'
            'durability = "wal"\n'
            'log_level = "debug"\n'
            '\n[aggregation]\n'
            'max_notifications = 4\n'
            'flush_priority = "MEDIUM"\n'
            'completion_timeout = "30s"\n'
            'dedupe_window = "24h"\n' % os.path.join(self.workdir, "data"))
        rc, out, err = self.run_cli("check-config", "--config", path)
        self.assertEqual(rc, 0, "check-config on a good file: stdout %r stderr %r" % (out, err))
        self.assertOutputClean(out, err)

    def assertRefusedNamingKey(self, name, toml_text, key):
        """check-config of this file exits 78 naming `key`; returns (stdout, stderr)."""
        path = self.write_config(toml_text, name="bad.toml")
        rc, out, err = self.run_cli("check-config", "--config", path)
        self.assertEqual(rc, EX_CONFIG, "%s: exit code; stdout %r stderr %r" % (name, out, err))
        self.assertIn(key, err, "%s: stderr must name the key: %r" % (name, err))
        return out, err

    def test_a_bad_secret_is_named_but_not_shown(self):
        cases = [
            ("webhook secret with padding its last group does not need",
             '[delivery.webhook]\nsecret = "whsec_YWJj="\n', "delivery.webhook.secret", "whsec_YWJj=",
             "<hidden: 11 bytes>"),
            ("API token with a newline", 'api_token = "s3cr3t-token\\n"\n', "api_token", "s3cr3t-token",
             '<hidden: 13 bytes, "\\u000a" at byte 13>'),
        ]
        for name, text, key, value, hidden in cases:
            with self.subTest(case=name):
                _, err = self.assertRefusedNamingKey(name, text, key)
                self.assertNotIn(value, err, "%s: stderr shows the secret: %r" % (name, err))
                self.assertIn(hidden, err, "%s: stderr must say what it can of the value: %r" % (name, err))

    def test_empty_config_exits_zero(self):
        path = self.write_config("# all defaults\n")
        rc, out, err = self.run_cli("check-config", "--config", path)
        self.assertEqual(rc, 0, "stdout %r stderr %r" % (out, err))

    def test_bad_values_exit_78_naming_the_key(self):
        cases = [
            ("integer given a string", '[aggregation]\nmax_notifications = "lots"\n', "max_notifications", "lots"),
            ("durability not allowed", 'durability = "sometimes"\n', "durability", "sometimes"),
            ("duration unreadable", '[aggregation]\ncompletion_timeout = "ten minutes"\n', "completion_timeout",
             "ten minutes"),
            ("priority not allowed", '[aggregation]\nflush_priority = "URGENT"\n', "flush_priority", "URGENT"),
            ("log format not allowed", 'log_format = "xml"\n', "log_format", "xml"),
            ("webhook URL with a port no socket can have",
             '[delivery.webhook]\nurl = "http://127.0.0.1:99999/hook"\n', "url", "http://127.0.0.1:99999/hook"),
        ]
        for name, text, key, value in cases:
            with self.subTest(case=name):
                out, err = self.assertRefusedNamingKey(name, text, key)
                self.assertIn(value, err, "%s: stderr must name the value: %r" % (name, err))
                self.assertOutputClean(out, err)

    def test_durability_message_says_what_is_allowed(self):
        path = self.write_config('durability = "sometimes"\n')
        rc, out, err = self.run_cli("check-config", "--config", path)
        self.assertEqual(rc, EX_CONFIG)
        self.assertIn("fsync", err, "the message says what is allowed: %r" % err)
        self.assertIn("wal", err, "the message says what is allowed: %r" % err)

    def test_toml_syntax_error_exits_78(self):
        path = self.write_config('listen = \n[aggregation\n')
        rc, out, err = self.run_cli("check-config", "--config", path)
        self.assertEqual(rc, EX_CONFIG, "stdout %r stderr %r" % (out, err))
        self.assertTrue(err.strip(), "a reason on stderr")


class StartupConfigErrorTest(CliCase):
    def _start_fails(self, args, env, key):
        port = free_port()
        rc, out, err = self.run_cli("--listen", "127.0.0.1:%d" % port,
                                    "--data-dir", os.path.join(self.workdir, "data"), *args, env=env, timeout=30)
        self.assertEqual(rc, EX_CONFIG, "start-up with a bad setting: stdout %r stderr %r" % (out, err))
        self.assertIn(key, (out + err).lower(), "the message names the setting: %r" % (out + err))
        self.assertOutputClean(out, err)

    def test_bad_flag_value_stops_startup(self):
        self._start_fails(["--durability", "sometimes"], None, "durability")

    def test_bad_env_value_stops_startup(self):
        self._start_fails([], {"ROLLUPD_MAX_NOTIFICATIONS": "lots"}, "max_notifications")

    def test_bad_config_file_stops_startup(self):
        path = self.write_config('[aggregation]\nmax_notifications = "lots"\n')
        self._start_fails(["--config", path], None, "max_notifications")


class VersionHelpTest(CliCase):
    def test_version(self):
        rc, out, err = self.run_cli("--version")
        self.assertEqual(rc, 0, "stdout %r stderr %r" % (out, err))
        self.assertIn("rollupd", out)

    def test_help(self):
        rc, out, err = self.run_cli("--help")
        self.assertEqual(rc, 0, "stdout %r stderr %r" % (out, err))
        for word in ("--listen", "--data-dir", "check-config", "healthcheck"):
            self.assertIn(word, out, "--help mentions %s" % word)


class HealthcheckTest(CliCase):
    def test_healthcheck_against_a_ready_daemon(self):
        d = self.start_daemon()
        rc, out, err = self.run_cli("healthcheck", "--url", "http://127.0.0.1:%d/readyz" % d.port)
        self.assertEqual(rc, 0, "healthcheck of a ready daemon: stdout %r stderr %r" % (out, err))

    def test_healthcheck_against_nothing(self):
        port = free_port()
        rc, out, err = self.run_cli("healthcheck", "--url", "http://127.0.0.1:%d/readyz" % port, timeout=60)
        self.assertNotEqual(rc, 0, "healthcheck of a closed port must fail")
        self.assertOutputClean(out, err)


class ConfigPrecedenceTest(CliCase):
    """Issue test 9: TOML < ROLLUPD_* environment < flags."""

    def _completes_at(self, d, n, email):
        for i in range(1, n):
            a = self.assertAccepted(d.post("/notifications", notification(email, "c-%d" % i)))
            self.assertEqual((a["Pending"], a["Digest"]), (i, None), "notification %d of %d" % (i, n))
        a = self.assertAccepted(d.post("/notifications", notification(email, "c-%d" % n)))
        self.assertEqual(a["Pending"], 0, "group completes at %d: %r" % (n, a))
        self.assertDigest(a["Digest"], email, "count", n)

    def test_flag_beats_env_beats_toml(self):
        path = self.write_config("[aggregation]\nmax_notifications = 5\n")
        d = self.start_daemon("--config", path, "--max-notifications", "2",
                              env={"ROLLUPD_MAX_NOTIFICATIONS": "4"})
        self._completes_at(d, 2, "flag@example.com")

    def test_env_beats_toml(self):
        path = self.write_config("[aggregation]\nmax_notifications = 5\n")
        d = self.start_daemon("--config", path, env={"ROLLUPD_MAX_NOTIFICATIONS": "4"})
        self._completes_at(d, 4, "env@example.com")

    def test_toml_beats_default(self):
        path = self.write_config("[aggregation]\nmax_notifications = 5\n")
        d = self.start_daemon("--config", path)
        self._completes_at(d, 5, "toml@example.com")

    def test_env_for_a_top_level_key(self):
        d = self.start_daemon(env={"ROLLUPD_API_TOKEN": "from-env"})
        self.assertProblem(d.post("/notifications", notification("tok@example.com", "x")), 401)
        self.assertAccepted(d.post("/notifications", notification("tok@example.com", "x"),
                                   {"Authorization": "Bearer from-env"}))


class LogFormatTest(CliCase):
    def test_json_log_lines(self):
        d = self.start_daemon("--log-format", "json")
        self.assertAccepted(d.post("/notifications", notification("j@example.com", "x", Priority="HIGH")))
        d.stop()
        lines = [line for line in d.log().splitlines() if line.strip() and not line.startswith("===== start")]
        self.assertTrue(lines, "no log lines at --log-level debug")
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                self.fail("with --log-format json, a log line is not JSON: %r" % line)
            self.assertIsInstance(obj, dict, line)


if __name__ == "__main__":
    unittest.main()
