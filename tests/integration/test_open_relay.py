# tests/integration/test_open_relay.py: relay control per receive connector.
# Owns: the internet connector refuses plain relaying and every routing trick (percent hack,
# quoted @, source route, bang path, trailing dot) with a 5xx and never queues them; the
# relay connector ("apps", 127.0.0.0/8) accepts a remote recipient, which stays queued.
# Not: outbound delivery (a later issue).
# RFC 5321 §3.6.1 (source routes), §4.1.2 (Mailbox syntax), §7.1 (open relays);
# RFC 5321 Appendix C / F.2; RFC 2505 (anti-spam recommendations, §2.6.1 relay tricks).

import unittest

import harness
from harness import DOMAIN

TRICKS = [
    "user@other.example",
    "user%other.example@" + DOMAIN,
    "alice%other.example@" + DOMAIN,
    '"user@other.example"@' + DOMAIN,
    '"alice@other.example"@' + DOMAIN,
    "@%s:user@other.example" % DOMAIN,
    "@%s,@mx.%s:user@other.example" % (DOMAIN, DOMAIN),
    "other.example!user@" + DOMAIN,
    "other.example!alice@" + DOMAIN,
    "user@other.example.",
    "user@other.example.@" + DOMAIN,
    "user@" + DOMAIN + ".other.example",
    "user@[192.0.2.1]",
]


class OpenRelayTest(harness.DaemonTestCase):

    def test_internet_connector_refuses_relay_tricks(self):
        for rcpt in TRICKS:
            with self.subTest(rcpt=rcpt):
                with self.daemon.raw("internet") as c:
                    self.greet(c)
                    self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
                    r = c.cmd("RCPT TO:<%s>" % rcpt)
                    # 550 5.7.1 (relay), 550 5.1.1 (no such local part) or 501/553 (syntax).
                    self.assertIsNotNone(r)
                    self.assertIn(r.code, (501, 550, 553), "RCPT TO:<%s> -> %r" % (rcpt, r))
                    # No recipient, so no transaction to send: DATA is refused.
                    d = c.cmd("DATA")
                    self.assertIsNotNone(d)
                    self.assertIn(d.code, (503, 554), d)

    def test_plain_relay_is_550_571(self):
        with self.daemon.raw("internet") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<someone@other.example>"), 550, "5.7.1")

    def test_tricks_never_reach_a_mailbox_or_tracking(self):
        # A message with one good recipient plus all the tricks: only the good one is kept.
        token = harness.unique_token("relaymix")
        with self.daemon.raw("internet") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<bob@%s>" % DOMAIN), 250)
            refused = 0
            for rcpt in TRICKS[:4]:  # max_recipients is 5; refused ones don't count anyway
                r = c.cmd("RCPT TO:<%s>" % rcpt)
                self.assertTrue(500 <= r.code <= 599, "%s -> %r" % (rcpt, r))
                refused += 1
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.simple_message(token, to="bob@" + DOMAIN) + b".\r\n")
            self.assertReply(c.reply(), 250, "2.0.0")
        self.daemon.wait_for_message("bob", token)

        def delivers():
            return [r for r in self.daemon.tracking_log()
                    if r.get("event-id") in ("DELIVER", "RECEIVE")
                    and token in str(r.get("message-id", ""))]
        recs = harness.wait_until(
            lambda: (lambda d: d if any(x.get("event-id") == "DELIVER" for x in d) else None)(
                delivers()), harness.LOG_TIMEOUT, "tracking records for " + token)
        for r in recs:
            rcpts = r.get("recipient-address")
            rcpts = rcpts if isinstance(rcpts, list) else str(rcpts).split(";")
            for a in rcpts:
                self.assertIn(a.strip().lower(), ("bob@" + DOMAIN, ""), r)
        # Only bob's Maildir holds it.
        self.assertEqual(len(self.daemon.files_containing(token)), 1)

    def test_relay_connector_accepts_remote_recipient(self):
        token = harness.unique_token("relayok")
        with self.daemon.raw("apps") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<app@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("RCPT TO:<someone@other.example>"), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.simple_message(token, sender="app@" + DOMAIN,
                                          to="someone@other.example") + b".\r\n")
            r = c.reply()
            self.assertReply(r, 250, "2.0.0")
            self.assertIn("queued as", r.text)
        # Accepted and tracked as received; never put in a local mailbox.
        harness.wait_until(
            lambda: any(r.get("event-id") == "RECEIVE" and token in str(r.get("message-id", ""))
                        for r in self.daemon.tracking_log()),
            harness.LOG_TIMEOUT, "RECEIVE of the relayed message")
        self.assertEqual(self.daemon.files_containing(token), [])

    def test_relay_connector_still_checks_local_users(self):
        with self.daemon.raw("apps") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<app@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("RCPT TO:<nosuchuser@%s>" % DOMAIN), 550, "5.1.1")


if __name__ == "__main__":
    unittest.main()
