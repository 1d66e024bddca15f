# tests/integration/test_pipelining.py: command pipelining over a raw socket.
# Owns: several commands in one write get their replies in order, one reply per command,
# including failures inside a group; input split into single bytes works the same.
# Not: the meaning of each reply (test_smtp_basic), BDAT groups (test_bdat).
# RFC 2920 §3.1 (client groups), §3.2 (server: replies in order, no reply lost); RFC 5321 §4.1.4.

import unittest

import harness
from harness import DOMAIN


class PipeliningTest(harness.DaemonTestCase):

    def test_envelope_group_replies_in_order(self):
        token = harness.unique_token("pipe")
        with self.daemon.raw() as c:
            self.greet(c)
            c.send("MAIL FROM:<s@client.test>\r\n"
                   "RCPT TO:<alice@%s>\r\n"
                   "RCPT TO:<nosuchuser@%s>\r\n"
                   "RCPT TO:<bob@%s>\r\n"
                   "DATA\r\n" % (DOMAIN, DOMAIN, DOMAIN))
            mail, r1, r2, r3, data = c.replies(5)
            self.assertReply(mail, 250)
            self.assertReply(r1, 250)
            self.assertReply(r2, 550, "5.1.1")
            self.assertReply(r3, 250)
            self.assertReply(data, 354)
            # Message end, then a second group in the same write.
            c.send(harness.simple_message(token) + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n")
            queued, rset, noop, quit_ = c.replies(4)
            self.assertReply(queued, 250, "2.0.0")
            self.assertIn("queued as", queued.text)
            self.assertReply(rset, 250)
            self.assertReply(noop, 250)
            self.assertReply(quit_, 221)
            self.assertTrue(c.closed_by_peer())
        self.daemon.wait_for_message("alice", token)
        self.daemon.wait_for_message("bob", token)

    def test_whole_session_in_one_write_after_greeting(self):
        # Not what a conforming client does (it waits for EHLO's and DATA's replies), but a
        # server must still answer every command, in order, exactly once.
        with self.daemon.raw() as c:
            self.assertReply(c.reply(), 220)
            c.send("EHLO client.test\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<carol@%s>\r\n"
                   "RSET\r\nVRFY carol\r\nNOOP\r\nQUIT\r\n" % DOMAIN)
            ehlo, mail, rcpt, rset, vrfy, noop, quit_ = c.replies(7)
            self.assertReply(ehlo, 250)
            self.assertIn("PIPELINING", [ln.split()[0].upper() for ln in ehlo.lines[1:]])
            self.assertReply(mail, 250)
            self.assertReply(rcpt, 250)
            self.assertReply(rset, 250)
            self.assertReply(vrfy, 252)
            self.assertReply(noop, 250)
            self.assertReply(quit_, 221)
            self.assertTrue(c.closed_by_peer())

    def test_no_valid_recipient_then_data(self):
        with self.daemon.raw() as c:
            self.greet(c)
            c.send("MAIL FROM:<s@client.test>\r\nRCPT TO:<nosuchuser@%s>\r\nDATA\r\n" % DOMAIN)
            mail, rcpt, data = c.replies(3)
            self.assertReply(mail, 250)
            self.assertReply(rcpt, 550, "5.1.1")
            # RFC 2920 §3.1: DATA without a valid recipient is refused (503 or 554), so the
            # client's following lines are read as commands again.
            self.assertIn(data.code, (503, 554), data)
            self.assertReply(c.cmd("NOOP"), 250)

    def test_two_transactions_pipelined(self):
        t1 = harness.unique_token("pipe1")
        t2 = harness.unique_token("pipe2")
        with self.daemon.raw() as c:
            self.greet(c)
            c.send("MAIL FROM:<s@client.test>\r\nRCPT TO:<dave@%s>\r\nDATA\r\n" % DOMAIN)
            self.assertEqual([r.code for r in c.replies(3)], [250, 250, 354])
            c.send(harness.simple_message(t1, to="dave@" + DOMAIN) + b".\r\n"
                   + ("MAIL FROM:<s@client.test>\r\nRCPT TO:<erin@%s>\r\nDATA\r\n"
                      % DOMAIN).encode())
            queued1, mail, rcpt, data = c.replies(4)
            self.assertReply(queued1, 250, "2.0.0")
            self.assertReply(mail, 250)
            self.assertReply(rcpt, 250)
            self.assertReply(data, 354)
            c.send(harness.simple_message(t2, to="erin@" + DOMAIN) + b".\r\nQUIT\r\n")
            queued2, quit_ = c.replies(2)
            self.assertReply(queued2, 250, "2.0.0")
            self.assertNotEqual(queued1.text, queued2.text, "two messages, two queue ids")
            self.assertReply(quit_, 221)
        self.daemon.wait_for_message("dave", t1)
        self.daemon.wait_for_message("erin", t2)
        self.assertEqual(self.daemon.messages_with("erin", t1), [])
        self.assertEqual(self.daemon.messages_with("dave", t2), [])

    def test_byte_at_a_time(self):
        token = harness.unique_token("bytewise")
        with self.daemon.raw() as c:
            self.assertReply(c.reply(), 220)
            for b in b"EHLO client.test\r\n":
                c.send(bytes([b]))
            self.assertReply(c.reply(), 250)
            for b in ("MAIL FROM:<s@client.test>\r\nRCPT TO:<frank@%s>\r\nDATA\r\n"
                      % DOMAIN).encode():
                c.send(bytes([b]))
            self.assertEqual([r.code for r in c.replies(3)], [250, 250, 354])
            for b in harness.simple_message(token, to="frank@" + DOMAIN) + b".\r\n":
                c.send(bytes([b]))
            self.assertReply(c.reply(), 250, "2.0.0")
        self.daemon.wait_for_message("frank", token)


if __name__ == "__main__":
    unittest.main()
