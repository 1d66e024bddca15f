# tests/integration/test_tls_auth.py: TLS and AUTH on the server side against a real sluiced
# (issue 4): STARTTLS with `openssl s_client -starttls smtp`, swaks and Python smtplib,
# implicit TLS (SMTP_SSL, swaks --tlsc), TLS 1.0/1.1 refused, the STARTTLS injection
# (CVE-2011-0411) over a raw socket, AUTH success/failure/limit, AUTH refused before TLS,
# submission rules (530 before AUTH, 553 sender mismatch), the Received header (ESMTPSA,
# TLS version and cipher, authenticated sender), credentials kept out of the protocol log.
# Certificates are made here with the openssl CLI; the password hash with libsodium
# (ctypes), so no Python package beyond the standard library is needed.
# The AUTH tests need the daemon's wiring of the Authenticator (sluiced's
# PolicyFactory::authenticator); until the submission connector offers AUTH after STARTTLS
# they are skipped with that reason (the TLS tests run regardless). swaks needs Net::SSLeay.

import base64
import ctypes
import ctypes.util
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import unittest

import harness

PASSWORD = "correct horse battery staple"
USER = "sam@" + harness.DOMAIN


def argon2id_hash(password):
    """The PHC string libsodium's crypto_pwhash_str writes (small limits: a fast test)."""
    name = ctypes.util.find_library("sodium")
    if not name:
        raise unittest.SkipTest("libsodium not found")
    sodium = ctypes.CDLL(name)
    if sodium.sodium_init() < 0:
        raise unittest.SkipTest("libsodium unusable")
    out = ctypes.create_string_buffer(128)
    pw = password.encode()
    rc = sodium.crypto_pwhash_str(out, pw, ctypes.c_ulonglong(len(pw)), ctypes.c_ulonglong(2),
                                  ctypes.c_size_t(8 << 20))
    if rc != 0:
        raise unittest.SkipTest("crypto_pwhash_str failed")
    return out.value.decode()


def make_certificate(directory, cn):
    cert = os.path.join(directory, cn + ".crt")
    key = os.path.join(directory, cn + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "30", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:" + cn],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
    return ctx


def plain_auth(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


class TlsAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("no openssl CLI")
        cls.certdir = tempfile.mkdtemp(prefix="sluice-tls-")
        cls.cert, cls.key = make_certificate(cls.certdir, harness.HOSTNAME)
        tls = harness.toml_value({"certificate": cls.cert, "key": cls.key})
        config = harness.Config()
        config.extra = "\n".join([
            "[[user]]",
            "address = %s" % harness.toml_str(USER),
            "password_hash = %s" % harness.toml_str(argon2id_hash(PASSWORD)),
            "",
            "[[receive_connector]]",
            'name = "mx-tls"',
            'listen = ["127.0.0.1:0"]',
            'usage = "internet"',
            "tls = %s" % tls,
            "",
            "[[receive_connector]]",
            'name = "submission"',
            'listen = ["127.0.0.1:0"]',
            'usage = "client"',
            "tls = %s" % tls,
            "",
            "[[receive_connector]]",
            'name = "smtps"',
            'listen = ["127.0.0.1:0"]',
            'usage = "client"',
            "implicit_tls = true",
            "tls = %s" % tls,
            "",
            "[[receive_connector]]",
            'name = "limited"',
            'listen = ["127.0.0.1:0"]',
            'usage = "client"',
            "tls = %s" % tls,
            "max_logon_failures = 2",
            'tarpit = "10m"',
            "",
        ]) + "\n"
        cls.daemon = harness.Daemon(config, name="sluice-tls").start()
        with smtplib.SMTP("127.0.0.1", cls.daemon.port("submission"), local_hostname="client.test",
                          timeout=30) as c:
            c.starttls(context=client_context())
            c.ehlo()
            cls.auth_offered = c.has_extn("auth")

    def require_auth(self):
        if not self.auth_offered:
            self.skipTest("sluiced offers no AUTH: the Authenticator is not wired "
                          "(daemon::PolicyFactory::authenticator)")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.terminate()
        cls.daemon.cleanup()
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def port(self, name):
        return self.daemon.port(name)

    def submit(self, client, token, sender=USER):
        msg = "From: %s\r\nTo: alice@%s\r\nSubject: %s\r\n\r\nbody %s\r\n" % (
            sender, harness.DOMAIN, token, token)
        client.sendmail(sender, ["alice@" + harness.DOMAIN], msg)
        return harness.wait_until(lambda: self.daemon.messages_with("alice", token),
                                  harness.DELIVERY_TIMEOUT, "delivery of " + token)[0]

    # -- STARTTLS -----------------------------------------------------------------------------

    def test_openssl_s_client_starttls_shows_protocol_and_cipher(self):
        p = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                            "127.0.0.1:%d" % self.port("mx-tls"), "-servername", harness.HOSTNAME],
                           input=b"QUIT\r\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertRegex(out, r"New, TLSv1\.3, Cipher is TLS_\S+")
        self.assertIn("CN = " + harness.HOSTNAME, out)

    def test_old_tls_versions_are_refused(self):
        for flag in ("-tls1_1", "-tls1"):
            p = subprocess.run(["openssl", "s_client", "-starttls", "smtp", flag, "-cipher",
                                "DEFAULT@SECLEVEL=0", "-connect",
                                "127.0.0.1:%d" % self.port("mx-tls")],
                               input=b"QUIT\r\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=60)
            self.assertNotEqual(p.returncode, 0, p.stdout.decode("utf-8", "replace"))
        p = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-tls1_2", "-connect",
                            "127.0.0.1:%d" % self.port("mx-tls")],
                           input=b"QUIT\r\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        self.assertIn("TLSv1.2", p.stdout.decode("utf-8", "replace"))

    def test_smtplib_starttls_on_internet_connector_and_received_header(self):
        token = harness.unique_token("starttls")
        with smtplib.SMTP("127.0.0.1", self.port("mx-tls"), local_hostname="client.test",
                          timeout=30) as c:
            c.ehlo()
            self.assertTrue(c.has_extn("starttls"))
            self.assertFalse(c.has_extn("auth"))  # AUTH only after TLS
            c.starttls(context=client_context())
            c.ehlo()
            self.assertFalse(c.has_extn("starttls"))  # RFC 3207 §4.2
            if self.auth_offered:
                self.assertIn("PLAIN", c.esmtp_features.get("auth", ""))
            data = self.submit(c, token, sender="someone@elsewhere.test")
        self.assertRegex(data, rb"\(using TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)\)")
        self.assertIn(b"with ESMTPS id", data)

    def test_starttls_injection_is_discarded(self):
        raw = socket.create_connection(("127.0.0.1", self.port("mx-tls")), timeout=30)
        f = raw.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        raw.sendall(b"EHLO client.test\r\n")
        while True:
            line = f.readline()
            if line.startswith(b"250 "):
                break
        # One packet: STARTTLS and a plaintext command an attacker could have appended.
        raw.sendall(b"STARTTLS\r\nRSET\r\n")
        self.assertTrue(f.readline().startswith(b"220 2.0.0"))
        tls = client_context().wrap_socket(raw, server_hostname=harness.HOSTNAME)
        tf = tls.makefile("rb")
        tls.sendall(b"NOOP\r\n")
        # The first reply over TLS answers our NOOP; an executed RSET would have answered first,
        # and both say "250 2.0.0 Ok": so send a command with a distinct reply.
        tls.sendall(b"MAIL FROM:<x@example.test>\r\n")
        self.assertEqual(tf.readline(), b"250 2.0.0 Ok\r\n")
        self.assertEqual(tf.readline(), b"503 5.5.1 Error: send HELO/EHLO first\r\n")
        tls.sendall(b"QUIT\r\n")
        self.assertTrue(tf.readline().startswith(b"221 "))
        tls.close()

    def test_swaks_tls_and_tlsc(self):
        if not shutil.which("swaks"):
            self.skipTest("no swaks")
        if subprocess.run(["perl", "-MNet::SSLeay", "-e", "1"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            self.skipTest("swaks needs Net::SSLeay for TLS (Debian: libnet-ssleay-perl)")
        self.require_auth()
        for connector, flag in (("submission", "--tls"), ("smtps", "--tlsc")):
            token = harness.unique_token("swaks")
            p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.port(connector)),
                                flag, "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                                "--from", USER, "--to", "alice@" + harness.DOMAIN,
                                "--header", "Subject: " + token, "--helo", "client.test"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            out = p.stdout.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 0, out)
            self.assertIn("235 2.7.0 Authentication successful", out)
            harness.wait_until(lambda: self.daemon.messages_with("alice", token),
                               harness.DELIVERY_TIMEOUT, "delivery of " + token)

    # -- AUTH and submission ------------------------------------------------------------------

    def test_submission_starttls_login_and_headers_added(self):
        self.require_auth()
        token = harness.unique_token("submit")
        with smtplib.SMTP("127.0.0.1", self.port("submission"), local_hostname="client.test",
                          timeout=30) as c:
            c.starttls(context=client_context())
            c.login(USER, PASSWORD)
            c.sendmail(USER, ["alice@" + harness.DOMAIN],
                       "Subject: %s\r\n\r\nno date, no message-id\r\n" % token)
        data = harness.wait_until(lambda: self.daemon.messages_with("alice", token),
                                  harness.DELIVERY_TIMEOUT, "delivery of " + token)[0]
        self.assertIn(b"(Authenticated sender: " + USER.encode() + b")", data)
        self.assertIn(b"with ESMTPSA id", data)
        self.assertRegex(data, rb"\nDate: ")
        self.assertRegex(data, rb"\nMessage-ID: <[^>]+@" + harness.HOSTNAME.encode() + rb">")

    def test_smtp_ssl_implicit_tls_and_relay_for_authenticated(self):
        self.require_auth()
        token = harness.unique_token("smtps")
        with smtplib.SMTP_SSL("127.0.0.1", self.port("smtps"), local_hostname="client.test",
                              timeout=30, context=client_context()) as c:
            c.ehlo()
            self.assertFalse(c.has_extn("starttls"))
            c.login(USER, PASSWORD)
            # Authenticated users may relay: the recipient outside our domains is accepted.
            code, _ = c.docmd("MAIL FROM:<%s>" % USER)
            self.assertEqual(code, 250)
            code, _ = c.docmd("RCPT TO:<someone@elsewhere.test>")
            self.assertEqual(code, 250)
            c.rset()
            self.submit(c, token)

    def test_auth_refused_before_tls_and_mail_needs_auth(self):
        self.require_auth()
        with smtplib.SMTP("127.0.0.1", self.port("submission"), local_hostname="client.test",
                          timeout=30) as c:
            c.ehlo()
            self.assertFalse(c.has_extn("auth"))
            code, msg = c.docmd("AUTH PLAIN " + plain_auth(USER, PASSWORD))
            self.assertEqual((code, msg), (538, b"5.7.11 Encryption required for requested authentication mechanism"))
            code, msg = c.docmd("MAIL FROM:<%s>" % USER)
            self.assertEqual((code, msg), (530, b"5.7.0 Authentication required"))

    def test_wrong_password_and_sender_mismatch(self):
        self.require_auth()
        with smtplib.SMTP("127.0.0.1", self.port("submission"), local_hostname="client.test",
                          timeout=30) as c:
            c.starttls(context=client_context())
            c.ehlo()
            code, msg = c.docmd("AUTH PLAIN " + plain_auth(USER, "wrong"))
            self.assertEqual((code, msg), (535, b"5.7.8 Authentication credentials invalid"))
            c.login(USER, PASSWORD)
            code, msg = c.docmd("AUTH PLAIN " + plain_auth(USER, PASSWORD))
            self.assertEqual(code, 503)
            code, msg = c.docmd("MAIL FROM:<alice@%s>" % harness.DOMAIN)
            self.assertEqual((code, msg), (553, ("5.7.1 Sender address rejected: not owned by user %s" % USER).encode()))

    def test_logon_failure_limit_tarpits_the_address(self):
        self.require_auth()
        def attempt():
            c = smtplib.SMTP("127.0.0.1", self.port("limited"), local_hostname="client.test", timeout=30)
            c.starttls(context=client_context())
            c.ehlo()
            return c, c.docmd("AUTH PLAIN " + plain_auth(USER, "wrong"))
        c, reply = attempt()
        self.assertEqual(reply[0], 535)
        # The second failure (max_logon_failures = 2) blocks: 535, then 421 and close.
        code, _ = c.docmd("AUTH PLAIN " + plain_auth(USER, "wrong"))
        self.assertEqual(code, 535)
        self.assertEqual(c.getreply(), (421, b"4.7.0 Too many failed logons, try again later"))
        c.close()
        # A new connection with the right password is refused while the tarpit lasts.
        c = smtplib.SMTP("127.0.0.1", self.port("limited"), local_hostname="client.test", timeout=30)
        c.starttls(context=client_context())
        c.ehlo()
        code, msg = c.docmd("AUTH PLAIN " + plain_auth(USER, PASSWORD))
        self.assertEqual((code, msg), (421, b"4.7.0 Too many failed logons, try again later"))
        c.close()

    def test_credentials_never_reach_the_protocol_log(self):
        self.require_auth()
        with smtplib.SMTP("127.0.0.1", self.port("submission"), local_hostname="client.test",
                          timeout=30) as c:
            c.starttls(context=client_context())
            c.login(USER, PASSWORD)  # smtplib tries CRAM-MD5 / PLAIN / LOGIN in order
        secret_forms = [PASSWORD.encode(), plain_auth(USER, PASSWORD).encode(),
                        base64.b64encode(PASSWORD.encode())]
        logs = os.path.join(self.daemon.var, "logs", "protocol")

        def logged():
            text = b""
            for root, _, files in os.walk(logs):
                for n in files:
                    with open(os.path.join(root, n), "rb") as f:
                        text += f.read()
            return text if b"authenticated" in text and b"TLS negotiation succeeded" in text else None

        text = harness.wait_until(logged, harness.LOG_TIMEOUT, "protocol log with AUTH")
        for s in secret_forms:
            self.assertNotIn(s, text)
        self.assertIn(b"AUTH PLAIN ****", text)
        self.assertIn(USER.encode(), text)


if __name__ == "__main__":
    unittest.main()
