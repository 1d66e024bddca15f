# tests/integration/test_outbound_mx.py: MX routing of outbound mail end to end.
# Owns: sluiced relaying to SMTP peers on loopback addresses found through a DNS server for
# test zones: MX preference, the next MX after a refused connection or a 4xx greeting,
# implicit MX (A record, no MX), null MX and NXDOMAIN bounces, SERVFAIL deferral and the
# retry that delivers once DNS answers, several recipients of one domain in one
# transaction, and the SEND protocol log and tracking records of a delivery.
# Not: DSN field details (test_outbound_dsn.py), retries of remote 4xx (test_outbound_retry.py).
# No route at all (no send connector's address space matches) keeps the message deferred
# in Unreachable, never bounced.
# RFC 5321 §5.1 (MX, implicit MX, next host), RFC 7505 (null MX, 5.1.10), RFC 3463 (5.1.2,
# 4.4.3), issue 3 "Routing".
#
# Every peer listens on one port on its own loopback address; the send connector's `port`
# is that port, so MX delivery to "mx1.pref.test" goes to 127.0.0.2:PORT. 127.0.0.4 has
# nothing listening (connection refused).

import unittest

import harness
from harness import DOMAIN

ZONE = """
pref.test           MX  10 mx1.pref.test
pref.test           MX  20 mx2.pref.test
mx1.pref.test       A   127.0.0.2
mx2.pref.test       A   127.0.0.3
fallback.test       MX  10 mx1.fallback.test
fallback.test       MX  20 mx2.fallback.test
mx1.fallback.test   A   127.0.0.4
mx2.fallback.test   A   127.0.0.3
busy.test           MX  10 mx1.busy.test
busy.test           MX  20 mx2.busy.test
mx1.busy.test       A   127.0.0.5
mx2.busy.test       A   127.0.0.3
implicit.test       A   127.0.0.6
nullmx.test         MX  0 .
flaky.test          SERVFAIL
"""

FLAKY_FIXED = """
flaky.test          MX  10 mx.flaky.test
mx.flaky.test       A   127.0.0.2
"""


class MxRoutingTest(harness.OutboundTestCase):
    ZONE = ZONE
    PEERS = {"mx": (["127.0.0.2", "127.0.0.3", "127.0.0.5", "127.0.0.6"],
                    {"127.0.0.5": {"greeting": "421 4.3.2 Service busy, try later"},
                     "*": {}}, False)}

    @property
    def peer(self):
        return self.peers["mx"]

    def test_lowest_preference_first(self):
        token = harness.unique_token("pref")
        self.submit(token, ["bob@pref.test"])
        (got,) = self.peer.wait_for(token)
        self.assertEqual(got.host, "127.0.0.2", "preference 10 is mx1 = 127.0.0.2")
        self.assertEqual(got.rcpt_tos, ["bob@pref.test"])
        self.assertEqual(got.mail_from, "alice@" + DOMAIN)
        self.assertEqual(got.helo, harness.HOSTNAME, "EHLO name defaults to [server] hostname")
        sent = self.daemon.wait_tracking("SEND", "bob@pref.test")
        self.assertTrue(sent[0]["recipient-status"].startswith("250"), sent[0])
        self.assertIn("127.0.0.2", str(sent[0]), "the SEND record names the remote IP")

    def test_next_mx_after_connection_refused(self):
        token = harness.unique_token("refused")
        self.submit(token, ["carol@fallback.test"])
        (got,) = self.peer.wait_for(token)
        self.assertEqual(got.host, "127.0.0.3", "mx1 (127.0.0.4) refuses; mx2 takes it")

    def test_next_mx_after_4xx_greeting(self):
        before = self.peer.stats().get("per_host", {}).get("127.0.0.5", {}).get("connections", 0)
        token = harness.unique_token("busy")
        self.submit(token, ["dave@busy.test"])
        (got,) = self.peer.wait_for(token)
        self.assertEqual(got.host, "127.0.0.3")
        after = self.peer.stats()["per_host"].get("127.0.0.5", {}).get("connections", 0)
        self.assertGreater(after, before, "the busy mx1 was tried first")
        self.assertEqual(self.daemon.tracking("FAIL", "dave@busy.test"), [])

    def test_implicit_mx_from_a_record(self):
        token = harness.unique_token("implicit")
        self.submit(token, ["erin@implicit.test"])
        (got,) = self.peer.wait_for(token)
        self.assertEqual(got.host, "127.0.0.6")

    def test_one_transaction_for_recipients_of_one_domain(self):
        token = harness.unique_token("two")
        self.submit(token, ["one@pref.test", "two@pref.test"])
        got = self.peer.wait_for(token)
        rcpts = sorted(r for m in got for r in m.rcpt_tos)
        self.assertEqual(rcpts, ["one@pref.test", "two@pref.test"])
        self.assertEqual(len(got), 1, "both recipients in one transaction: %r" % got)

    def test_null_mx_bounces_with_5_1_10(self):
        token = harness.unique_token("nullmx")
        self.submit(token, ["frank@nullmx.test"])
        (dsn,) = self.bounces(token=token)
        status = harness.dsn_report(dsn).recipients[0]
        self.assertEqual(status["action"], "failed")
        self.assertEqual(status["status"], "5.1.10")
        self.assertEqual(self.peer.received_with(token), [])
        fail = self.daemon.wait_tracking("FAIL", "frank@nullmx.test")
        self.assertIn("5.1.10", fail[0]["recipient-status"])

    def test_nxdomain_bounces_with_5_1_2(self):
        token = harness.unique_token("nxdomain")
        self.submit(token, ["x@no-such-domain.test"])
        (dsn,) = self.bounces(token=token)
        status = harness.dsn_report(dsn).recipients[0]
        self.assertEqual(status["action"], "failed")
        self.assertEqual(status["status"], "5.1.2")
        self.assertEqual(status["final-recipient"].replace(" ", "").lower(),
                         "rfc822;x@no-such-domain.test")

    def test_servfail_defers_then_delivers(self):
        token = harness.unique_token("servfail")
        self.submit(token, ["gina@flaky.test"])
        defer = self.daemon.wait_tracking("DEFER", "gina@flaky.test")
        self.assertIn("4.4.3", defer[0]["recipient-status"], defer[0])
        self.assertIn("SERVFAIL", defer[0]["recipient-status"].upper(), defer[0])
        self.assertEqual(self.peer.received_with(token), [])
        self.assertEqual(self.daemon.tracking("FAIL", "gina@flaky.test"), [])
        self.dns.set_zone(ZONE.replace("flaky.test          SERVFAIL", "") + FLAKY_FIXED)
        (got,) = self.peer.wait_for(token)
        self.assertEqual(got.host, "127.0.0.2")
        self.daemon.wait_tracking("SEND", "gina@flaky.test")

    def test_send_protocol_log(self):
        token = harness.unique_token("plog")
        self.submit(token, ["henry@implicit.test"])
        self.peer.wait_for(token)

        def session():
            rows = self.daemon.send_protocol_log()
            by_session = {}
            for r in rows:
                by_session.setdefault(r[2], []).append(r)
            for rows in by_session.values():
                remotes = {r[5] for r in rows}
                if any(x.startswith("127.0.0.6:") for x in remotes) and \
                        any(r[6] == "-" for r in rows) and \
                        any(r[6] == ">" and r[7].startswith("RCPT TO:<henry@implicit.test>")
                            for r in rows):
                    return rows
            return None
        rows = harness.wait_until(session, harness.LOG_TIMEOUT, "a SEND session to 127.0.0.6")
        events = [r[6] for r in rows]
        self.assertEqual(rows[0][6], "*", rows[0])
        self.assertIn("attempting to connect", rows[0][7] + rows[0][8], rows[0])
        self.assertEqual(events[1], "+", rows[:3])
        self.assertEqual(events[-1], "-", rows[-3:])
        self.assertTrue(any(r[6] == "<" and r[7].startswith("220") for r in rows))
        self.assertTrue(any(r[6] == ">" and r[7].startswith("EHLO ") for r in rows))
        self.assertEqual([int(r[3]) for r in rows], list(range(len(rows))),
                         "sequence numbers count from 0")
        self.assertTrue(all(r[1] == "internet" or r[1].endswith("internet") for r in rows),
                        "connector-id names the send connector")


class UnreachableTest(harness.OutboundTestCase):
    ZONE = ZONE
    PEERS = {"mx": (["127.0.0.2"], {"*": {}}, False)}

    @classmethod
    def configure(cls, cfg):
        cfg.send_connectors = [{"name": "pref-only", "address_spaces": ["pref.test"],
                                "port": cls.peer_port}]

    def test_no_route_waits_in_unreachable(self):
        token = harness.unique_token("noroute")
        self.submit(token, ["ivy@implicit.test", "jack@pref.test"])
        (got,) = self.peers["mx"].wait_for(token)
        self.assertEqual(got.rcpt_tos, ["jack@pref.test"], "the routable recipient goes")
        defer = self.daemon.wait_tracking("DEFER", "ivy@implicit.test")
        self.assertIn("Unreachable", str(defer[0]), defer[0])
        self.assertTrue(defer[0]["recipient-status"].startswith("4"), defer[0])
        self.assertEqual(self.daemon.tracking("FAIL", "ivy@implicit.test"), [])
        self.assertEqual(self.daemon.messages_with("alice", token), [], "no bounce")


if __name__ == "__main__":
    unittest.main()
