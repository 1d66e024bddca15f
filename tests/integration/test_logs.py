# tests/integration/test_logs.py: the protocol log and the message tracking log.
# Owns: one SMTP session's protocol log rows (+, >220, <EHLO, ..., -) with their fields,
# sequence numbers, endpoints and connector; the file names and the '#' header; tracking
# RECEIVE and DELIVER per recipient carrying the queue id, Message-ID, sender, client IP,
# connector and size.
# Not: log rotation and retention (unit tests in tests/unit/log).
# Exchange protocol log and message tracking conventions (docs/ecosystem.md §2a, §2b);
# RFC 5321 §4.2 (what a reply line is).

import re
import unittest

import harness
from harness import DOMAIN, HOSTNAME

FIELDS = ("#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,"
          "remote-endpoint,event,data,context")
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class LogsTest(harness.DaemonTestCase):

    def run_session(self, token, rcpts):
        with self.daemon.raw("internet") as c:
            port = c.local_port()
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<sender@client.test>"), 250)
            for r in rcpts:
                self.assertReply(c.cmd("RCPT TO:<%s>" % r), 250)
            self.assertReply(c.cmd("DATA"), 354)
            msg = harness.simple_message(token, sender="sender@client.test", to=rcpts[0])
            c.send(msg + b".\r\n")
            queued = c.reply()
            self.assertReply(queued, 250, "2.0.0")
            qid = queued.lines[0].rsplit(" ", 1)[1]
            self.assertReply(c.cmd("QUIT"), 221)
            self.assertTrue(c.closed_by_peer())
        return port, qid, len(msg)

    def session_rows(self, client_port):
        rows = self.daemon.protocol_log()
        return [r for r in rows if len(r) >= 6 and r[5].endswith(":%d" % client_port)]

    def test_protocol_log_of_a_session(self):
        token = harness.unique_token("plog")
        port, qid, _ = self.run_session(token, ["alice@" + DOMAIN])
        rows = harness.wait_until(
            lambda: (lambda rs: rs if rs and rs[-1][6] == "-" else None)(self.session_rows(port)),
            harness.LOG_TIMEOUT, "the session's protocol log rows ending in '-'")

        for r in rows:
            self.assertEqual(len(r), 9, r)
            self.assertRegex(r[0], DATE_TIME)
            self.assertIn("internet", r[1], r)
        # One session id, sequence numbers 0, 1, 2, ...
        self.assertEqual(len({r[2] for r in rows}), 1, rows)
        self.assertRegex(rows[0][2], r"^[0-9A-F]{16}$")
        self.assertEqual([int(r[3]) for r in rows], list(range(len(rows))))
        self.assertEqual(rows[0][4], "127.0.0.1:%d" % self.daemon.port("internet"))
        self.assertEqual(rows[0][5], "127.0.0.1:%d" % port)

        events = [(r[6], r[7]) for r in rows]
        self.assertEqual(events[0][0], "+")
        self.assertEqual(events[-1][0], "-")
        sent = [d for e, d in events if e == ">"]
        received = [d for e, d in events if e == "<"]
        self.assertTrue(sent[0].startswith("220 %s ESMTP sluice" % HOSTNAME), sent)
        self.assertEqual(received[:3], ["EHLO client.test", "MAIL FROM:<sender@client.test>",
                                        "RCPT TO:<alice@%s>" % DOMAIN])
        self.assertIn("DATA", received)
        self.assertEqual(received[-1], "QUIT")
        self.assertTrue(any(d.startswith("354") for d in sent), sent)
        self.assertIn("250 2.0.0 Ok: queued as %s" % qid, sent)
        self.assertTrue(sent[-1].startswith("221"), sent)
        # Order: the greeting before EHLO, the queued reply before QUIT.
        flat = [e + d for e, d in events]
        self.assertLess(flat.index(">" + sent[0]), flat.index("<EHLO client.test"))
        self.assertLess(flat.index(">250 2.0.0 Ok: queued as %s" % qid), flat.index("<QUIT"))
        # The message content is not a protocol event.
        self.assertFalse(any(token in d for e, d in events if e in "<>"), events)

    def test_protocol_log_files_and_header(self):
        self.run_session(harness.unique_token("plogh"), ["bob@" + DOMAIN])
        headers = harness.wait_until(self.daemon.protocol_log_headers, harness.LOG_TIMEOUT,
                                     "a RECV*.LOG file")
        files = self.daemon._log_files("protocol", "RECV")
        for p in files:
            self.assertRegex(p.rsplit("/", 1)[1], r"^RECV\d{8}-\d+\.LOG$")
        for h in headers:
            self.assertTrue(any(line.startswith("#Software:") for line in h), h)
            self.assertTrue(any(line.startswith("#Log-type:") for line in h), h)
            self.assertTrue(any(line.startswith("#Date:") for line in h), h)
            self.assertIn(FIELDS, h)

    def test_tracking_receive_and_deliver_per_recipient(self):
        token = harness.unique_token("trk")
        rcpts = ["carol@" + DOMAIN, "dave@" + DOMAIN]
        _, qid, size = self.run_session(token, rcpts)
        self.daemon.wait_for_message("carol", token)
        self.daemon.wait_for_message("dave", token)

        def mine():
            return [r for r in self.daemon.tracking_log()
                    if qid in str(r.get("internal-message-id", ""))]

        def complete():
            recs = mine()
            seen = {"RECEIVE": set(), "DELIVER": set()}
            for r in recs:
                if r.get("event-id") in seen:
                    seen[r["event-id"]] |= set(addresses(r))
            if all(set(rcpts) <= v for v in seen.values()):
                return recs
            return None
        recs = harness.wait_until(complete, harness.LOG_TIMEOUT,
                                  "RECEIVE and DELIVER(carol, dave) for " + qid)

        # RECEIVE, like DELIVER, is one record per recipient.
        receive = [r for r in recs if r["event-id"] == "RECEIVE"]
        self.assertEqual(sorted(a for r in receive for a in addresses(r)), sorted(rcpts), recs)
        for rec in receive:
            self.assertEqual(rec["internal-message-id"], qid)
            self.assertEqual(rec["message-id"].strip("<>"), "%s@client.test" % token)
            self.assertEqual(rec["sender-address"], "sender@client.test")
            self.assertEqual(rec["client-ip"], "127.0.0.1")
            self.assertIn("internet", rec["connector-id"])
            self.assertGreaterEqual(int(rec["total-bytes"]), size)

        delivers = [r for r in recs if r["event-id"] == "DELIVER"]
        per_rcpt = {}
        for d in delivers:
            self.assertEqual(d["internal-message-id"], qid)
            self.assertEqual(d["message-id"].strip("<>"), "%s@client.test" % token)
            self.assertEqual(d["sender-address"], "sender@client.test")
            for a in addresses(d):
                per_rcpt[a] = per_rcpt.get(a, 0) + 1
            status = d.get("recipient-status", "")
            for st in (status if isinstance(status, list) else [status]):
                self.assertTrue(str(st).startswith("250"), d)
        self.assertEqual(per_rcpt, {r: 1 for r in rcpts})


def addresses(rec):
    a = rec.get("recipient-address", [])
    if isinstance(a, list):
        return [x.lower() for x in a]
    return [x.strip().lower() for x in str(a).split(";") if x.strip()]


if __name__ == "__main__":
    unittest.main()
