# tests/integration/test_cli6_sendmail.py: the Unix entry points against a real sluiced —
# `sendmail -t -i` with cron-style input delivered (recipients from To/Cc/Bcc, Bcc removed,
# From/Date/Message-ID added), `sluice sendmail` with -f, a message sent while sluiced is
# down kept in the maildrop and delivered once it starts, and `mailq` / `sendmail -bp` in
# Postfix's format with the deferral reason of a peer answering 451.
# Not: flag parsing details and the maildrop format (tests/unit/cli, tests/unit/queue).
# shared/reference/ecosystem.md §1 (sendmail flags, sysexits, mailq format); issue 6
# "Unix conventions".

import os
import re
import socket
import subprocess
import unittest

import harness

DOMAIN = harness.DOMAIN


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FixedPortConfig(harness.Config):
    """The harness's config, with the `apps` relay connector and the admin API on fixed
    ports: sendmail and mailq find sluiced through the configuration file, as in production."""

    def __init__(self):
        super().__init__()
        self.apps_port = free_port()
        self.admin_port = free_port()
        self.admin_listen = "127.0.0.1:%d" % self.admin_port

    def render(self, root):
        text = super().render(root)
        old = 'name = "apps"\nlisten = ["127.0.0.1:0"]'
        assert old in text, "harness changed the apps connector"
        text = text.replace(old, 'name = "apps"\nlisten = ["127.0.0.1:%d"]' % self.apps_port)
        return text


def entry_point(daemon, name):
    """The `sluice` binary under another name (argv[0] selects sendmail or mailq)."""
    path = os.path.join(daemon.root, name)
    if not os.path.exists(path):
        os.symlink(harness.sluice_path(), path)
    return path


def run(daemon, argv, stdin=b""):
    env = dict(os.environ, SLUICE_CONFIG=daemon.config_path)
    return subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=60, cwd=daemon.root)


CRON_MAIL = (b"To: alice@" + DOMAIN.encode() + b"\n"
             b"Cc: Bob <bob@" + DOMAIN.encode() + b">\n"
             b"Bcc: carol@" + DOMAIN.encode() + b"\n"
             b"Subject: Cron <root@host> /usr/local/bin/nightly %TOKEN%\n"
             b"Content-Type: text/plain; charset=UTF-8\n"
             b"\n"
             b"nightly finished\n"
             b".\n"
             b"a lone dot above stays with -i\n")


class SendmailTest(harness.DaemonTestCase):
    @classmethod
    def make_config(cls):
        return FixedPortConfig()

    def test_cron_style_dash_t_is_delivered(self):
        token = harness.unique_token("cron")
        sendmail = entry_point(self.daemon, "sendmail")
        r = run(self.daemon, [sendmail, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-t"],
                CRON_MAIL.replace(b"%TOKEN%", token.encode()))
        self.assertEqual(r.returncode, 0, r.stderr)
        for user in ("alice", "bob", "carol"):  # To, Cc and Bcc
            got = self.daemon.wait_for_message(user, token)[0]
            _, _, rest = harness.split_prepended(got)  # after Return-Path/Delivered-To/Received
            header = rest.replace(b"\r\n", b"\n").split(b"\n\n")[0]
            self.assertNotIn(b"Bcc:", header)
            self.assertNotIn(b"carol@", header)
            self.assertIn(b'From: "CronDaemon" <', header)
            self.assertIn(b"\nDate: ", header)
            self.assertIn(b"\nMessage-ID: <", header)
            self.assertIn(b"a lone dot above stays with -i", got)

    def test_sluice_sendmail_with_sender_and_lone_dot(self):
        token = harness.unique_token("sm")
        msg = ("Subject: %s\n\nfirst\n.\nnot sent\n" % token).encode()
        r = run(self.daemon, [harness.sluice_path(), "sendmail", "-f", "app@" + DOMAIN,
                              "bob@" + DOMAIN], msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.daemon.wait_for_message("bob", token)[0]
        self.assertIn(b"Return-Path: <app@" + DOMAIN.encode() + b">", got)
        self.assertIn(b"first", got)
        self.assertNotIn(b"not sent", got)

    def test_usage_and_data_errors(self):
        sendmail = entry_point(self.daemon, "sendmail")
        r = run(self.daemon, [sendmail, "-Z"])
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"unknown option -Z", r.stderr)
        r = run(self.daemon, [sendmail, "-t"], b"Subject: nobody\n\nx\n")
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"no recipients", r.stderr)

    def test_mailq_when_empty_or_listing(self):
        mailq = entry_point(self.daemon, "mailq")
        r = run(self.daemon, [mailq])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertTrue(out == "Mail queue is empty\n" or out.startswith("----Queue ID-----"), out)


class MaildropTest(unittest.TestCase):
    """sendmail while sluiced is down: the message waits in the maildrop, then is delivered."""

    def test_sent_while_down_is_delivered_after_start(self):
        daemon = harness.Daemon(FixedPortConfig(), name="sluice-cli6-maildrop")
        try:
            daemon.write_config()
            token = harness.unique_token("down")
            sendmail = entry_point(daemon, "sendmail")
            r = run(daemon, [sendmail, "-i", "alice@" + DOMAIN],
                    ("Subject: %s\n\nwritten while sluiced was down\n" % token).encode())
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"waits in", r.stderr)
            maildrop = os.path.join(daemon.var, "maildrop")
            self.assertEqual(len([n for n in os.listdir(maildrop) if n.endswith(".msg")]), 1)
            daemon.start(write_config=False)
            got = daemon.wait_for_message("alice", token)[0]
            self.assertIn(b"written while sluiced was down", got)
            harness.wait_until(
                lambda: not [n for n in os.listdir(maildrop) if n.endswith(".msg")],
                harness.LOG_TIMEOUT, "the maildrop file removed after pick-up")
        finally:
            if daemon.running():
                daemon.terminate()
            daemon.cleanup()


class MailqDeferredTest(harness.OutboundTestCase):
    """A peer answering 451 to RCPT: mailq shows the message, its deferral reason and recipient."""

    PEERS = {"busy": (["127.0.0.2"], {"*": {"rcpt_reply": "451 4.3.0 mailbox busy, try later"}}, False)}
    QUEUE = {"retry": ["1h"]}

    @classmethod
    def make_config(cls):
        cfg = FixedPortConfig()
        cfg.dns_servers = [cls.dns.address]
        cfg.dns_timeout = "2s"
        cfg.queue = dict(cls.QUEUE)
        cfg.send_connectors = [{"name": "busy", "address_spaces": ["busy.test"],
                                "smart_hosts": ["[127.0.0.2]:%d" % cls.peer_port]}]
        return cfg

    def test_mailq_shows_the_deferral(self):
        token = harness.unique_token("mq")
        r = run(self.daemon, [entry_point(self.daemon, "sendmail"), "-f", "app@" + DOMAIN,
                              "someone@busy.test"], ("Subject: %s\n\nhello\n" % token).encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.daemon.wait_tracking("DEFER", "someone@busy.test")
        for argv in ([entry_point(self.daemon, "mailq")],
                     [entry_point(self.daemon, "sendmail"), "-bp"]):
            r = run(self.daemon, argv)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode()
            lines = out.splitlines()
            self.assertEqual(lines[0], "----Queue ID-----  --Size-- ---Arrival Time---- -Sender/Recipient-------")
            self.assertRegex(lines[1], r"^[0-9A-Z]{13}[ *!]{5} +\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  app@%s$"
                             % re.escape(DOMAIN))
            self.assertIn("(451 4.3.0 mailbox busy, try later)", lines)
            self.assertIn(" " * 49 + "someone@busy.test", lines)
            self.assertRegex(lines[-1], r"^-- \d+ Kbytes in 1 Request\.$")
        queue_id = lines[1][:13]
        # The same reply as LastError in the Get-Queue/Get-Message views and in message show.
        sluice = harness.sluice_path()
        r = run(self.daemon, [sluice, "queue"])
        self.assertEqual(r.returncode, 0, r.stderr)
        # The next hop's queue (a 451 to RCPT is the message's LastError, not the queue's).
        self.assertRegex(r.stdout.decode(), r"\nsmarthost:busy +SmartHostConnectorDelivery +\w+ +1\b")
        r = run(self.daemon, [sluice, "queue", "messages", "--to", "someone@busy.test"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(queue_id, r.stdout.decode())
        self.assertIn("451 4.3.0 mailbox busy, try later", r.stdout.decode())
        r = run(self.daemon, [sluice, "message", "show", queue_id])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("451 4.3.0 mailbox busy, try later", r.stdout.decode())
        r = run(self.daemon, [sluice, "message", "show", "--json", queue_id])
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        self.assertEqual(json.loads(r.stdout)["queue_id"], queue_id)
        r = run(self.daemon, [sluice, "message", "show", "0000000000000"])
        self.assertEqual(r.returncode, 66, r.stderr)
        self.assertIn(b"no message 0000000000000", r.stderr)


if __name__ == "__main__":
    unittest.main()
