# tests/integration/test_dkim_cli.py: DKIM with real DNS answers and other implementations.
# Owns: `sluice dkim keygen` output published as a zone on the test DNS server (the key split
# over several TXT strings, as the printed record has it) verifies through `sluice dkim verify`
# (libunbound, RFC 6376 §3.6.2.2 strings joined); a changed body or signed header fails;
# dkimpy signatures verify through the CLI; OpenDKIM (opendkim-testmsg, libopendkim with the
# system resolver) verifies sluice's signatures and rejects them once changed — it runs in a
# private network and mount namespace where the test DNS server is 127.0.0.1:53 and
# /etc/resolv.conf points at it (skipped when namespaces are not allowed).
# Not: canonicalization and tag details (tests/unit/auth/dkim_*_test.cpp).

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

SYSTEM_PYTHON = "/usr/bin/python3"
DOMAIN = "example.test"

MESSAGE = (b"From: Cron Daemon <root@example.test>\r\n"
           b"To: admin@example.net\r\n"
           b"Subject: backup finished\r\n"
           b"Date: Mon, 20 Nov 2023 10:00:00 +0000\r\n"
           b"Message-ID: <backup.1@example.test>\r\n"
           b"\r\n"
           b"All 3 volumes were copied.\r\n")


def zone_line_from(keygen_out):
    """The zone file line for keygen's printed record, strings kept as printed."""
    m = re.search(r"^(\S+)\. IN TXT \((.*)\)$", keygen_out, re.M)
    assert m, keygen_out
    strings = re.findall(r'"([^"]*)"', m.group(2))
    return "%s TXT %s\n" % (m.group(1), " ".join('"%s"' % s for s in strings)), strings


class DkimCliTest(unittest.TestCase):

    def setUp(self):
        self.sluice = harness.sluice_path()
        self.dir = tempfile.mkdtemp(prefix="dkim-cli-")
        self.dns = None

    def tearDown(self):
        if self.dns:
            self.dns.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_sluice(self, *args, stdin=None):
        return subprocess.run([self.sluice, "--config", "/nonexistent/sluice.toml", *args],
                              input=stdin, capture_output=True, timeout=120)

    def keygen(self, selector, algorithm):
        key = os.path.join(self.dir, selector + ".key")
        r = self.run_sluice("dkim", "keygen", "--domain", DOMAIN, "--selector", selector,
                            "--algorithm", algorithm, "--key-file", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        line, strings = zone_line_from(r.stdout.decode())
        return key, line, strings

    def sign(self, selector, key, message=MESSAGE):
        r = self.run_sluice("dkim", "sign", "--domain", DOMAIN, "--selector", selector,
                            "--key-file", key, stdin=message)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def verify(self, message):
        r = self.run_sluice("dkim", "verify", "--dns-server", self.dns.address, stdin=message)
        return r.returncode, r.stdout.decode()

    def test_keygen_sign_verify_through_dns(self):
        rsa_key, rsa_line, strings = self.keygen("rsa2026", "rsa")
        self.assertGreater(len(strings), 1, "a 2048-bit key needs more than one string")
        ed_key, ed_line, _ = self.keygen("ed2026", "ed25519")
        self.dns = harness.DnsServer(self.dir, rsa_line + ed_line).start()

        for selector, key, alg in (("rsa2026", rsa_key, "rsa-sha256"), ("ed2026", ed_key, "ed25519-sha256")):
            signed = self.sign(selector, key)
            rc, out = self.verify(signed)
            self.assertEqual(rc, 0, out)
            self.assertTrue(out.startswith("dkim=pass d=example.test s=%s a=%s b=" % (selector, alg)), out)

            rc, out = self.verify(signed.replace(b"3 volumes", b"2 volumes"))
            self.assertEqual(rc, 1, out)
            self.assertIn("dkim=fail", out)
            self.assertIn("body hash did not verify", out)
            rc, out = self.verify(signed.replace(b"backup finished", b"backup failed!!"))
            self.assertEqual(rc, 1, out)
            self.assertIn("signature did not verify", out)

        # Both signatures on one message: one line each.
        both = self.sign("ed2026", ed_key, self.sign("rsa2026", rsa_key))
        rc, out = self.verify(both)
        self.assertEqual(rc, 0, out)
        self.assertEqual(len(out.splitlines()), 2, out)

    def test_missing_key_and_unsigned(self):
        key, _, _ = self.keygen("gone", "ed25519")
        self.dns = harness.DnsServer(self.dir, "example.test TXT \"v=spf1 -all\"\n").start()
        rc, out = self.verify(self.sign("gone", key))
        self.assertEqual(rc, 1, out)
        self.assertIn("dkim=permerror", out)
        self.assertIn("no key published at gone._domainkey.example.test", out)
        rc, out = self.verify(MESSAGE)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "dkim=none (the message has no DKIM-Signature)\n")

    def test_dkimpy_signatures_verify_in_sluice(self):
        if subprocess.run([SYSTEM_PYTHON, "-c", "import dkim"], capture_output=True).returncode != 0:
            self.skipTest("python3-dkim is not installed")
        key, line, _ = self.keygen("py", "rsa")
        self.dns = harness.DnsServer(self.dir, line).start()
        for canon in ("simple", "relaxed"):
            script = ("import sys, dkim\n"
                      "msg = sys.stdin.buffer.read()\n"
                      "sig = dkim.sign(msg, b'py', b'example.test', open(%r, 'rb').read(),\n"
                      "                canonicalize=(b'%s', b'%s'))\n"
                      "sys.stdout.buffer.write(sig + msg)\n" % (key, canon, canon))
            r = subprocess.run([SYSTEM_PYTHON, "-c", script], input=MESSAGE, capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            rc, out = self.verify(r.stdout)
            self.assertEqual(rc, 0, out)
            self.assertIn("dkim=pass d=example.test s=py a=rsa-sha256", out)

    def test_opendkim_verifies_sluice_signatures(self):
        if not shutil.which("opendkim-testmsg"):
            self.skipTest("opendkim-tools is not installed")
        if not shutil.which("unshare"):
            self.skipTest("unshare is not available")
        probe = subprocess.run(["unshare", "-mn", "true"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("no permission for network/mount namespaces: %s" % probe.stderr.decode().strip())
        key, line, _ = self.keygen("odk", "rsa")
        with open(os.path.join(self.dir, "zone.txt"), "w") as f:
            f.write(line)
        with open(os.path.join(self.dir, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\n")
        signed = self.sign("odk", key)
        for name, data in (("good.eml", signed), ("bad.eml", signed.replace(b"3 volumes", b"4 volumes"))):
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(data)
        # Inside the namespaces: loopback up, our resolv.conf over the real one (only there),
        # the test DNS server on port 53, then opendkim-testmsg on each message.
        script = """
set -u
ip link set lo up
mount --bind resolv.conf /etc/resolv.conf
%s %s zone.txt --host 127.0.0.1 --port 53 > dns.out 2> dns.err &
dns=$!
i=0
while ! grep -q '^port ' dns.out && [ $i -lt 200 ]; do i=$((i+1)); sleep 0.05; done
opendkim-testmsg < good.eml > good.out 2>&1; echo "good $?"
opendkim-testmsg < bad.eml > bad.out 2>&1; echo "bad $?"
kill $dns
""" % (SYSTEM_PYTHON, harness.tool_path("dns_server.py"))
        r = subprocess.run(["unshare", "-mn", "sh", "-c", script], cwd=self.dir,
                           capture_output=True, timeout=120)
        out = r.stdout.decode()

        def read(name):
            with open(os.path.join(self.dir, name)) as f:
                return f.read()
        self.assertIn("good 0\n", out, out + r.stderr.decode() + read("good.out"))
        self.assertEqual(read("good.out"), "")
        self.assertRegex(out, r"bad [1-9]")
        self.assertIn("Bad signature", read("bad.out"))


if __name__ == "__main__":
    unittest.main()
