# tests/integration/test_outbound_retry.py: transient failures of outbound delivery.
# Owns: a 4xx to a recipient deferred and retried until the peer accepts, a connection
# dropped in the middle of DATA retried, a 4xx at the end of DATA retried, a 5xx at the end
# of DATA bounced, the expiry bounce after [queue] expire_after (4.4.7, with the last
# remote reply), and the single delay notice after delay_notice_after.
# Not: DSN field details other than Action/Status (test_outbound_dsn.py).
# RFC 5321 §4.5.4.1 (retry), §4.2.5 (a reply after DATA decides the message); RFC 3464
# (Action: delayed / failed); RFC 3463 4.4.7; issue 3 "Queues and scheduling".

import unittest

import harness
from harness import DOMAIN

ZONE = """
retry.test          MX  10 mx.retry.test
mx.retry.test       A   127.0.0.2
drop.test           MX  10 mx.drop.test
mx.drop.test        A   127.0.0.3
late.test           MX  10 mx.late.test
mx.late.test        A   127.0.0.5
"""

GREYLIST = "451 4.7.1 Greylisted, please try again later"


class RetryTest(harness.OutboundTestCase):
    ZONE = ZONE
    QUEUE = {"retry": ["1s"]}
    PEERS = {"mx": (["127.0.0.2", "127.0.0.3", "127.0.0.5"], {"*": {}}, False)}

    @property
    def peer(self):
        return self.peers["mx"]

    def tearDown(self):
        self.peer.set_behaviours({"*": {}})

    def test_4xx_recipient_deferred_then_delivered(self):
        self.peer.set_behaviours({"127.0.0.2": {"rcpt_reply": GREYLIST}, "*": {}})
        token = harness.unique_token("grey")
        self.submit(token, ["bob@retry.test"])
        defer = self.daemon.wait_tracking("DEFER", "bob@retry.test")
        self.assertEqual(defer[0]["recipient-status"], GREYLIST, "the remote reply verbatim")
        self.assertEqual(self.peer.received_with(token), [])
        self.peer.set_behaviours({"*": {}})
        (got,) = self.peer.wait_for(token)
        self.assertEqual(got.rcpt_tos, ["bob@retry.test"])
        self.daemon.wait_tracking("SEND", "bob@retry.test")
        self.assertEqual(self.daemon.tracking("FAIL", "bob@retry.test"), [])

    def test_connection_dropped_in_data_is_retried(self):
        self.peer.set_behaviours({"127.0.0.3": {"drop_in_data": True}, "*": {}})
        token = harness.unique_token("drop")
        self.submit(token, ["carol@drop.test"])
        defer = self.daemon.wait_tracking("DEFER", "carol@drop.test")
        self.assertTrue(defer[0]["recipient-status"].startswith("4"), defer[0])
        self.peer.set_behaviours({"*": {}})
        self.peer.wait_for(token)
        self.assertEqual(self.daemon.tracking("FAIL", "carol@drop.test"), [])

    def test_4xx_after_data_is_retried(self):
        self.peer.set_behaviours({"127.0.0.5": {"data_reply": "452 4.3.1 Insufficient system storage"},
                                  "*": {}})
        token = harness.unique_token("late4")
        self.submit(token, ["dave@late.test"])
        defer = self.daemon.wait_tracking("DEFER", "dave@late.test")
        self.assertEqual(defer[0]["recipient-status"], "452 4.3.1 Insufficient system storage")
        self.peer.set_behaviours({"*": {}})
        self.peer.wait_for(token)

    def test_5xx_after_data_bounces(self):
        reply = "554 5.7.1 Message rejected as spam"
        self.peer.set_behaviours({"127.0.0.5": {"data_reply": reply}, "*": {}})
        token = harness.unique_token("late5")
        self.submit(token, ["erin@late.test"])
        r = harness.dsn_report(self.bounces(token=token)[0]).recipient("erin@late.test")
        self.assertEqual(r["action"], "failed")
        self.assertEqual(r["status"], "5.7.1")
        self.assertIn(reply, r["diagnostic-code"])
        self.assertEqual(self.daemon.tracking("DEFER", "erin@late.test"), [])


class ExpiryTest(harness.OutboundTestCase):
    ZONE = ZONE
    QUEUE = {"retry": ["1s"], "expire_after": "4s", "delay_notice_after": "2s"}
    PEERS = {"mx": (["127.0.0.2"], {"*": {"rcpt_reply": GREYLIST}}, False)}

    def test_expiry_bounce_after_expire_after(self):
        token = harness.unique_token("expire")
        self.submit(token, ["frank@retry.test"])
        self.daemon.wait_tracking("DEFER", "frank@retry.test")

        def expiry_bounce():
            for raw in self.daemon.messages_with("alice", token):
                if b"multipart/report" not in raw:
                    continue
                import email
                msg = email.message_from_bytes(raw)
                dsn = harness.dsn_report(msg)
                if dsn.recipients[0].get("action") == "failed":
                    return dsn
            return None
        dsn = harness.wait_until(expiry_bounce, harness.DELIVERY_TIMEOUT, "the expiry bounce")
        r = dsn.recipient("frank@retry.test")
        self.assertEqual(r["status"], "4.4.7")
        self.assertIn(GREYLIST, r.get("diagnostic-code", ""), "the last remote reply is kept")
        expire = self.daemon.wait_tracking("EXPIRE", "frank@retry.test")
        self.assertIn(GREYLIST, expire[0]["recipient-status"])
        self.assertEqual(self.peers["mx"].received_with(token), [])


class DelayNoticeTest(harness.OutboundTestCase):
    ZONE = ZONE
    QUEUE = {"retry": ["1s"], "expire_after": "1h", "delay_notice_after": "2s"}
    PEERS = {"mx": (["127.0.0.2"], {"*": {"rcpt_reply": GREYLIST}}, False)}

    def test_one_delay_notice_then_delivery(self):
        peer = self.peers["mx"]
        token = harness.unique_token("delay")
        self.submit(token, ["gina@retry.test"])
        (raw,) = self.bounces(token=token)
        dsn = harness.dsn_report(raw)
        r = dsn.recipient("gina@retry.test")
        self.assertEqual(r["action"], "delayed")
        self.assertTrue(r["status"].startswith("4."), r)
        self.assertIn(GREYLIST, r.get("diagnostic-code", ""))
        # a few more retries happen (1 s apart) before the peer accepts
        defers = len(self.daemon.tracking("DEFER", "gina@retry.test"))
        harness.wait_until(
            lambda: len(self.daemon.tracking("DEFER", "gina@retry.test")) >= defers + 2,
            harness.DELIVERY_TIMEOUT, "two more retries")
        peer.set_behaviours({"*": {}})
        peer.wait_for(token)
        self.daemon.wait_tracking("SEND", "gina@retry.test")
        notices = [m for m in self.daemon.messages_with("alice", token)
                   if b"multipart/report" in m]
        self.assertEqual(len(notices), 1, "one delay notice per message, not one per retry")


if __name__ == "__main__":
    unittest.main()
