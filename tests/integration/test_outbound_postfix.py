# tests/integration/test_outbound_postfix.py: interoperability, sluice delivering to a real
# Postfix (Debian) acting as the receiving server.
# Owns: a private, throw-away Postfix instance (its own config, queue and data directories
# and Maildir under a temp dir, smtpd on 127.0.0.7:PORT, virtual(8) delivery as 'nobody'),
# found by MX through the test DNS server; checks that messages relayed by sluice arrive
# with the envelope sender, the content unchanged (dot-stuffing, 8-bit body with
# BODY=8BITMIME, a UTF-8 address with SMTPUTF8), and that Postfix's own 550 for an unknown
# user comes back in the DSN verbatim.
# Not: the system Postfix (/etc/postfix is only read by `postfix check`, as every instance
# does); performance (bench/relay).
# RFC 5321, RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 3461 (DSN parameters relayed).
# Needs root (a Postfix instance is started as root) and the postfix package; skipped
# otherwise.

import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import DOMAIN

PF_HOST = "127.0.0.7"


class PostfixReceiver:
    def __init__(self, port):
        self.port = port
        # Postfix's daemons run as 'postfix' and deliver as 'nobody': the directory must be
        # reachable by them, which a mkdtemp under /tmp is once made 0755.
        self.dir = tempfile.mkdtemp(prefix="sluice-postfix-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.mail = os.path.join(self.dir, "mail")
        self.started = False

    def setup(self):
        import pwd
        nobody = pwd.getpwnam("nobody")
        for d in ("etc", "queue", "data", "mail"):
            os.makedirs(os.path.join(self.dir, d))
        os.chmod(self.etc, 0o755)
        os.chmod(self.mail, 0o755)
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        shutil.chown(os.path.join(self.dir, "data"), user="postfix")
        open(os.path.join(self.etc, "main.cf"), "w").close()
        settings = [
            "compatibility_level = 3.6",
            "queue_directory = %s/queue" % self.dir,
            "data_directory = %s/data" % self.dir,
            "mail_owner = postfix", "setgid_group = postdrop",
            "syslog_name = postfix-itest",
            "maillog_file = %s/maillog" % self.dir,
            "maillog_file_prefixes = %s" % self.dir,
            # 127.0.0.7 is not an interface address (lo holds 127.0.0.1/8): Postfix refuses
            # it in inet_interfaces, but binds it when master.cf names it.
            "inet_interfaces = loopback-only", "inet_protocols = ipv4",
            "myhostname = postfix.pf.test", "mydomain = pf.test",
            "mydestination =", "mynetworks = 127.0.0.0/8",
            "alias_maps =", "alias_database =", "smtpd_peername_lookup = no",
            "smtp_dns_support_level = disabled", "biff = no",
            "smtputf8_enable = yes",
            "virtual_mailbox_domains = pf.test",
            "virtual_mailbox_base = %s" % self.mail,
            "virtual_mailbox_maps = texthash:%s/vmailbox" % self.etc,
            "virtual_uid_maps = static:%d" % nobody.pw_uid,
            "virtual_gid_maps = static:%d" % nobody.pw_gid,
            "virtual_minimum_uid = 1",
            "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination",
        ]
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            f.write("pat@pf.test pat/\n")
            f.write("j\u00f6rg@pf.test joerg/\n")
        subprocess.run(["postconf", "-c", self.etc, "-e"] + settings, check=True,
                       stdout=subprocess.DEVNULL, timeout=60)
        services = """\
%s:%d inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
""" % (PF_HOST, self.port)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(services)

    def start(self):
        self.setup()
        r = subprocess.run(["postfix", "-c", self.etc, "start"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise AssertionError("postfix start failed: %s" % r.stdout.decode(errors="replace"))
        self.started = True

        def listening():
            import socket
            try:
                socket.create_connection((PF_HOST, self.port), timeout=2).close()
                return True
            except OSError:
                return False
        harness.wait_until(listening, 30, "Postfix smtpd on %s:%d" % (PF_HOST, self.port))
        return self

    def stop(self):
        if self.started:
            subprocess.run(["postfix", "-c", self.etc, "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
            pid_file = os.path.join(self.dir, "queue", "pid", "master.pid")

            def gone():
                try:
                    with open(pid_file) as f:
                        pid = int(f.read().strip() or 0)
                    os.kill(pid, 0)
                    return False
                except (OSError, ValueError):
                    return True
            try:
                harness.wait_until(gone, 20, "Postfix master to exit")
            except AssertionError:
                pass
        if not os.environ.get("SLUICE_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def delivered(self, mailbox):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.mail, mailbox, sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    out.append(f.read())
        return out

    def wait_for(self, mailbox, token):
        t = token.encode()
        return harness.wait_until(
            lambda: [m for m in self.delivered(mailbox) if t in m] or None,
            harness.DELIVERY_TIMEOUT, "%r in Postfix mailbox %s" % (token, mailbox))


class PostfixInteropTest(harness.OutboundTestCase):
    ZONE = """
pf.test             MX  10 mx.pf.test
mx.pf.test          A   %s
""" % PF_HOST
    PEERS = {}
    postfix = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0 or shutil.which("postfix") is None:
            raise unittest.SkipTest("needs root and Postfix to start a private instance")
        import socket
        s = socket.socket()
        s.bind((PF_HOST, 0))
        cls.pf_port = s.getsockname()[1]
        s.close()
        cls.postfix = PostfixReceiver(cls.pf_port)
        try:
            cls.postfix.start()
            super().setUpClass()
        except BaseException:
            cls.postfix.stop()
            raise

    @classmethod
    def configure(cls, cfg):
        cfg.send_connectors = [{"name": "internet", "address_spaces": ["*"],
                                "port": cls.pf_port}]

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.postfix.stop()

    def test_delivery_to_postfix(self):
        token = harness.unique_token("pf")
        body = ".leading dot line of %s\r\n..two dots\r\nGr\u00fc\u00dfe\r\n" % token
        msg = harness.simple_message(token, sender="alice@" + DOMAIN, to="pat@pf.test",
                                     body=body)
        self.submit(token, ["pat@pf.test"], message=msg, mail_options=["BODY=8BITMIME"])
        (got,) = self.postfix.wait_for("pat", token)
        self.assertIn(b"Return-Path: <alice@%s>" % DOMAIN.encode(), got)
        self.assertIn(b"Delivered-To: pat@pf.test", got)
        # Postfix's Received header names our EHLO name
        self.assertIn(("from %s" % harness.HOSTNAME).encode(), got)
        # content unchanged (Postfix's Maildir files use LF)
        self.assertIn(body.replace("\r\n", "\n").encode("utf-8"), got)
        sent = self.daemon.wait_tracking("SEND", "pat@pf.test")
        self.assertTrue(sent[0]["recipient-status"].startswith("250 2.0.0"), sent[0])

    def test_smtputf8_to_postfix(self):
        token = harness.unique_token("pfutf8")
        msg = harness.simple_message(token, sender="alice@" + DOMAIN, to="j\u00f6rg@pf.test")
        self.submit(token, ["j\u00f6rg@pf.test"], message=msg,
                    mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        (got,) = self.postfix.wait_for("joerg", token)
        self.assertIn("Delivered-To: j\u00f6rg@pf.test".encode("utf-8"), got)

    def test_postfix_refusal_comes_back_in_the_dsn(self):
        token = harness.unique_token("pfbad")
        self.submit(token, ["nobody@pf.test"])
        dsn = harness.dsn_report(self.bounces(token=token)[0])
        r = dsn.recipient("nobody@pf.test")
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.1.1")
        diag = r["diagnostic-code"]
        self.assertIn("550 5.1.1 <nobody@pf.test>", diag)
        self.assertIn("User unknown in virtual mailbox table", diag)


if __name__ == "__main__":
    unittest.main()
