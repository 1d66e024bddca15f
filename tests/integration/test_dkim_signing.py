# tests/integration/test_dkim_signing.py: sluiced signs what our applications send.
# Owns: a message accepted on the relay connector from an application, whose From domain has a
# [[dkim]] key, arrives with a DKIM-Signature (d=, s=, From oversigned) that verifies against
# the published key through `sluice dkim verify` and real DNS; a message on the internet
# connector is not signed. Not: canonicalization details (tests/unit/auth/dkim_*_test.cpp).
# RFC 6376 §5 (signer actions), RFC 8301 (rsa-sha256).

import os
import re
import subprocess
import tempfile
import unittest

import harness
from harness import DOMAIN


class DkimSigningTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="dkim-sign-")
        cls.sluice = harness.sluice_path()
        key = os.path.join(cls.dir, "mail.key")
        r = subprocess.run([cls.sluice, "--config", "/nonexistent/sluice.toml", "dkim", "keygen",
                            "--domain", DOMAIN, "--selector", "mail", "--algorithm", "rsa",
                            "--key-file", key], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(r.stderr)
        m = re.search(r"^(\S+)\. IN TXT \((.*)\)$", r.stdout, re.M)
        assert m, r.stdout
        strings = re.findall(r'"([^"]*)"', m.group(2))
        cls.dns = harness.DnsServer(cls.dir, "%s TXT %s\n" % (m.group(1), " ".join('"%s"' % s for s in strings)))
        cls.dns.start()
        config = harness.Config()
        config.extra = '\n[[dkim]]\ndomain = "%s"\nselector = "mail"\nkey_file = "%s"\n' % (DOMAIN, key)
        cls.daemon = harness.Daemon(config, name="sluice-DkimSigningTest")
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.terminate()
        cls.daemon.cleanup()
        cls.dns.stop()

    def send(self, connector, token):
        body = ("From: App <app@%s>\r\nTo: alice@%s\r\nSubject: report %s\r\n\r\nnightly report %s\r\n"
                % (DOMAIN, DOMAIN, token, token))
        with self.daemon.smtp(connector) as s:
            s.sendmail("app@" + DOMAIN, ["alice@" + DOMAIN], body.encode())
        return self.daemon.wait_for_message("alice", token)

    def delivered(self, token):
        files = self.daemon.messages_with("alice", token)
        self.assertEqual(len(files), 1)
        return files[0]

    def test_relay_connector_mail_is_signed_and_verifies(self):
        token = harness.unique_token("dkim")
        self.send("apps", token)
        raw = self.delivered(token)
        self.assertRegex(raw, rb"(?m)^DKIM-Signature: v=1; a=rsa-sha256;")
        sig = raw[raw.index(b"DKIM-Signature:"):]
        sig = sig[:re.search(rb"\n(?![ \t])", sig).start()]
        self.assertIn(b"d=" + DOMAIN.encode(), sig)
        self.assertIn(b"s=mail", sig)
        self.assertRegex(sig.replace(b"\n", b"").replace(b"\t", b" "), rb"h=[^;]*from[^;]*from", "From oversigned")
        # Verify the message as it left the spool: drop the two fields local delivery
        # prepends, back to CRLF line endings.
        lines = raw.split(b"\n")
        while lines and (lines[0].startswith(b"Return-Path:") or lines[0].startswith(b"Delivered-To:")):
            lines.pop(0)
        message = b"\r\n".join(lines)
        r = subprocess.run([self.sluice, "--config", "/nonexistent/sluice.toml", "dkim", "verify",
                            "--dns-server", self.dns.address], input=message, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(b"pass", r.stdout)

    def test_internet_connector_mail_is_not_signed(self):
        token = harness.unique_token("nodkim")
        self.send("internet", token)
        self.assertNotIn(b"DKIM-Signature:", self.delivered(token))


if __name__ == "__main__":
    unittest.main()
