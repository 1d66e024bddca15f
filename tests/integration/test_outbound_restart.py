# tests/integration/test_outbound_restart.py: a restart in the middle of outbound queues
# loses nothing.
# Owns: messages being relayed to a slow peer when sluiced is SIGKILLed, and messages held
# in Retry by a peer answering 4xx when sluiced is stopped: after a restart on the same data
# dir every one of them reaches the peer (duplicates are allowed by the durability contract
# and counted, never a loss).
# Not: the receive side's crash test (test_crash.py).
# DESIGN.md "Durability contract" (per-recipient state written before the next step; on
# start the queue manager rebuilds its queues from the spool); issue 3 "A restart resumes
# every queue".

import unittest

import harness

ZONE = """
slow.test           MX  10 mx.slow.test
mx.slow.test        A   127.0.0.2
held.test           MX  10 mx.held.test
mx.held.test        A   127.0.0.3
"""

SLOW = 30
HELD = 5


class RestartTest(harness.OutboundTestCase):
    ZONE = ZONE
    PEERS = {"mx": (["127.0.0.2", "127.0.0.3"], {
        "127.0.0.2": {"data_delay": 0.2},
        "127.0.0.3": {"rcpt_reply": "451 4.3.2 Not now"},
    }, False)}

    def test_kill_in_the_middle_then_restart(self):
        peer = self.peers["mx"]
        token = harness.unique_token("restart")
        slow = ["s%d@slow.test" % i for i in range(SLOW)]
        held = ["h%d@held.test" % i for i in range(HELD)]
        with self.daemon.smtp("apps") as c:
            for i, rcpt in enumerate(slow + held):
                c.sendmail("alice@" + harness.DOMAIN, [rcpt],
                           harness.simple_message("%s-%d" % (token, i), to=rcpt))
        harness.wait_until(lambda: len(peer.received_with(token)) >= 5, 60,
                           "a few messages relayed before the kill")
        for r in held:
            self.daemon.wait_tracking("DEFER", r)
        self.daemon.kill()
        before = len(peer.received_with(token))
        self.assertLess(before, SLOW, "the kill came in the middle of the queue")
        peer.set_behaviours({"127.0.0.2": {"data_delay": 0.05}, "*": {}})
        self.daemon.start()
        def missing():
            rcpts = {r for m in peer.received_with(token) for r in m.rcpt_tos}
            return sorted(set(slow + held) - rcpts)
        try:
            harness.wait_until(lambda: not missing(), 120, "every recipient at the peer")
        except AssertionError:
            self.fail("lost across the restart: %r\n%s" % (missing(), self.daemon.stderr_tail()))
        rcpts = [r for m in peer.received_with(token) for r in m.rcpt_tos]
        dups = len(rcpts) - len(set(rcpts))
        print("\n[restart] %d relayed before the kill, %d duplicates after the restart"
              % (before, dups))
        self.assertLessEqual(dups, 10, "at most the transactions in flight (max_connections"
                             " defaults to 10) are repeated")


if __name__ == "__main__":
    unittest.main()
