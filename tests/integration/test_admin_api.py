# tests/integration/test_admin_api.py: the admin API of a real sluiced (issue 6).
# Owns: the token (401 without it, the file made 0600), a 451 peer's reply as the LastError
# of the queue and the message (and in the message's attempts and its transcript), suspend stopping deliveries
# and resume restarting them, retry delivering at once after the peer is fixed, remove with
# ndr=1 producing a DSN to the sender, export as .eml, tracking search, and /metrics parsed
# by Prometheus' own text parser with counters moving as mail flows.
# Not: the CLI over this API (test_cli6_*), the JSON shapes in detail (unit tests).
# RFC 6750 §2.1 (bearer token), RFC 3464 (the NDR), Prometheus text format 0.0.4.

import json
import os
import stat
import time
import unittest
import urllib.error
import urllib.request

import harness
from harness import DOMAIN

ZONE = """
stuck.test          MX  10 mx.stuck.test
mx.stuck.test       A   127.0.0.2
"""

GREYLIST = "451 4.7.1 Greylisted, please try again later"


class AdminApiTest(harness.OutboundTestCase):
    ZONE = ZONE
    # Long enough that nothing is retried by itself while a test looks: retries come from the API.
    QUEUE = {"retry": ["1h"]}
    PEERS = {"mx": (["127.0.0.2"], {"*": {}}, False)}

    @classmethod
    def configure(cls, cfg):
        super().configure(cfg)
        cfg.extra += '\n[admin]\nlisten = "127.0.0.1:0"\n'

    @property
    def peer(self):
        return self.peers["mx"]

    def setUp(self):
        self.peer.set_behaviours({"*": {"rcpt_reply": GREYLIST}})

    def tearDown(self):
        self.peer.set_behaviours({"*": {}})

    # -- HTTP ------------------------------------------------------------------------------

    def token(self):
        with open(os.path.join(self.daemon.var, "admin.token"), encoding="ascii") as f:
            return f.read().strip()

    def call(self, method, path, token=True, raw=False):
        url = "http://127.0.0.1:%d%s" % (self.daemon.port("admin"), path)
        req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        if token:
            req.add_header("Authorization", "Bearer " + self.token())
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                body = r.read()
                return r.status, (body if raw else json.loads(body))
        except urllib.error.HTTPError as e:
            body = e.read()
            return e.code, (body if raw else json.loads(body))

    def ok(self, method, path, raw=False):
        status, body = self.call(method, path, raw=raw)
        self.assertEqual(status, 200, body)
        return body

    def stuck_message(self, token):
        """Submits a message to the greylisting peer and waits for its DEFER; returns its id."""
        before = len(self.daemon.tracking("DEFER", "bob@stuck.test"))
        self.submit(token, ["bob@stuck.test"])
        defer = self.daemon.wait_tracking("DEFER", "bob@stuck.test", count=before + 1)
        qid = defer[-1]["internal-message-id"]
        ids = [m["queue_id"] for m in self.ok("GET", "/api/v1/messages?to=bob@stuck.test&status=Retry")]
        self.assertIn(qid, ids, "the deferred message is in the queue view")
        return qid

    def wait_sent(self, count, timeout=harness.DELIVERY_TIMEOUT):
        return self.daemon.wait_tracking("SEND", "bob@stuck.test", count=count, timeout=timeout)

    # -- tests -----------------------------------------------------------------------------

    def test_1_token_is_required_and_kept_private(self):
        status, body = self.call("GET", "/api/v1/queues", token=False)
        self.assertEqual(status, 401)
        self.assertIn("admin.token", body["error"]["message"])
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % self.daemon.port("admin"))
        req.add_header("Authorization", "Bearer not-the-token-not-the-token-xx")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        self.assertEqual(e.exception.code, 401)
        mode = os.stat(os.path.join(self.daemon.var, "admin.token")).st_mode
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        self.assertIn("hostname", self.ok("GET", "/api/v1/status"))

    def test_2_last_error_of_a_451_peer_is_visible(self):
        token = harness.unique_token("stuck")
        qid = self.stuck_message(token)
        queues = {q["identity"]: q for q in self.ok("GET", "/api/v1/queues")}
        self.assertIn("stuck.test", queues)
        m = self.ok("GET", "/api/v1/messages/" + qid)
        self.assertEqual(m["last_error"], GREYLIST)
        self.assertEqual(m["status"], "Retry")
        self.assertEqual(m["recipients"][0]["last_reply"], GREYLIST)
        self.assertTrue(m["attempts"], m)
        self.assertEqual(m["attempts"][-1]["reply"], GREYLIST)
        self.assertEqual(m["attempts"][-1]["remote_ip"], "127.0.0.2")
        self.assertTrue(any(h["name"].lower() == "subject" for h in m["headers"]), m["headers"])
        # The conversation of the failed attempt, from the SEND protocol log (flushed every second).
        def transcript():
            t = self.ok("GET", "/api/v1/messages/" + qid)["last_failed_transcript"]
            return t if t and any(GREYLIST in line for line in t["lines"]) else None
        harness.wait_until(transcript, 10, "the transcript of the failed attempt")
        lines = transcript()["lines"]
        self.assertTrue(any(" C: RCPT TO:<bob@stuck.test>" in line for line in lines), lines)
        eml = self.ok("GET", "/api/v1/messages/%s/export" % qid, raw=True)
        self.assertIn(token.encode(), eml)
        found = self.ok("GET", "/api/v1/track?queue_id=%s&event=DEFER" % qid)
        self.assertTrue(found and all(r["event-id"] == "DEFER" for r in found), found)
        self.ok("POST", "/api/v1/messages/%s/remove" % qid)

    def test_3_suspend_stops_deliveries_and_resume_restarts_them(self):
        token = harness.unique_token("susp")
        qid = self.stuck_message(token)
        sent_before = len(self.daemon.tracking("SEND", "bob@stuck.test"))
        self.peer.set_behaviours({"*": {}})
        self.ok("POST", "/api/v1/queues/stuck.test/suspend")
        queues = {q["identity"]: q for q in self.ok("GET", "/api/v1/queues")}
        self.assertEqual(queues["stuck.test"]["status"], "Suspended")
        self.ok("POST", "/api/v1/messages/%s/retry" % qid)  # due now, but the queue is held
        time.sleep(1.5)  # a window in which a delivery would have happened
        self.assertEqual(self.peer.received_with(token), [])
        self.ok("POST", "/api/v1/queues/stuck.test/resume")
        self.peer.wait_for(token)
        self.wait_sent(sent_before + 1)
        status, _ = self.call("GET", "/api/v1/messages/" + qid)
        self.assertEqual(status, 404)

    def test_4_retry_delivers_after_the_peer_is_fixed(self):
        token = harness.unique_token("retry")
        qid = self.stuck_message(token)
        sent_before = len(self.daemon.tracking("SEND", "bob@stuck.test"))
        self.peer.set_behaviours({"*": {}})
        self.ok("POST", "/api/v1/messages/%s/retry" % qid)
        self.peer.wait_for(token)
        self.wait_sent(sent_before + 1)

    def test_5_remove_with_ndr_sends_a_dsn(self):
        token = harness.unique_token("ndr")
        qid = self.stuck_message(token)
        r = self.ok("POST", "/api/v1/messages/%s/remove?ndr=1" % qid)
        self.assertTrue(r["ndr"])
        dsn = self.bounces(token=token)[0]
        report = harness.dsn_report(dsn).recipient("bob@stuck.test")
        self.assertEqual(report["action"], "failed")
        self.assertIn("removed from the queue by an administrator", report["diagnostic-code"])
        status, _ = self.call("GET", "/api/v1/messages/" + qid)
        self.assertEqual(status, 404)

    def test_6_metrics_parse_and_counters_move(self):
        from prometheus_client.parser import text_string_to_metric_families

        def samples():
            text = self.ok("GET", "/metrics", raw=True).decode()
            out = {}
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    key = (s.name, tuple(sorted(s.labels.items())))
                    out[key] = s.value
            return out

        def value(sm, name, **labels):
            return sm.get((name, tuple(sorted(labels.items()))), 0)

        before = samples()
        token = harness.unique_token("metrics")
        self.peer.set_behaviours({"*": {}})
        self.submit(token, ["bob@stuck.test"])
        self.peer.wait_for(token)
        harness.wait_until(lambda: value(samples(), "sluice_recipients_delivered_total", connector="internet")
                           > value(before, "sluice_recipients_delivered_total", connector="internet"),
                           10, "the delivered counter to move")
        after = samples()
        self.assertEqual(value(after, "sluice_messages_received_total", connector="apps"),
                         value(before, "sluice_messages_received_total", connector="apps") + 1)
        self.assertGreater(value(after, "sluice_spool_commit_duration_seconds_count"),
                           value(before, "sluice_spool_commit_duration_seconds_count"))
        self.assertGreater(value(after, "sluice_delivery_delay_seconds_count", connector="internet"), 0)
        self.assertTrue(any(n == "sluice_queue_messages" and ("queue", "stuck.test") in l for (n, l) in after),
                        "a gauge per queue")
        # A refusal counts by connector and class: relaying from the internet connector.
        with self.daemon.raw("internet") as c:
            c.reply()
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<x@client.test>")
            self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.test>").code // 100, 5)
        rejected = samples()
        self.assertGreater(sum(v for (n, l), v in rejected.items()
                               if n == "sluice_smtpd_messages_rejected_total" and ("connector", "internet") in l
                               and ("class", "5xx") in l), 0)


if __name__ == "__main__":
    unittest.main()
