# tests/integration/test_smtp_basic.py: the basic SMTP dialog against a running sluiced.
# Owns: local delivery end to end with smtplib and swaks, the EHLO capability list, VRFY,
# HELP, RSET, NOOP, QUIT, unknown users, recipient and size limits, command line length,
# bad sequences and the Received hop count.
# Not: pipelining (test_pipelining), BDAT (test_bdat), DATA end-of-data edge cases
# (test_smuggling, test_dotstuffing), relay control (test_open_relay).
# RFC 5321 §3.3, §4.1.1, §4.1.4 (sequence), §4.2 (replies), §4.5.3.1 (limits), §6.3 (loops);
# RFC 1870 (SIZE), RFC 3463 (enhanced status codes), RFC 1652, RFC 2920, RFC 3030, RFC 6531.

import os
import re
import smtplib
import subprocess
import unittest

import harness
from harness import DOMAIN, HOSTNAME


class SmtpBasicTest(harness.DaemonTestCase):

    def ehlo_size(self):
        with self.daemon.raw() as c:
            r = self.greet(c)
            for line in r.lines[1:]:
                if line.upper().startswith("SIZE"):
                    return int(line.split()[1])
        self.fail("no SIZE in EHLO")

    # -- end to end ------------------------------------------------------------------------

    def test_smtplib_send_to_local_user_arrives(self):
        token = harness.unique_token("basic")
        msg = harness.simple_message(token)
        with self.daemon.smtp() as s:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            refused = s.sendmail("sender@client.test", ["alice@" + DOMAIN], msg)
            self.assertEqual(refused, {})
        got = self.daemon.wait_for_message("alice", token)
        self.assertEqual(len(got), 1)
        names, prepended, rest = harness.split_prepended(got[0])
        self.assertEqual(names, ["Return-Path", "Delivered-To", "Received"], prepended)
        self.assertIn(b"Return-Path: <sender@client.test>\n", prepended)
        self.assertIn(("Delivered-To: alice@" + DOMAIN).encode(), prepended)
        self.assertIn(("by " + HOSTNAME).encode(), prepended)
        self.assertEqual(rest, msg.replace(b"\r\n", b"\n"))
        self.assertNotIn(b"\r", got[0])

    def test_queued_reply_carries_queue_id(self):
        token = harness.unique_token("qid")
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<bob@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.simple_message(token, to="bob@" + DOMAIN) + b".\r\n")
            r = c.reply()
            self.assertReply(r, 250, "2.0.0")
            m = re.fullmatch(r"2\.0\.0 Ok: queued as ([0-9A-Za-z]{13})", r.lines[0])
            self.assertIsNotNone(m, r)
            self.assertReply(c.cmd("QUIT"), 221)
        self.daemon.wait_for_message("bob", token)

    def test_greeting_and_ehlo_capabilities(self):
        with self.daemon.raw() as c:
            g = c.reply()
            self.assertReply(g, 220)
            self.assertEqual(g.lines[0], "%s ESMTP sluice" % HOSTNAME)
            r = c.cmd("EHLO client.test")
            self.assertReply(r, 250)
            self.assertTrue(r.lines[0].startswith(HOSTNAME), r)
            caps = {line.split()[0].upper(): line.split()[1:] for line in r.lines[1:]}
            for cap in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
                        "CHUNKING", "DSN"):
                self.assertIn(cap, caps, r)
            self.assertEqual(len(caps["SIZE"]), 1, r)
            self.assertGreater(int(caps["SIZE"][0]), 0)
            # "1MB" in the config: either reading is fine, but it must be one of them.
            self.assertIn(int(caps["SIZE"][0]), (1000000, 1048576))

    def test_helo_is_accepted(self):
        with self.daemon.raw() as c:
            self.assertReply(c.reply(), 220)
            r = c.cmd("HELO client.test")
            self.assertReply(r, 250)
            self.assertEqual(len(r.lines), 1, "HELO reply is single-line: %r" % r)

    def test_vrfy_help_noop_rset_quit(self):
        with self.daemon.raw() as c:
            self.greet(c)
            r = c.cmd("VRFY alice")
            self.assertReply(r, 252)
            r = c.cmd("HELP")
            self.assertIn(r.code, (211, 214), r)
            self.assertReply(c.cmd("NOOP"), 250)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<alice@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("RSET"), 250)
            # RSET dropped the transaction: RCPT needs a new MAIL now.
            self.assertReply(c.cmd("RCPT TO:<alice@%s>" % DOMAIN), 503, "5.5.1")
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("QUIT"), 221)
            self.assertTrue(c.closed_by_peer(), "connection still open after 221")

    def test_unknown_local_user(self):
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<nosuchuser@%s>" % DOMAIN), 550, "5.1.1")
            self.assertReply(c.cmd("RCPT TO:<alice@%s>" % DOMAIN), 250)

    def test_unknown_user_refused_by_smtplib(self):
        token = harness.unique_token("mixed")
        with self.daemon.smtp() as s:
            refused = s.sendmail("s@client.test", ["nobody@" + DOMAIN, "carol@" + DOMAIN],
                                 harness.simple_message(token, to="carol@" + DOMAIN))
        self.assertEqual(list(refused), ["nobody@" + DOMAIN])
        self.assertEqual(refused["nobody@" + DOMAIN][0], 550)
        self.daemon.wait_for_message("carol", token)

    def test_too_many_recipients(self):
        token = harness.unique_token("many")
        users = ["alice", "bob", "carol", "dave", "erin"]
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            for u in users:
                self.assertReply(c.cmd("RCPT TO:<%s@%s>" % (u, DOMAIN)), 250)
            self.assertReply(c.cmd("RCPT TO:<frank@%s>" % DOMAIN), 452, "4.5.3")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.simple_message(token) + b".\r\n")
            self.assertReply(c.reply(), 250, "2.0.0")
        for u in users:
            self.assertEqual(len(self.daemon.wait_for_message(u, token)), 1)
        self.assertEqual(self.daemon.messages_with("frank", token), [])

    def test_size_declared_too_big(self):
        limit = self.ehlo_size()
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test> SIZE=%d" % (limit + 1)),
                             552, "5.3.4")
            # The session goes on; a size within the limit is fine.
            self.assertReply(c.cmd("MAIL FROM:<s@client.test> SIZE=%d" % (limit // 2)), 250)

    def test_size_actual_too_big(self):
        limit = self.ehlo_size()
        token = harness.unique_token("big")
        line = b"x" * 76 + b"\r\n"
        body = line * (limit // len(line) + 10)
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<dave@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.simple_message(token, to="dave@" + DOMAIN, body="") + body + b".\r\n")
            self.assertReply(c.reply(), 552, "5.3.4")
            # The session is still usable afterwards.
            self.assertReply(c.cmd("NOOP"), 250)
        # Prove the big message is not merely late: a later one to the same user arrives
        # while the big one never does.
        token2 = harness.unique_token("after-big")
        with self.daemon.smtp() as s:
            s.sendmail("s@client.test", ["dave@" + DOMAIN],
                       harness.simple_message(token2, to="dave@" + DOMAIN))
        self.daemon.wait_for_message("dave", token2)
        self.assertEqual(self.daemon.messages_with("dave", token), [])

    def test_bad_command(self):
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("FROBNICATE now"), 500, "5.5.2")
            self.assertReply(c.cmd("NOOP"), 250)

    def test_command_line_too_long(self):
        with self.daemon.raw() as c:
            self.greet(c)
            r = c.cmd("NOOP " + "x" * 600)
            self.assertReply(r, 500, "5.5.2")
            # Exactly one reply for the long line, then the session goes on.
            self.assertReply(c.cmd("NOOP"), 250)
            r = c.cmd("MAIL FROM:<%s@client.test>" % ("a" * 520))
            self.assertReply(r, 500, "5.5.2")
            self.assertReply(c.cmd("RSET"), 250)

    def test_bad_sequence(self):
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("RCPT TO:<alice@%s>" % DOMAIN), 503, "5.5.1")
            self.assertReply(c.cmd("DATA"), 503, "5.5.1")
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 503, "5.5.1")
            self.assertReply(c.cmd("DATA"), 503, "5.5.1")

    def _send_with_received(self, n, token):
        hdrs = "".join("Received: from hop%d.example.org by hop%d.example.org;"
                       " Thu, 01 Jan 2026 00:00:00 +0000\r\n" % (i, i + 1) for i in range(n))
        msg = (hdrs.encode() + harness.simple_message(token, to="erin@" + DOMAIN))
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<erin@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(msg + b".\r\n")
            return c.reply()

    def test_hop_count(self):
        over = harness.unique_token("hops31")
        self.assertReply(self._send_with_received(31, over), 554, "5.4.6")
        ok = harness.unique_token("hops30")
        self.assertReply(self._send_with_received(30, ok), 250, "2.0.0")
        got = self.daemon.wait_for_message("erin", ok)
        self.assertEqual(got[0].count(b"\nReceived: "), 31)  # 30 + ours
        self.assertEqual(self.daemon.messages_with("erin", over), [])

    # -- swaks -----------------------------------------------------------------------------

    def _swaks(self, *args):
        cmd = ["/usr/bin/swaks", "--server", "127.0.0.1", "--port",
               str(self.daemon.port()), "--helo", "client.test",
               "--from", "swaks@client.test", "--timeout", "30"] + list(args)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out + p.stderr.decode("utf-8", "replace"))
        return out

    def test_swaks_plain(self):
        token = harness.unique_token("swaks")
        out = self._swaks("--to", "bob@" + DOMAIN, "--header", "Subject: " + token,
                          "--body", "body of " + token)
        self.assertRegex(out, r"<-  250 2\.0\.0 Ok: queued as [0-9A-Za-z]{13}")
        got = self.daemon.wait_for_message("bob", token)
        self.assertIn(("body of " + token).encode(), got[0])

    def test_swaks_pipeline(self):
        token = harness.unique_token("swakspipe")
        out = self._swaks("--pipeline", "--to", "carol@%s,dave@%s" % (DOMAIN, DOMAIN),
                          "--header", "Subject: " + token)
        self.assertIn("250 2.0.0 Ok: queued as", out)
        self.daemon.wait_for_message("carol", token)
        self.daemon.wait_for_message("dave", token)

    def test_swaks_data_from_file(self):
        token = harness.unique_token("swaksfile")
        path = os.path.join(self.daemon.root, "swaks-data.eml")
        body = ("From: swaks@client.test\nTo: erin@%s\nSubject: %s\n"
                "Message-ID: <%s@client.test>\n\nline one\n.dot line\n..two dots\nlast"
                % (DOMAIN, token, token))
        # No final newline: swaks itself ends the data with CRLF "." CRLF.
        with open(path, "w") as f:
            f.write(body)
        self._swaks("--to", "erin@" + DOMAIN, "--data", "@" + path)
        got = self.daemon.wait_for_message("erin", token)
        _, _, rest = harness.split_prepended(got[0])
        self.assertEqual(rest, body.encode() + b"\n")


if __name__ == "__main__":
    unittest.main()
