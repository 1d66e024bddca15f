# tests/integration/test_outbound_limits.py: per-next-hop limits of a send connector.
# Owns: max_connections (never more connections open at once to one next hop than
# configured, seen from the receiving peer), max_messages_per_connection (connections are
# reused for several messages, and never for more than the limit), with every message
# delivered once.
# Not: message rate (timing-bound; the queue's unit tests use a ManualClock for it).
# RFC 5321 §4.5.3.1 (no limit there: it is the sender's courtesy); issue 3 "Per-next-hop
# concurrency ... messages per connection are honoured; connections are reused".

import unittest

import harness

ZONE = """
limit.test          MX  10 mx.limit.test
mx.limit.test       A   127.0.0.2
"""

MESSAGES = 12
MAX_CONNECTIONS = 2
PER_CONNECTION = 3


class ConnectionLimitTest(harness.OutboundTestCase):
    ZONE = ZONE
    # A slow receiver (0.3 s per message) keeps connections open long enough to overlap.
    PEERS = {"mx": (["127.0.0.2"], {"*": {"data_delay": 0.3}}, False)}

    @classmethod
    def configure(cls, cfg):
        cfg.send_connectors = [{"name": "internet", "address_spaces": ["*"],
                                "port": cls.peer_port,
                                "max_connections": MAX_CONNECTIONS,
                                "max_messages_per_connection": PER_CONNECTION}]

    def test_connection_limit_and_reuse(self):
        peer = self.peers["mx"]
        token = harness.unique_token("limit")
        with self.daemon.smtp("apps") as c:
            for i in range(MESSAGES):
                rcpt = "user%d@limit.test" % i
                c.sendmail("alice@" + harness.DOMAIN, [rcpt],
                           harness.simple_message("%s-%d" % (token, i), to=rcpt))
        got = peer.wait_for(token, count=MESSAGES, timeout=120)
        tokens = sorted(m.rcpt_tos[0] for m in got)
        self.assertEqual(tokens, sorted("user%d@limit.test" % i for i in range(MESSAGES)),
                         "each message delivered once")
        stats = peer.stats()["per_host"]["127.0.0.2"]
        self.assertLessEqual(stats["max_open"], MAX_CONNECTIONS, stats)
        per_conn = {}
        for m in got:
            per_conn[m.connection] = per_conn.get(m.connection, 0) + 1
        self.assertLessEqual(max(per_conn.values()), PER_CONNECTION, per_conn)
        self.assertGreater(max(per_conn.values()), 1,
                           "a connection carries several messages: %r" % per_conn)
        print("\n[limits] max open %d, connections %d, messages per connection %r"
              % (stats["max_open"], stats["connections"], sorted(per_conn.values())))


if __name__ == "__main__":
    unittest.main()
