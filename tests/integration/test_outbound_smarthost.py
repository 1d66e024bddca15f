# tests/integration/test_outbound_smarthost.py: send connectors with smart hosts and AUTH.
# Owns: connector selection by address space (a domain's own connector beats "*"), a smart
# host given as "[ip]:port" (no DNS) and as "name:port" (A record, never MX), opportunistic
# STARTTLS then AUTH PLAIN/LOGIN with the password file's contents, a wrong password
# deferred (not bounced), and no AUTH in plaintext unless allow_plaintext_auth.
# Not: MX routing (test_outbound_mx.py).
# RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 4616 (PLAIN); issue 3 "Routing" (Exchange's
# address space rule) and "Queues and scheduling" (AUTH only over TLS).

import os
import unittest

import harness

ZONE = """
named.test              MX  10 mx.elsewhere.test
mx.elsewhere.test       A   127.0.0.9
relay.named.test        A   127.0.0.3
"""

AUTH = {"user": "app", "password": "s3cret pass"}


class SmartHostTest(harness.OutboundTestCase):
    ZONE = ZONE
    PEERS = {"relay": (["127.0.0.2", "127.0.0.3", "127.0.0.5", "127.0.0.6"], {
        "127.0.0.2": {"starttls": True, "auth": AUTH},               # AUTH after TLS only
        "127.0.0.3": {"starttls": True, "auth": AUTH},
        "127.0.0.5": {"starttls": False, "auth": dict(AUTH, require_tls=False)},
        "127.0.0.6": {"starttls": True, "auth": AUTH},
    }, True)}

    @classmethod
    def configure(cls, cfg):
        good = os.path.join(cls.peer_root, "partner.secret")
        bad = os.path.join(cls.peer_root, "wrong.secret")
        with open(good, "w") as f:
            f.write(AUTH["password"] + "\n")
        with open(bad, "w") as f:
            f.write("not the password\n")
        port = cls.peer_port
        cfg.send_connectors = [
            {"name": "internet", "address_spaces": ["*"], "port": port},
            {"name": "partner", "address_spaces": ["partner.test", "*.partner.test"],
             "smart_hosts": ["[127.0.0.2]:%d" % port],
             "auth": {"username": "app", "password_file": good}},
            {"name": "named", "address_spaces": ["named.test"],
             "smart_hosts": ["relay.named.test:%d" % port],
             "auth": {"username": "app", "password_file": good}},
            {"name": "plain-refused", "address_spaces": ["plain.test"],
             "smart_hosts": ["[127.0.0.5]:%d" % port],
             "auth": {"username": "app", "password_file": good}},
            {"name": "plain-allowed", "address_spaces": ["plainok.test"],
             "smart_hosts": ["[127.0.0.5]:%d" % port], "allow_plaintext_auth": True,
             "auth": {"username": "app", "password_file": good}},
            {"name": "wrong", "address_spaces": ["wrong.test"],
             "smart_hosts": ["[127.0.0.6]:%d" % port],
             "auth": {"username": "app", "password_file": bad}},
        ]

    @property
    def peer(self):
        return self.peers["relay"]

    def test_literal_smart_host_with_tls_and_auth(self):
        token = harness.unique_token("partner")
        self.submit(token, ["bob@partner.test", "carol@sub.partner.test"])
        got = self.peer.wait_for(token)
        self.assertEqual({m.host for m in got}, {"127.0.0.2"})
        self.assertEqual(sorted(r for m in got for r in m.rcpt_tos),
                         ["bob@partner.test", "carol@sub.partner.test"])
        self.assertEqual(len(got), 1, "one next hop (the smart host), one transaction")
        self.assertEqual(got[0].auth_user, "app")
        self.assertTrue(got[0].tls and got[0].tls.startswith("TLS"), got[0].record)
        sent = self.daemon.wait_tracking("SEND", "bob@partner.test")
        self.assertIn("TLS", str(sent[0]), "the SEND record names the TLS version")

    def test_named_smart_host_uses_a_record_not_mx(self):
        token = harness.unique_token("named")
        self.submit(token, ["dave@named.test"])
        (got,) = self.peer.wait_for(token)
        self.assertEqual(got.host, "127.0.0.3", "relay.named.test's A, not named.test's MX")
        self.assertEqual(got.auth_user, "app")

    def test_no_auth_over_plaintext_unless_allowed(self):
        refused = harness.unique_token("plain")
        allowed = harness.unique_token("plainok")
        self.submit(refused, ["erin@plain.test"])
        self.submit(allowed, ["frank@plainok.test"])
        (got,) = self.peer.wait_for(allowed)
        self.assertEqual(got.auth_user, "app")
        self.assertIsNone(got.tls)
        defer = self.daemon.wait_tracking("DEFER", "erin@plain.test")
        self.assertTrue(defer[0]["recipient-status"].startswith("4") or
                        defer[0]["recipient-status"].startswith("5"), defer[0])
        self.assertEqual(self.peer.received_with(refused), [])
        self.assertEqual(self.daemon.tracking("FAIL", "erin@plain.test"), [],
                         "a connector problem defers; it does not bounce")

    def test_wrong_password_defers(self):
        token = harness.unique_token("wrong")
        self.submit(token, ["gina@wrong.test"])
        defer = self.daemon.wait_tracking("DEFER", "gina@wrong.test")
        self.assertIn("535", defer[0]["recipient-status"], defer[0])
        self.assertNotIn("not the password", str(defer[0]), "the password is never logged")
        self.assertEqual(self.daemon.tracking("FAIL", "gina@wrong.test"), [])
        self.assertEqual(self.peer.received_with(token), [])
        rows = self.daemon.send_protocol_log()
        self.assertFalse(any("not the password" in ",".join(r) for r in rows))
        import base64
        for password in (AUTH["password"], "not the password"):
            secret = base64.b64encode(b"\0app\0" + password.encode()).decode()
            self.assertFalse(any(secret in ",".join(r) for r in rows),
                             "AUTH PLAIN credentials are masked in the SEND protocol log")


if __name__ == "__main__":
    unittest.main()
