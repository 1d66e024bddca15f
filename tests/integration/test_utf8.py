# tests/integration/test_utf8.py: internationalized mail (SMTPUTF8) end to end.
# Owns: a UTF-8 local part delivered to a UTF-8 user and through a UTF-8 alias with smtplib,
# UTF-8 headers arriving intact, non-ASCII addresses without SMTPUTF8 refused (553 5.6.7),
# invalid UTF-8 in addresses refused with a 5xx, 8BITMIME bodies intact.
# Not: IDNA domains (a later issue).
# RFC 6531 §3.2-3.4 (SMTPUTF8 parameter, UTF-8 mailboxes), §3.5 (553 5.6.7 for a non-ASCII
# address without SMTPUTF8); RFC 3629 (well-formed UTF-8); RFC 1652 (8BITMIME).

import unittest

import harness
from harness import DOMAIN

UTF8_USER = "jörg"
UTF8_ALIAS = "größe"


def utf8_message(token, to):
    return ("From: =?utf-8?q?J=C3=B6rg?= <jörg@client.test>\r\nTo: <%s>\r\n"
            "Subject: Grüße %s ✓\r\nMessage-ID: <%s@client.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "Grüße aus Köln — 日本語 — %s\r\n" % (to, token, token, token)).encode("utf-8")


class Utf8Test(harness.DaemonTestCase):

    @classmethod
    def make_config(cls):
        cfg = harness.Config()
        cfg.users.append(UTF8_USER)
        cfg.aliases[UTF8_ALIAS] = ["bob"]
        return cfg

    def test_utf8_local_part_to_utf8_user(self):
        token = harness.unique_token("utf8user")
        to = "%s@%s" % (UTF8_USER, DOMAIN)
        msg = utf8_message(token, to)
        with self.daemon.smtp() as s:
            s.ehlo()
            self.assertTrue(s.has_extn("smtputf8"))
            refused = s.sendmail("jörg@client.test", [to], msg,
                                 mail_options=["SMTPUTF8", "BODY=8BITMIME"])
            self.assertEqual(refused, {})
        got = self.daemon.wait_for_message(UTF8_USER, token)
        self.assertEqual(len(got), 1)
        names, prepended, rest = harness.split_prepended(got[0])
        self.assertEqual(names, ["Return-Path", "Delivered-To", "Received"])
        self.assertIn("Return-Path: <jörg@client.test>".encode(), prepended)
        self.assertEqual(rest, msg.replace(b"\r\n", b"\n"))

    def test_utf8_alias(self):
        token = harness.unique_token("utf8alias")
        to = "%s@%s" % (UTF8_ALIAS, DOMAIN)
        with self.daemon.smtp() as s:
            refused = s.sendmail("s@client.test", [to], utf8_message(token, to),
                                 mail_options=["SMTPUTF8", "BODY=8BITMIME"])
            self.assertEqual(refused, {})
        got = self.daemon.wait_for_message("bob", token)
        self.assertIn("Grüße aus Köln".encode(), got[0])

    def test_non_ascii_without_smtputf8(self):
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<jörg@client.test>"), 553, "5.6.7")
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<%s@%s>" % (UTF8_USER, DOMAIN)), 553, "5.6.7")
            self.assertReply(c.cmd("RCPT TO:<%s@%s>" % (UTF8_ALIAS, DOMAIN)), 553, "5.6.7")
            # The ASCII recipient in the same transaction still works.
            self.assertReply(c.cmd("RCPT TO:<alice@%s>" % DOMAIN), 250)

    def test_invalid_utf8_refused(self):
        bad = [
            b"\xff\xfe",          # never valid in UTF-8
            b"j\xc3",             # truncated sequence
            b"\xc0\xaf",          # overlong "/"
            b"\xed\xa0\x80",      # UTF-16 surrogate
            b"\xf4\x90\x80\x80",  # above U+10FFFF
            b"j\x80rg",           # lone continuation byte
        ]
        for lp in bad:
            with self.subTest(localpart=lp):
                with self.daemon.raw() as c:
                    self.greet(c)
                    self.assertReply(c.cmd("MAIL FROM:<s@client.test> SMTPUTF8"), 250)
                    self.assert5xx(c.cmd(b"RCPT TO:<" + lp + b"@" + DOMAIN.encode() + b">"))
                    c.send(b"MAIL FROM:<" + lp + b"@client.test> SMTPUTF8\r\n")
                    self.assert5xx(c.reply())

    def test_8bitmime_body_intact(self):
        token = harness.unique_token("8bit")
        msg = utf8_message(token, "carol@" + DOMAIN).replace("jörg@client.test".encode(),
                                                            b"j@client.test")
        msg += b"latin-1 bytes: \xe9\xe8\xfc\r\n"
        with self.daemon.smtp() as s:
            refused = s.sendmail("s@client.test", ["carol@" + DOMAIN], msg,
                                 mail_options=["BODY=8BITMIME"])
            self.assertEqual(refused, {})
        got = self.daemon.wait_for_message("carol", token)
        _, _, rest = harness.split_prepended(got[0])
        self.assertEqual(rest, msg.replace(b"\r\n", b"\n"))


if __name__ == "__main__":
    unittest.main()
