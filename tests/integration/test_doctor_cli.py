"""tests/integration/test_doctor_cli.py: `sluice test` and `sluice doctor` as an operator runs
them, against the test DNS server and scripted SMTP peers on loopback: a peer answering 535 to
AUTH (password from a file, never shown), a peer that accepts and never speaks, required TLS
without STARTTLS, a domain checked end to end (MX, PTR, SMTP, STARTTLS with a self-signed
certificate, SPF, DMARC), SPF +all and over the lookup limit, a missing DMARC, an address on a
blocklist zone; --json output and exit codes 0/1/2.
"""
import json
import os
import subprocess
import tempfile
import unittest

import harness

ZONE = """
good.test               MX    10 mx.good.test
mx.good.test            A     127.0.0.1
1.0.0.127.in-addr.arpa  PTR   mx.good.test
good.test               TXT   "v=spf1 mx -all"
_dmarc.good.test        TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
plusall.test            TXT   "v=spf1 +all"
limit.test              TXT   "v=spf1 include:i1.test include:i2.test include:i3.test include:i4.test -all"
i1.test                 TXT   "v=spf1 a mx ptr -all"
i2.test                 TXT   "v=spf1 a mx ptr -all"
i3.test                 TXT   "v=spf1 a mx ptr -all"
i4.test                 TXT   "v=spf1 a mx ptr -all"
2.0.0.127.bl.test       A     127.0.0.2
2.0.0.127.bl.test       TXT   "Listed: spam trap hits, see https://bl.test/"
"""


def run_sluice(*args, stdin=None):
    p = subprocess.run([harness.sluice_path(), "--config", "/nonexistent/sluice.toml", *args],
                       input=stdin, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


class DoctorCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="doctor-it-")
        cls.dns = harness.DnsServer(cls.root, ZONE)
        cls.dns.start()
        cls.peer = harness.SmtpPeer(cls.root, hosts=("127.0.0.1",), tls=True, name="tlspeer",
                                    behaviours={"*": {"starttls": True,
                                                      "auth": {"user": "alice", "password": "right-pw"}}})
        cls.peer.start()
        cls.plain = harness.SmtpPeer(cls.root, hosts=("127.0.0.1",), name="plainpeer")
        cls.plain.start()
        cls.silent = harness.SmtpPeer(cls.root, hosts=("127.0.0.1",), name="silentpeer",
                                      behaviours={"*": {"greeting": "silent"}})
        cls.silent.start()

    @classmethod
    def tearDownClass(cls):
        for s in (cls.silent, cls.plain, cls.peer, cls.dns):
            s.stop()

    def test_auth_refused_is_diagnosed_and_the_password_never_shows(self):
        pwfile = os.path.join(self.root, "pw")
        with open(pwfile, "w") as f:
            f.write("wrong-pw-123\n")
        rc, out, err = run_sluice("test", "127.0.0.1:%d" % self.peer.port, "--user", "alice",
                                  "--password-file", pwfile, "--timeout", "10")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("AUTH ", out)
        self.assertIn("****", out)
        self.assertIn("result: FAIL at AUTH: 535", out)
        self.assertIn("credentials were refused", out)
        self.assertNotIn("wrong-pw-123", out + err)
        self.assertIn("TLS: TLSv1.", out)
        self.assertIn("self-signed certificate", out)

    def test_json_of_a_passing_conversation(self):
        rc, out, err = run_sluice("test", "127.0.0.1:%d" % self.plain.port, "--from", "a@client.test",
                                  "--to", "b@good.test", "--data", "--json")
        self.assertEqual(rc, 0, out + err)
        j = json.loads(out)
        self.assertTrue(j["ok"])
        self.assertEqual(j["recipients"][0]["reply"][:3], "250")
        self.assertEqual(j["data_reply"][:3], "250")
        self.assertGreaterEqual(j["connect_ms"], 0)
        self.assertTrue(any(t["text"].startswith("EHLO ") for t in j["transcript"]))

    def test_peer_that_never_speaks(self):
        rc, out, _ = run_sluice("test", "127.0.0.1:%d" % self.silent.port, "--timeout", "1")
        self.assertEqual(rc, 2)
        self.assertIn("result: FAIL at greeting", out)
        self.assertIn("never sent its banner", out)

    def test_required_tls_without_starttls(self):
        rc, out, _ = run_sluice("test", "127.0.0.1:%d" % self.plain.port, "--tls", "required")
        self.assertEqual(rc, 2)
        self.assertIn("did not offer STARTTLS", out)

    def test_doctor_domain_end_to_end(self):
        rc, out, err = run_sluice("doctor", "good.test", "--dns-server", self.dns.address,
                                  "--port", str(self.peer.port), "--json")
        j = json.loads(out)
        found = {(f["section"], f["status"]) for f in j["findings"]}
        self.assertIn(("MX", "PASS"), found)
        self.assertIn(("Reverse DNS", "PASS"), found)
        self.assertIn(("SMTP", "PASS"), found)
        self.assertIn(("TLS", "WARN"), found)  # the peer's certificate is self-signed
        self.assertIn(("DMARC", "PASS"), found)
        self.assertEqual(j["summary"]["fail"], 0, out)
        self.assertEqual(rc, 1, out + err)  # warnings (TLS, DKIM) but no failure

    def test_doctor_spf_plus_all_and_no_dmarc(self):
        rc, out, _ = run_sluice("doctor", "plusall.test", "--dns-server", self.dns.address, "--no-smtp")
        self.assertEqual(rc, 2)
        self.assertIn("FAIL  '+all' authorizes every host", out)
        self.assertIn("FAIL  no DMARC record at _dmarc.plusall.test", out)
        self.assertIn("-> ", out)

    def test_doctor_spf_lookup_limit(self):
        rc, out, _ = run_sluice("doctor", "limit.test", "--dns-server", self.dns.address, "--no-smtp")
        self.assertEqual(rc, 2)
        self.assertIn("16 DNS lookups (the limit is 10)", out)

    def test_doctor_ip_on_a_blocklist(self):
        rc, out, _ = run_sluice("doctor", "--ip", "127.0.0.2", "--zone", "bl.test", "--dns-server", self.dns.address)
        self.assertEqual(rc, 2)
        self.assertIn("127.0.0.2 is listed on bl.test", out)
        self.assertIn("spam trap hits", out)
        rc, out, _ = run_sluice("doctor", "--ip", "127.0.0.1", "--zone", "bl.test", "--dns-server", self.dns.address)
        self.assertEqual(rc, 0, out)
        self.assertIn("PASS  127.0.0.1 is not listed on bl.test", out)


if __name__ == "__main__":
    unittest.main()
