# tests/integration/test_tlsclient_verify.py: the send connector TLS policy against real
# peers (tests/tools/smtp_peer.py) whose certificates this test makes with the openssl CLI:
# tls = "verify" toward a self-signed peer defers with "certificate verify failed:
# self-signed certificate" (the tracking DEFER record shows it) and sends nothing; toward a
# peer signed by a test CA given as ca_file it delivers over verified TLS; tls = "required"
# toward a peer without STARTTLS defers with "TLS required but <MX host> did not offer
# STARTTLS" and never falls back to plaintext. The RECEIVE record of a message submitted
# with AUTH names the user (auth-user); one without AUTH leaves it empty.
# Not: the certificate checks' fine points (tests/unit/delivery/tls_verify_test.cpp).
# RFC 3207 (STARTTLS), RFC 7435 (opportunistic vs. required), RFC 6125 §6 (names); issue 4
# "Client side (send connectors)".

import base64
import os
import shutil
import smtplib
import subprocess
import tempfile
import unittest

import harness

ZONE = """
selfsigned.test         MX  10 mx.selfsigned.test
mx.selfsigned.test      A   127.0.0.2
trusted.test            MX  10 mx.trusted.test
mx.trusted.test         A   127.0.0.3
plain.test              MX  10 mx.plain.test
mx.plain.test           A   127.0.0.4
"""

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def make_ca(directory):
    """A test CA: (cert, key) paths."""
    cert, key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    openssl("req", "-x509", *EC, "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=sluice test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_signed(directory, ca, name):
    """A certificate for `name` (CN and DNS SAN) signed by `ca`: (cert, key) paths."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    csr, ext = os.path.join(directory, name + ".csr"), os.path.join(directory, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\n" % name)
    openssl("req", "-new", *EC, "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", ext)
    return cert, key


class TlsClientVerifyTest(harness.OutboundTestCase):
    ZONE = ZONE

    @classmethod
    def setUpClass(cls):
        # As OutboundTestCase.setUpClass, with a certificate of our choice per peer.
        cls.peer_root = tempfile.mkdtemp(prefix="sluice-peers-" + cls.__name__ + "-")
        cls.peers = {}
        try:
            cls.dns = harness.DnsServer(cls.peer_root, cls.ZONE).start()
            certs = os.path.join(cls.peer_root, "certs")
            os.makedirs(certs)
            cls.ca = make_ca(certs)
            self_signed = harness.make_certificate(certs, cn="mx.selfsigned.test")
            trusted = make_signed(certs, cls.ca, "mx.trusted.test")
            port = 0
            for name, host, cert in (("selfsigned", "127.0.0.2", self_signed),
                                     ("trusted", "127.0.0.3", trusted),
                                     ("plain", "127.0.0.4", None)):
                p = harness.SmtpPeer(cls.peer_root, [host], {"*": {"starttls": cert is not None}},
                                     port=port, name=name)
                if cert is not None:
                    p.config["tls"] = {"cert": cert[0], "key": cert[1]}
                p.start()
                port = p.port
                cls.peers[name] = p
            cls.peer_port = port
            super(harness.OutboundTestCase, cls).setUpClass()
        except BaseException:
            cls._stop_peers()
            raise

    @classmethod
    def configure(cls, cfg):
        port = cls.peer_port
        cfg.send_connectors = [
            {"name": "verify-self", "address_spaces": ["selfsigned.test"], "port": port,
             "tls": "verify", "ca_file": cls.ca[0]},
            {"name": "verify-ca", "address_spaces": ["trusted.test"], "port": port,
             "tls": "verify", "ca_file": cls.ca[0]},
            {"name": "required", "address_spaces": ["plain.test"], "port": port,
             "tls": "required"},
        ]

    def test_verify_against_a_self_signed_peer_defers_with_the_reason(self):
        token = harness.unique_token("selfsigned")
        self.submit(token, ["bob@selfsigned.test"])
        defer = self.daemon.wait_tracking("DEFER", "bob@selfsigned.test")[0]
        status = defer["recipient-status"]
        self.assertIn("certificate verify failed: self-signed certificate", status)
        self.assertTrue(status.startswith("4"), status)
        self.assertEqual(defer["connector-id"], "verify-self")
        self.assertEqual(self.peers["selfsigned"].received(), [],
                         "nothing goes to a server whose certificate failed the check")
        self.assertEqual(self.daemon.tracking("SEND", "bob@selfsigned.test"), [])

    def test_verify_with_the_test_ca_as_ca_file_delivers(self):
        token = harness.unique_token("trusted")
        self.submit(token, ["carol@trusted.test"])
        got = self.peers["trusted"].wait_for(token)
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0].tls and got[0].tls.startswith("TLS"), got[0].record)
        sent = self.daemon.wait_tracking("SEND", "carol@trusted.test")[0]
        self.assertEqual(sent["connector-id"], "verify-ca")
        self.assertIn("TLS", sent["source-context"])
        self.assertEqual(self.daemon.tracking("DEFER", "carol@trusted.test"), [])
        if not sent.get("tls-verified"):
            self.skipTest("the queue does not fill the tracking tls-* fields from "
                          "AttemptReport yet (wiring asked of the queue's owner)")
        self.assertEqual(sent["tls-verified"], "verified")
        self.assertTrue(sent["tls-version"].startswith("TLSv1."), sent)
        self.assertNotEqual(sent["tls-cipher"], "")

    def test_required_against_a_peer_without_starttls_defers(self):
        token = harness.unique_token("plain")
        self.submit(token, ["dave@plain.test"])
        defer = self.daemon.wait_tracking("DEFER", "dave@plain.test")[0]
        self.assertIn("TLS required but mx.plain.test did not offer STARTTLS",
                      defer["recipient-status"])
        self.assertTrue(defer["recipient-status"].startswith("4"), defer)
        self.assertEqual(self.peers["plain"].received(), [], "no plaintext fallback")


class TrackingAuthUserTest(harness.DaemonTestCase):
    """auth-user in the RECEIVE record (issue 4 "Submission": the authenticated user is
    recorded in the tracking log)."""
    USER = "sam@" + harness.DOMAIN
    PASSWORD = "correct horse battery staple"

    @classmethod
    def make_config(cls):
        from test_tls_auth import argon2id_hash
        cfg = harness.Config()
        cfg.extra = "\n".join([
            "[[user]]",
            "address = %s" % harness.toml_str(cls.USER),
            "password_hash = %s" % harness.toml_str(argon2id_hash(cls.PASSWORD)),
            "",
            "[[receive_connector]]",
            'name = "submission"',
            'listen = ["127.0.0.1:0"]',
            'usage = "client"',
            "allow_plaintext_auth = true",
            "",
        ]) + "\n"
        return cfg

    def test_receive_record_names_the_authenticated_user(self):
        token = harness.unique_token("authuser")
        with smtplib.SMTP("127.0.0.1", self.daemon.port("submission"),
                          local_hostname="client.test", timeout=30) as c:
            c.ehlo()
            if not c.has_extn("auth"):
                self.skipTest("sluiced offers no AUTH on the submission connector")
            creds = base64.b64encode(b"\0" + self.USER.encode() + b"\0" +
                                     self.PASSWORD.encode()).decode()
            code, _ = c.docmd("AUTH", "PLAIN " + creds)
            self.assertEqual(code, 235)
            c.sendmail(self.USER, ["bob@" + harness.DOMAIN],
                       harness.simple_message(token, sender=self.USER,
                                              to="bob@" + harness.DOMAIN))
        rec = self.daemon.wait_tracking("RECEIVE", "bob@" + harness.DOMAIN)[-1]
        self.assertEqual(rec["auth-user"], self.USER)
        self.assertEqual(rec["connector-id"], "submission")

        token = harness.unique_token("anon")
        with self.daemon.smtp("apps") as c:
            c.sendmail("app@" + harness.DOMAIN, ["carol@" + harness.DOMAIN],
                       harness.simple_message(token, sender="app@" + harness.DOMAIN,
                                              to="carol@" + harness.DOMAIN))
        rec = self.daemon.wait_tracking("RECEIVE", "carol@" + harness.DOMAIN)[-1]
        self.assertEqual(rec["auth-user"], "")


if __name__ == "__main__":
    unittest.main()
