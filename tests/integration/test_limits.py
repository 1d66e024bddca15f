# tests/integration/test_limits.py: connection limits of a receive connector.
# Owns: max_connections_per_ip — the connections over the limit get one 421 4.7.0 naming
# the client and are closed; those under it are served; a slot freed by QUIT is reusable.
# Not: rate limits (the inbound-protection issue). Exchange: MaxInboundConnectionPerSource.

import unittest

import harness


class ConnectionLimitTest(harness.DaemonTestCase):
    LIMIT = 3

    @classmethod
    def make_config(cls):
        config = harness.Config()
        # Appended after the last [[receive_connector]] table: it belongs to "apps".
        config.extra = "max_connections_per_ip = %d\n" % cls.LIMIT
        return config

    def test_connections_over_the_limit_get_421_and_freed_slots_are_reused(self):
        clients = [self.daemon.raw("apps") for _ in range(self.LIMIT + 2)]
        try:
            greetings = [c.reply() for c in clients]
            served = [g for g in greetings if g is not None and g.code == 220]
            refused = [g for g in greetings if g is not None and g.code == 421]
            self.assertEqual(len(served), self.LIMIT, greetings)
            self.assertEqual(len(refused), 2, greetings)
            for r in refused:
                self.assertEqual(r.enhanced, "4.7.0")
                self.assertIn("Too many connections from [127.0.0.1]", r.text)
            for c, g in zip(clients, greetings):
                if g.code == 421:
                    self.assertTrue(c.closed_by_peer())
            # The other connector has its own count.
            with self.daemon.raw("internet") as other:
                self.assertReply(other.reply(), 220)
            # A QUIT frees one slot for the next client.
            first = next(c for c, g in zip(clients, greetings) if g.code == 220)
            self.assertReply(first.cmd("QUIT"), 221)
            self.assertTrue(first.closed_by_peer())
            late = harness.wait_until(lambda: self._try_connect(), 10, "a freed connection slot")
            self.assertReply(late, 220)
        finally:
            for c in clients:
                c.close()

    def _try_connect(self):
        c = self.daemon.raw("apps")
        try:
            r = c.reply()
            return r if r is not None and r.code == 220 else None
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
