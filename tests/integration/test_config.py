# tests/integration/test_config.py: the daemon's start-up and shutdown contract.
# Owns: a typo'd key or a bad value makes `sluiced` exit 78 (EX_CONFIG) naming
# file:line:col, and `sluice config check` says the same; a good config passes the check;
# `listening <connector> <ip>:<port>` for every connector, then `ready`; SIGTERM exits 0
# and answers an in-flight session with 421; a restart on the same data dir works.
# Not: the config parser itself (unit tests in tests/unit/config).
# sysexits(3) (78 = EX_CONFIG); RFC 5321 §3.8 (421 when the service shuts down).

import os
import re
import subprocess
import unittest

import harness
from harness import DOMAIN

EX_CONFIG = 78


def line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError("%r not in the config" % needle)


class ConfigErrorTest(unittest.TestCase):

    def setUp(self):
        self.daemon = harness.Daemon(harness.Config(), name="sluice-config")
        self.daemon.write_config()
        with open(self.daemon.config_path, encoding="utf-8") as f:
            self.good = f.read()

    def tearDown(self):
        self.daemon.cleanup()

    def write(self, text):
        with open(self.daemon.config_path, "w", encoding="utf-8") as f:
            f.write(text)

    def run_sluiced(self):
        return subprocess.run([harness.sluiced_path(), "--config", self.daemon.config_path],
                              cwd=self.daemon.root, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60)

    def run_check(self):
        # `sluice config check [FILE]` (cli/config_command.hpp).
        return subprocess.run([harness.sluice_path(), "config", "check",
                               self.daemon.config_path],
                              cwd=self.daemon.root, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60)

    def assert_names_line(self, proc, line, what):
        err = proc.stderr.decode("utf-8", "replace")
        self.assertEqual(proc.returncode, EX_CONFIG, "%s: exit %s\n%s"
                         % (what, proc.returncode, err))
        pattern = r"%s:%d:\d+: error: " % (re.escape(self.daemon.config_path), line)
        self.assertRegex(err, pattern, what)
        self.assertNotIn(b"ready", proc.stdout, what)

    def test_typo_key_in_connector(self):
        bad = self.good.replace("max_recipients = 5", "max_recipents = 5")
        self.write(bad)
        line = line_of(bad, "max_recipents")
        self.assert_names_line(self.run_sluiced(), line, "sluiced")
        self.assert_names_line(self.run_check(), line, "sluice config check")

    def test_typo_key_in_server(self):
        bad = self.good.replace("hostname = ", "hostnme = ")
        self.write(bad)
        line = line_of(bad, "hostnme")
        self.assert_names_line(self.run_sluiced(), line, "sluiced")
        self.assert_names_line(self.run_check(), line, "sluice config check")
        err = self.run_check().stderr.decode("utf-8", "replace")
        self.assertIn("hostnme", err)

    def test_bad_value(self):
        bad = self.good.replace('max_message_size = "1MB"', 'max_message_size = "1 parsec"')
        self.write(bad)
        line = line_of(bad, "1 parsec")
        self.assert_names_line(self.run_sluiced(), line, "sluiced")
        self.assert_names_line(self.run_check(), line, "sluice config check")

    def test_good_config_passes_check(self):
        p = self.run_check()
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))


class LifecycleTest(unittest.TestCase):

    def setUp(self):
        self.daemon = harness.Daemon(harness.Config(), name="sluice-lifecycle")
        self.daemon.start()

    def tearDown(self):
        self.daemon.cleanup()

    def test_listening_lines_and_ready(self):
        self.assertEqual(set(self.daemon.ports), {"internet", "apps", "admin"})
        self.assertNotEqual(self.daemon.port("internet"), self.daemon.port("apps"))
        for p in self.daemon.ports.values():
            self.assertGreater(p, 0)
        lines = [ln for ln in self.daemon.stdout_lines if ln]
        self.assertEqual(lines[-1], "ready")
        for ln in lines[:-1]:
            self.assertRegex(ln, r"^listening (internet|apps|admin) 127\.0\.0\.1:\d+$")

    def test_sigterm_answers_in_flight_session_with_421_and_exits_0(self):
        c = self.daemon.raw()
        try:
            r = c.reply()
            self.assertEqual(r.code, 220)
            self.assertEqual(c.cmd("EHLO client.test").code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<s@client.test>").code, 250)
            self.assertEqual(self.daemon.terminate(), 0, self.daemon.stderr_tail())
            r = c.reply()
            self.assertIsNotNone(r, "closed without a 421")
            self.assertEqual(r.code, 421, r)
            self.assertTrue(c.closed_by_peer())
        finally:
            c.close()

    def test_restart_on_same_data_dir(self):
        token = harness.unique_token("before")
        with self.daemon.smtp() as s:
            s.sendmail("s@client.test", ["alice@" + DOMAIN], harness.simple_message(token))
        self.daemon.wait_for_message("alice", token)
        self.assertEqual(self.daemon.terminate(), 0, self.daemon.stderr_tail())
        self.daemon.start()
        token2 = harness.unique_token("after")
        with self.daemon.smtp() as s:
            s.sendmail("s@client.test", ["alice@" + DOMAIN], harness.simple_message(token2))
        self.daemon.wait_for_message("alice", token2)
        # A clean restart redelivers nothing that was already delivered.
        self.assertEqual(len(self.daemon.messages_with("alice", token)), 1)
        self.assertTrue(os.path.isdir(self.daemon.var))
        self.assertEqual(self.daemon.terminate(), 0, self.daemon.stderr_tail())


if __name__ == "__main__":
    unittest.main()
