# tests/integration/test_crash.py: the crash test of the durability contract.
# Owns: 500 messages over 10 parallel smtplib connections, SIGKILL of sluiced in the middle
# of the run, a restart on the same data dir, and the check that every message that got a
# 250 reaches its Maildir (matched by a unique token per message). Duplicates (at-least-once)
# and messages that got no 250 (may be missing or present) are counted and printed, not failed.
# Not: disk-full behaviour (unit tests in tests/unit/spool).
# DESIGN.md "Durability contract"; RFC 5321 §4.1.1.4 and §6.1 (a 250 after DATA means the
# server has taken responsibility for the message).

import re
import smtplib
import threading
import time
import unittest

import harness
from harness import DOMAIN

MESSAGES = 500
CONNECTIONS = 10
KILL_AFTER = 200           # acknowledged messages before the SIGKILL
RUN_TIMEOUT = 240.0        # the whole sending phase, in seconds
REDELIVERY_TIMEOUT = 120.0


class Sender(threading.Thread):
    """Sends its share of messages over one connection (reconnecting after a failure
    while the daemon is up), recording which tokens got a 250."""

    def __init__(self, test, index, tokens, acked, attempted, lock, acked_event, stop):
        super().__init__(daemon=True)
        self.test, self.index, self.tokens = test, index, tokens
        self.acked, self.attempted, self.lock = acked, attempted, lock
        self.acked_event, self.stop = acked_event, stop
        self.errors = []

    def run(self):
        deadline = time.monotonic() + RUN_TIMEOUT
        conn = None
        for n, token in enumerate(self.tokens):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            user = self.test.USERS[n % len(self.test.USERS)]
            msg = harness.simple_message(token, to="%s@%s" % (user, DOMAIN))
            try:
                if conn is None:
                    conn = smtplib.SMTP("127.0.0.1", self.test.port, local_hostname="crash.test",
                                        timeout=30)
                with self.lock:
                    self.attempted[token] = user
                conn.sendmail("crash@client.test", ["%s@%s" % (user, DOMAIN)], msg)
            except (smtplib.SMTPException, OSError) as e:
                self.errors.append("%s: %s" % (token, e))
                try:
                    if conn is not None:
                        conn.close()
                except OSError:
                    pass
                conn = None
                # The daemon is gone (killed): this sender's part of the run is over.
                break
            with self.lock:
                self.acked[token] = user
                if len(self.acked) >= KILL_AFTER:
                    self.acked_event.set()
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                pass


class CrashTest(unittest.TestCase):
    USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]

    def setUp(self):
        self.daemon = harness.Daemon(harness.Config(), name="sluice-crash")
        self.daemon.start()
        self.port = self.daemon.port("internet")

    def tearDown(self):
        try:
            if self.daemon.running():
                self.assertEqual(self.daemon.terminate(), 0, self.daemon.stderr_tail())
        finally:
            self.daemon.cleanup()

    def test_kill9_mid_run_loses_no_acknowledged_message(self):
        tokens = [harness.unique_token("crash%03d" % i) for i in range(MESSAGES)]
        acked, attempted = {}, {}
        lock = threading.Lock()
        acked_event = threading.Event()
        stop = threading.Event()
        senders = [Sender(self, i, tokens[i::CONNECTIONS], acked, attempted, lock,
                          acked_event, stop) for i in range(CONNECTIONS)]
        for s in senders:
            s.start()

        # The power cut, once enough messages are acknowledged (or all senders are done).
        deadline = time.monotonic() + RUN_TIMEOUT
        while not acked_event.wait(0.05):
            if not any(s.is_alive() for s in senders) or time.monotonic() > deadline:
                break
        with lock:
            acked_before_kill = len(acked)
        self.assertTrue(acked_event.is_set(),
                        "only %d messages acknowledged before the deadline; senders' errors: %r"
                        % (acked_before_kill, [e for s in senders for e in s.errors][:5]))
        rc = self.daemon.kill()
        self.assertEqual(rc, -9)
        stop.set()
        for s in senders:
            s.join(timeout=60)
            self.assertFalse(s.is_alive(), "a sender did not finish after the kill")

        with lock:
            acked = dict(acked)
            unacked = {t: u for t, u in attempted.items() if t not in acked}
        self.assertGreaterEqual(len(acked), KILL_AFTER)
        self.assertLess(len(acked), MESSAGES, "the kill came after the whole run")

        # Restart on the same data dir; the queue is rebuilt from the spool. The rest of the
        # run is sent to the restarted daemon while it recovers.
        self.daemon.start()
        self.port = self.daemon.port("internet")
        rest = [t for t in tokens if t not in attempted]
        acked2, attempted2 = {}, {}
        senders2 = [Sender(self, i, rest[i::CONNECTIONS], acked2, attempted2, lock,
                           threading.Event(), threading.Event()) for i in range(CONNECTIONS)]
        for s in senders2:
            s.start()
        for s in senders2:
            s.join(timeout=RUN_TIMEOUT)
            self.assertFalse(s.is_alive(), "a sender after the restart did not finish")
        self.assertEqual(len(acked2), len(rest),
                         "after the restart, not every message got a 250: %r"
                         % [e for s in senders2 for e in s.errors][:5])
        acked.update(acked2)

        token_re = re.compile(rb"crash\d{3}-\d+-[0-9a-f]{12}")
        sent = set(tokens)

        def count_all():
            # token -> number of Maildir files holding it (each file holds one message)
            counts = {}
            for content in self.daemon.all_delivered_files().values():
                for t in {m.decode() for m in token_re.findall(content)}:
                    if t in sent:
                        counts[t] = counts.get(t, 0) + 1
            return counts

        def all_acked_delivered():
            counts = count_all()
            return counts if all(t in counts for t in acked) else None

        try:
            counts = harness.wait_until(all_acked_delivered, REDELIVERY_TIMEOUT,
                                        "every acknowledged message in its Maildir")
        except AssertionError:
            counts = count_all()
            missing = sorted(t for t in acked if t not in counts)
            self.fail("%d of %d acknowledged messages are missing after the crash, e.g. %r\n%s"
                      % (len(missing), len(acked), missing[:10], self.daemon.stderr_tail()))

        # Each acknowledged message is in the right user's Maildir.
        for t, user in sorted(acked.items())[:50]:
            self.assertTrue(self.daemon.messages_with(user, t), "%s not in %s" % (t, user))

        dups = {t: n for t, n in counts.items() if n > 1}
        unacked_present = sorted(t for t in unacked if t in counts)
        never_sent = MESSAGES - len(attempted) - len(attempted2)
        errors = [e for s in senders for e in s.errors]
        print("\ncrash test: %d acknowledged (%d before the kill, which came after %d; %d after "
              "the restart), all delivered; %d duplicate(s); %d sent without a 250 (%d of them "
              "delivered anyway); %d never attempted"
              % (len(acked), len(acked) - len(acked2), acked_before_kill, len(acked2),
                 len(dups), len(unacked), len(unacked_present), never_sent))
        for e in errors:
            print("  sender stopped: %s" % e)
        for t, n in sorted(dups.items()):
            print("  duplicate: %s delivered %d times" % (t, n))
        for t in sorted(unacked):
            print("  no 250: %s %s" % (t, "delivered" if t in counts else "not delivered"))
        # Nothing is delivered that was never sent.
        self.assertTrue(all(t in attempted or t in attempted2 for t in counts))


if __name__ == "__main__":
    unittest.main()
