# tests/integration/test_outbound_dsn.py: bounces (RFC 3464 DSNs) of outbound mail, parsed
# by Python's email package and checked field by field.
# Owns: a remote 5xx to one recipient of two (the other delivered), ENVID, ORCPT, RET=HDRS
# and RET=FULL, NOTIFY=NEVER and NOTIFY=SUCCESS, no bounce to the null sender, and the
# failures decided before sending: a message over the peer's SIZE (5.3.4), SMTPUTF8 needed
# and not offered (5.6.7), an 8-bit body to a peer without 8BITMIME (5.6.3).
# Not: MX/DNS outcomes (test_outbound_mx.py), delay notices and expiry
# (test_outbound_retry.py).
# RFC 3464 (format), RFC 3461 §4-§6 (RET, ENVID, NOTIFY, ORCPT), RFC 6522 (multipart/report),
# RFC 1870 (SIZE), RFC 6531 (SMTPUTF8), RFC 6152 (8BITMIME); issue 3 "Bounces".
#
# The sender is a local user (alice@example.test): her DSNs land in her Maildir.

import email.utils
import unittest

import harness
from harness import DOMAIN, HOSTNAME

ZONE = """
remote.test         MX  10 mx.remote.test
mx.remote.test      A   127.0.0.2
small.test          MX  10 mx.small.test
mx.small.test       A   127.0.0.3
"""

REJECT = "550 5.1.1 <nobody@remote.test>: Recipient address rejected: User unknown"


class BounceTest(harness.OutboundTestCase):
    ZONE = ZONE
    PEERS = {"mx": (["127.0.0.2", "127.0.0.3"], {
        "127.0.0.2": {"rcpt_replies": {"nobody@remote.test": REJECT,
                                       "nobody2@remote.test": REJECT.replace("nobody", "nobody2")}},
        # a small, old-fashioned receiver: SIZE 4000, no 8BITMIME, no SMTPUTF8
        "127.0.0.3": {"size": 4000, "ehlo_remove": ["8BITMIME"], "smtputf8": False},
    }, False)}

    @property
    def peer(self):
        return self.peers["mx"]

    def send_raw(self, sender, mail_params, rcpts, message):
        """One transaction on the relay connector; rcpts: [(address, params)]."""
        with self.daemon.raw("apps") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<%s>%s" % (sender, mail_params)), 250)
            for addr, params in rcpts:
                self.assertReply(c.cmd("RCPT TO:<%s>%s" % (addr, params)), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(message + b".\r\n")
            self.assertReply(c.reply(), 250)
            c.cmd("QUIT")

    def test_failed_recipient_dsn_field_by_field(self):
        token = harness.unique_token("dsn")
        msg = harness.simple_message(token, sender="alice@" + DOMAIN, to="ok@remote.test",
                                     body="Body line of %s.\r\n" % token)
        self.send_raw("alice@" + DOMAIN, " RET=HDRS ENVID=env+2D%s" % token,
                      [("ok@remote.test", ""),
                       ("nobody@remote.test", " NOTIFY=FAILURE ORCPT=rfc822;Nobody@remote.test")],
                      msg)
        (got,) = self.peer.wait_for(token)
        self.assertEqual(got.rcpt_tos, ["ok@remote.test"])
        (raw,) = self.bounces(token=token)
        dsn = harness.dsn_report(raw)

        # top-level headers (RFC 3464 §2, RFC 3834 Auto-Submitted)
        self.assertEqual(raw.get_content_type(), "multipart/report")
        self.assertEqual(raw.get_param("report-type"), "delivery-status")
        self.assertEqual(email.utils.parseaddr(raw["From"])[1].lower(),
                         ("mailer-daemon@" + HOSTNAME).lower())
        self.assertEqual(email.utils.parseaddr(raw["To"])[1], "alice@" + DOMAIN)
        self.assertEqual(raw["Return-Path"].strip(), "<>", "a DSN has the null reverse path")
        self.assertTrue(raw["Auto-Submitted"].startswith("auto-replied"), raw["Auto-Submitted"])
        self.assertIsNotNone(raw["Subject"])
        self.assertIsNotNone(raw["Date"])
        self.assertIsNotNone(raw["Message-ID"])

        # the human part says who failed and quotes the remote reply
        self.assertIn("nobody@remote.test", dsn.human)
        self.assertIn("User unknown", dsn.human)

        # per-message fields
        pm = dsn.per_message
        self.assertEqual(pm["reporting-mta"].replace(" ", ""), "dns;" + HOSTNAME)
        self.assertEqual(pm["original-envelope-id"], "env-" + token, "ENVID xtext-decoded")
        self.assertIsNotNone(email.utils.parsedate_to_datetime(pm["arrival-date"]))

        # exactly one recipient group: ok@ was delivered and asked for nothing
        self.assertEqual(len(dsn.recipients), 1, dsn.recipients)
        r = dsn.recipient("nobody@remote.test")
        self.assertEqual(r["final-recipient"].replace(" ", "").lower(),
                         "rfc822;nobody@remote.test")
        self.assertEqual(r["original-recipient"].replace(" ", ""), "rfc822;Nobody@remote.test")
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.1.1")
        self.assertIn("mx.remote.test", r["remote-mta"])
        self.assertTrue(r["remote-mta"].replace(" ", "").startswith("dns;"), r["remote-mta"])
        self.assertEqual(r["diagnostic-code"].replace("; ", ";", 1), "smtp;" + REJECT,
                         "the remote reply verbatim")
        self.assertIsNotNone(email.utils.parsedate_to_datetime(r["last-attempt-date"]))

        # RET=HDRS: the headers only
        self.assertIsNotNone(dsn.returned)
        self.assertEqual(dsn.returned.get_content_type(), "text/rfc822-headers")
        returned = dsn.returned.as_string()
        self.assertIn("Subject: " + token, returned)
        self.assertNotIn("Body line of", returned)

        fail = self.daemon.wait_tracking("FAIL", "nobody@remote.test")
        self.assertEqual(fail[0]["recipient-status"], REJECT)
        # a DSN record, for the failed recipient or addressed to the sender (either reading
        # of "per recipient" is fine)
        harness.wait_until(
            lambda: [r for r in self.daemon.tracking("DSN")
                     if "nobody@remote.test" in str(r).lower()
                     or ("alice@" + DOMAIN) in str(r).lower()],
            harness.LOG_TIMEOUT, "a DSN tracking record")

    def test_ret_full_returns_the_whole_message(self):
        token = harness.unique_token("full")
        msg = harness.simple_message(token, sender="alice@" + DOMAIN, to="nobody@remote.test",
                                     body="Body line of %s.\r\n" % token)
        self.send_raw("alice@" + DOMAIN, " RET=FULL", [("nobody@remote.test", "")], msg)
        dsn = harness.dsn_report(self.bounces(token=token)[0])
        self.assertEqual(dsn.returned.get_content_type(), "message/rfc822")
        self.assertIn("Body line of %s." % token, dsn.returned.as_string())
        self.assertNotIn("original-envelope-id", dsn.per_message, "no ENVID was given")
        self.assertNotIn("original-recipient", dsn.recipients[0], "no ORCPT was given")

    def test_notify_never_and_null_sender_get_no_bounce(self):
        never = harness.unique_token("never")
        null = harness.unique_token("null")
        barrier = harness.unique_token("barrier")
        self.send_raw("alice@" + DOMAIN, "", [("nobody@remote.test", " NOTIFY=NEVER")],
                      harness.simple_message(never, to="nobody@remote.test"))
        self.send_raw("", "", [("nobody2@remote.test", "")],
                      harness.simple_message(null, sender="", to="nobody2@remote.test"))
        self.daemon.wait_tracking("FAIL", "nobody2@remote.test")
        # a later failure that does bounce: once its DSN is there, the earlier ones are done
        self.send_raw("alice@" + DOMAIN, "", [("nobody@remote.test", "")],
                      harness.simple_message(barrier, to="nobody@remote.test"))
        self.bounces(token=barrier)
        self.assertEqual(self.daemon.messages_with("alice", never), [])
        self.assertEqual(self.daemon.files_containing(null), [],
                         "never a bounce to the null sender")

    def test_notify_success_reports_relay_to_a_peer_without_dsn(self):
        token = harness.unique_token("success")
        self.send_raw("alice@" + DOMAIN, "", [("ok@remote.test", " NOTIFY=SUCCESS")],
                      harness.simple_message(token, to="ok@remote.test"))
        self.peer.wait_for(token)
        dsn = harness.dsn_report(self.bounces(token=token)[0])
        r = dsn.recipient("ok@remote.test")
        # RFC 3461 §5.2.2: relayed to a server without DSN
        self.assertIn(r["action"], ("relayed", "delivered"), r)
        self.assertTrue(r["status"].startswith("2."), r)

    def test_over_peer_size_fails_without_sending(self):
        token = harness.unique_token("big")
        body = ("x" * 70 + "\r\n") * 100  # about 7 KB, the peer's SIZE is 4000
        self.send_raw("alice@" + DOMAIN, "",
                      [("bob@small.test", "")],
                      harness.simple_message(token, to="bob@small.test", body=body))
        r = harness.dsn_report(self.bounces(token=token)[0]).recipient("bob@small.test")
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.3.4")
        self.assertIn("552", r.get("diagnostic-code", ""))
        self.assertEqual(self.peer.received_with(token), [])

    def test_smtputf8_needed_but_not_offered(self):
        token = harness.unique_token("utf8")
        self.send_raw("alice@" + DOMAIN, " SMTPUTF8", [("jörg@small.test", "")],
                      harness.simple_message(token, to="jörg@small.test"))
        r = harness.dsn_report(self.bounces(token=token)[0]).recipients[0]
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.6.7")
        self.assertEqual(self.peer.received_with(token), [])

    def test_8bit_body_to_a_peer_without_8bitmime(self):
        token = harness.unique_token("8bit")
        body = "Gr\u00fc\u00dfe von %s.\r\n" % token
        self.send_raw("alice@" + DOMAIN, " BODY=8BITMIME", [("carl@small.test", "")],
                      harness.simple_message(token, to="carl@small.test", body=body))
        r = harness.dsn_report(self.bounces(token=token)[0]).recipient("carl@small.test")
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.6.3")
        self.assertEqual(self.peer.received_with(token), [])


if __name__ == "__main__":
    unittest.main()
