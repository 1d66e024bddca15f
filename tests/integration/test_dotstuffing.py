# tests/integration/test_dotstuffing.py: DATA transparency end to end.
# Owns: bodies with lines starting with '.', '..', a lone '.', empty lines, trailing blanks,
# no final CRLF, header-only messages, the longest legal line — sent by smtplib (which
# dot-stuffs) and arriving in the Maildir byte-identical to the original after CRLF→LF;
# server-side removal of an unstuffed leading dot (raw socket).
# Not: bare CR/LF (test_smuggling), BDAT (test_bdat, which has no stuffing).
# RFC 5321 §4.5.2 (transparency), §4.1.1.4 (end of data), §4.5.3.1.6 (998+CRLF text line).

import unittest

import harness
from harness import DOMAIN

HEAD = ("From: <s@client.test>\r\nTo: <alice@%s>\r\nSubject: %%s\r\n"
        "Message-ID: <%%s@client.test>\r\n" % DOMAIN)

BODIES = {
    "dots": "\r\n.\r\n..\r\n...\r\n.leading\r\n..leading two\r\n . space first\r\n"
            "trailing dot.\r\n.\r\nend\r\n",
    "lone_dot_last": "\r\nbody\r\n.\r\n",
    "double_dot_last": "\r\nbody\r\n..\r\n",
    "dot_first_body_line": "\r\n.\r\nafter\r\n",
    "no_final_crlf": "\r\nno newline at the end",
    "no_final_crlf_dot": "\r\nlast line is a dot without CRLF\r\n.",
    "empty_lines": "\r\n\r\n\r\nthree above\r\n\r\n\r\n",
    "trailing_blanks": "\r\ntrailing spaces   \r\n\ttab first\r\ntab last\t\r\n \r\n",
    "headers_only": "",
    "long_line": "\r\n" + "." + "x" * 997 + "\r\n" + "y" * 998 + "\r\n",
    "crlf_dot_crlf_text": "\r\nthe text <CRLF>.<CRLF> spelled out: \\r\\n.\\r\\n\r\n.\r\n.\r\n",
}


class DotStuffingTest(harness.DaemonTestCase):

    def test_bodies_arrive_byte_identical(self):
        sent = {}
        with self.daemon.smtp() as s:
            for name, body in BODIES.items():
                token = harness.unique_token("dot-" + name)
                msg = ((HEAD % (token, token)) + body).encode()
                refused = s.sendmail("s@client.test", ["alice@" + DOMAIN], msg)
                self.assertEqual(refused, {}, name)
                # smtplib ends the data with CRLF when the message doesn't (RFC 5321
                # §4.1.1.4): that CRLF is part of what the server receives.
                sent[name] = (token, msg if msg.endswith(b"\r\n") else msg + b"\r\n")
        for name, (token, msg) in sent.items():
            with self.subTest(body=name):
                got = self.daemon.wait_for_message("alice", token)
                self.assertEqual(len(got), 1)
                names, _, rest = harness.split_prepended(got[0])
                self.assertEqual(names, ["Return-Path", "Delivered-To", "Received"])
                self.assertEqual(rest, msg.replace(b"\r\n", b"\n"))

    def test_server_removes_one_leading_dot(self):
        # What a client sends is already stuffed: the server removes exactly the first dot
        # of each line that starts with one, including lines the client forgot to stuff.
        token = harness.unique_token("unstuff")
        wire = ((HEAD % (token, token)) + "\r\n..a\r\n...b\r\n.c\r\n..\r\nz\r\n").encode()
        want = ((HEAD % (token, token)) + "\r\n.a\r\n..b\r\nc\r\n.\r\nz\r\n").encode()
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<bob@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(wire + b".\r\n")
            self.assertReply(c.reply(), 250, "2.0.0")
        got = self.daemon.wait_for_message("bob", token)
        _, _, rest = harness.split_prepended(got[0])
        self.assertEqual(rest, want.replace(b"\r\n", b"\n"))

    def test_end_of_data_split_across_writes(self):
        token = harness.unique_token("splitend")
        msg = (HEAD % (token, token) + "\r\nbody\r\n").encode()
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<carol@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(msg[:-1])       # ... "body\r"
            c.send(b"\n.")
            c.send(b"\r")
            c.send(b"\n")
            self.assertReply(c.reply(), 250, "2.0.0")
        got = self.daemon.wait_for_message("carol", token)
        _, _, rest = harness.split_prepended(got[0])
        self.assertEqual(rest, msg.replace(b"\r\n", b"\n"))


if __name__ == "__main__":
    unittest.main()
