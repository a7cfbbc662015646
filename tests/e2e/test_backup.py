"""Backups (SPEC §4.2, issue 4): POST /v1/admin/checkpoint on a running
daemon, `rollupd backup --to DIR` offline, and restoring either by starting
rollupd on the copy."""

import os
import subprocess
import unittest

from rollupd_harness import E2ETestCase, notification, rollupd_bin, sanitizer_env

TOKEN = "backup-token-123"
AUTH = {"Authorization": "Bearer " + TOKEN}


class BackupCase(E2ETestCase):
    def two_open(self, d, headers=None):
        for text in ("one", "two"):
            self.assertAccepted(d.post("/notifications", notification("keep@example.com", text), headers or {}))

    def assertRestored(self, data_dir, headers=None, *args):
        copy = self.start_daemon("--api-token", TOKEN, *args, data_dir=data_dir, name="restored")
        r = copy.get("/v1/aggregations/keep@example.com", headers or AUTH)
        self.assertStatus(r, 200, "the open group is in the copy")
        self.assertEqual(r.json()["Count"], 2)
        self.assertEqual(self.texts(r.json()["Notifications"]), ["one", "two"])
        copy.stop()


class CheckpointTest(BackupCase):
    def test_checkpoint_needs_a_token_and_restores(self):
        d = self.start_daemon("--api-token", TOKEN)
        self.two_open(d, AUTH)
        self.assertProblem(d.post("/v1/admin/checkpoint", None, {}), 401)
        r = d.post("/v1/admin/checkpoint", None, AUTH)
        self.assertStatus(r, 201)
        path = r.json()["Path"]
        root = os.path.realpath(os.path.join(d.data_dir, "checkpoints"))
        self.assertTrue(os.path.realpath(path).startswith(root + os.sep), path)
        self.assertTrue(os.path.isfile(os.path.join(path, "CURRENT")), "a RocksDB directory")
        # Changes after the checkpoint are not in it.
        self.assertAccepted(d.post("/notifications", notification("later@example.com", "x"), AUTH))
        d.stop()
        self.assertRestored(path)
        copy = self.start_daemon("--api-token", TOKEN, data_dir=path, name="restored-again")
        self.assertProblem(copy.get("/v1/aggregations/later@example.com", AUTH), 404)

    def test_open_api_refuses_admin(self):
        d = self.start_daemon()
        r = d.post("/v1/admin/checkpoint")
        self.assertProblem(r, 403)
        self.assertIn("api_token", r.json()["detail"])
        self.assertFalse(os.path.exists(os.path.join(d.data_dir, "checkpoints")))


class OfflineBackupTest(BackupCase):
    def run_backup(self, *args):
        p = subprocess.run([rollupd_bin(), "backup"] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           env=sanitizer_env(), cwd=self.workdir, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_backup_of_a_stopped_daemon_restores(self):
        d = self.start_daemon()
        self.two_open(d)
        to = os.path.join(self.workdir, "backup-1")

        code, _, err = self.run_backup("--to", to, "--data-dir", d.data_dir)
        self.assertEqual(code, 1, "refused while the daemon holds the database")
        self.assertIn("running", err)
        self.assertFalse(os.path.exists(to))

        d.stop()
        code, out, err = self.run_backup("--to", to, "--data-dir", d.data_dir)
        self.assertEqual(code, 0, err)
        self.assertIn(to, out)
        self.assertRestored(to, {})

        code, _, err = self.run_backup("--to", to, "--data-dir", d.data_dir)
        self.assertEqual(code, 1, "an existing target is refused")
        self.assertIn("exists", err)

    def test_backup_needs_a_target_and_a_database(self):
        code, _, err = self.run_backup()
        self.assertEqual(code, 64)
        self.assertIn("--to", err)
        code, _, err = self.run_backup("--to", os.path.join(self.workdir, "x"), "--data-dir",
                                       os.path.join(self.workdir, "nothing-here"))
        self.assertEqual(code, 1)
        self.assertIn("no database", err)


if __name__ == "__main__":
    unittest.main()
