# tests/integration/test_smuggling.py: SMTP smuggling through odd end-of-data sequences.
# Owns: for each bare-CR / bare-LF variant of "<CRLF>.<CRLF>" followed by a smuggled
# MAIL/RCPT/DATA block, the reply sequence (354, one 5xx after the real end of data, then
# QUIT answered or the connection closed) and the proof that neither the carrier message
# nor the smuggled one is ever delivered or logged as received.
# Not: legitimate dot-stuffing (test_dotstuffing).
# RFC 5321 §2.3.8 (CR and LF only as CRLF), §4.1.1.4 (end of data), §4.5.2 (transparency);
# the 2023 "SMTP smuggling" findings (Longin).

import unittest

import harness
from harness import DOMAIN

# Each is what a sloppy parser might take for the end of data. All contain a bare CR or LF,
# so sluice rejects the message that contains them, as a whole.
VARIANTS = [
    b"\n.\n",
    b"\n.\r\n",
    b"\r.\r",
    b"\r.\r\n",
    b"\r\n.\n",
    b"\r\n.\r",
    b"\r\n.\r\r\n",
    b"\n.\r",
    b"\r.\n",
    b"\r\n.\n\r\n",
    b"\n..\n.\n",
]


class SmugglingTest(harness.DaemonTestCase):

    def smuggle(self, variant, legit, smuggled):
        carrier = harness.simple_message(legit, to="alice@" + DOMAIN,
                                         body="legit body %s" % legit)
        inner = ("MAIL FROM:<evil-%s@client.test>\r\nRCPT TO:<bob@%s>\r\nDATA\r\n"
                 % (smuggled, DOMAIN)).encode()
        inner += harness.simple_message(smuggled, sender="evil@client.test",
                                        to="bob@" + DOMAIN)
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<alice@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            # inner ends with CRLF, so ".\r\n" completes the one real end of data.
            c.send(carrier + variant + inner + b".\r\nQUIT\r\n")
            verdict = c.reply()
            self.assertIsNotNone(verdict, "closed without answering the DATA")
            self.assertTrue(500 <= verdict.code <= 599,
                            "variant %r: want a 5xx for the whole message, got %r"
                            % (variant, verdict))
            after = c.reply()
            # Nothing answers the smuggled commands: the next reply is QUIT's, or the
            # server hung up after its 5xx.
            if after is not None:
                self.assertReply(after, 221, msg="variant %r: reply after the 5xx: %r"
                                 % (variant, after))
                self.assertTrue(c.closed_by_peer())

    def test_variants_rejected_and_not_delivered(self):
        tokens = []
        for variant in VARIANTS:
            with self.subTest(variant=variant):
                legit = harness.unique_token("carrier")
                smuggled = harness.unique_token("smuggled")
                tokens.append((variant, legit, smuggled))
                self.smuggle(variant, legit, smuggled)

        # A canary sent afterwards to both mailboxes: once it has arrived, anything queued
        # by the sessions above would have had its chance to arrive too.
        canary = harness.unique_token("canary")
        with self.daemon.smtp() as s:
            s.sendmail("s@client.test", ["alice@" + DOMAIN, "bob@" + DOMAIN],
                       harness.simple_message(canary))
        self.daemon.wait_for_message("alice", canary)
        self.daemon.wait_for_message("bob", canary)

        for variant, legit, smuggled in tokens:
            with self.subTest(variant=variant):
                self.assertEqual(self.daemon.files_containing(smuggled), [],
                                 "smuggled message delivered for %r" % variant)
                self.assertEqual(self.daemon.files_containing(legit), [],
                                 "carrier with bare CR/LF delivered for %r" % variant)

        # Nor did tracking record a RECEIVE for either (the canary's proves it is logging).
        def receives():
            return [r for r in self.daemon.tracking_log() if r.get("event-id") == "RECEIVE"]
        harness.wait_until(lambda: any(canary in str(r.get("message-id", ""))
                                       for r in receives()),
                           harness.LOG_TIMEOUT, "the canary's RECEIVE in tracking")
        for r in receives():
            self.assertNotIn("evil", str(r.get("sender-address", "")), r)
            for _, legit, smuggled in tokens:
                self.assertNotIn(legit, str(r.get("message-id", "")), r)
                self.assertNotIn(smuggled, str(r.get("message-id", "")), r)

    def test_clean_message_after_rejection_in_same_session(self):
        # After the 5xx the session (if kept open) starts clean: no envelope left over.
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<carol@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(b"Subject: bare\r\n\r\nline\nwith bare LF\r\n.\r\n")
            self.assert5xx(c.reply())
            r = c.cmd("RCPT TO:<carol@%s>" % DOMAIN)
            if r is None:
                return  # the server chose to close after the 5xx; that is allowed
            self.assertReply(r, 503, "5.5.1")
            token = harness.unique_token("afterbare")
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<carol@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.simple_message(token, to="carol@" + DOMAIN) + b".\r\n")
            self.assertReply(c.reply(), 250, "2.0.0")
        self.daemon.wait_for_message("carol", token)


if __name__ == "__main__":
    unittest.main()
