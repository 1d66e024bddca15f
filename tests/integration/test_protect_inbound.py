# tests/integration/test_protect_inbound.py: inbound protection against a real sluiced (issue 8)
# — a DNS blocklist served by tests/tools/dns_server.py that lists 127.0.0.2 and not 127.0.0.1
# (the client socket is bound to 127.0.0.2 to connect from a listed address), greylisting
# refused / retried after the configured delay / then passed directly, and each rate limit
# reached with its exact reply.
# Not: the per-user message rate (needs AUTH over TLS; covered by tests/unit/policy).

import shutil
import socket
import tempfile
import unittest

import harness
from harness import DOMAIN

BL_ZONE = "bl.example-bl.test"
BL_TEXT = "Listed by example-bl, see https://bl.example-bl.test/q?127.0.0.2"


def client_from(daemon, source_ip, connector="internet", timeout=30.0):
    """A harness.RawClient whose socket is bound to `source_ip` (any 127/8 address works on
    loopback), so the daemon sees that client address."""
    c = harness.RawClient.__new__(harness.RawClient)
    c.sock = socket.create_connection(("127.0.0.1", daemon.port(connector)), timeout=timeout,
                                      source_address=(source_ip, 0))
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.timeout = timeout
    c.buf = b""
    c.transcript = []
    return c


def extra_connector(name, usage="internet"):
    return ('[[receive_connector]]\nname = "%s"\nlisten = ["127.0.0.1:0"]\nusage = "%s"\n\n'
            % (name, usage))


class DnsblTest(harness.DaemonTestCase):
    ZONE = (
        "2.0.0.127.%s A 127.0.0.2\n"
        "2.0.0.127.%s TXT \"%s\"\n" % (BL_ZONE, BL_ZONE, BL_TEXT))

    @classmethod
    def setUpClass(cls):
        cls.peer_root = tempfile.mkdtemp(prefix="sluice-protect-dns-")
        cls.dns = harness.DnsServer(cls.peer_root, cls.ZONE).start()
        try:
            super().setUpClass()
        except BaseException:
            cls.dns.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.dns.stop()
            shutil.rmtree(cls.peer_root, ignore_errors=True)

    @classmethod
    def make_config(cls):
        cfg = harness.Config()
        cfg.dns_servers = [cls.dns.address]
        cfg.extra = ('[[dnsbl]]\nzone = "%s"\ncodes = { "127.0.0.2" = "spam source" }\n'
                     'connectors = ["internet"]\n' % BL_ZONE)
        return cfg

    def test_listed_client_is_refused_with_the_zones_text(self):
        with client_from(self.daemon, "127.0.0.2") as c:
            r = c.reply()
            self.assertReply(r, 554, "5.7.1")
            self.assertEqual(r.text, "5.7.1 Service unavailable; client [127.0.0.2] blocked using %s: %s"
                             % (BL_ZONE, BL_TEXT))
            self.assertTrue(c.closed_by_peer(), "the connection stays open after the refusal")

    def test_unlisted_client_gets_its_mail_delivered(self):
        token = harness.unique_token("dnsbl")
        with client_from(self.daemon, "127.0.0.1") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<sender@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<alice@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.simple_message(token) + b".\r\n")
            self.assertReply(c.reply(), 250)
        self.daemon.wait_for_message("alice", token)

    def test_connectors_without_the_zone_do_not_query_it(self):
        # "apps" (usage relay) is not in the zone's connectors: a listed address is served.
        with client_from(self.daemon, "127.0.0.2", connector="apps") as c:
            self.assertReply(c.reply(), 220)

    def test_refusal_is_in_the_protocol_log(self):
        with client_from(self.daemon, "127.0.0.2") as c:
            c.reply()
        harness.wait_until(
            lambda: any("blocked using " + BL_ZONE in field
                        for row in self.daemon.protocol_log() for field in row),
            harness.LOG_TIMEOUT, "the refusal in the protocol log")


class GreylistTest(harness.DaemonTestCase):
    DELAY = 2

    @classmethod
    def make_config(cls):
        cfg = harness.Config()
        cfg.extra = '[greylist]\ndelay = "%ds"\nlifetime = "1h"\nconnectors = ["internet"]\n' % cls.DELAY
        return cfg

    def transaction(self, sender, rcpt, token=None):
        """One transaction; returns the RCPT reply (and sends the message when accepted)."""
        with client_from(self.daemon, "127.0.0.1") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<%s>" % sender), 250)
            r = c.cmd("RCPT TO:<%s>" % rcpt)
            if r.code == 250 and token:
                self.assertReply(c.cmd("DATA"), 354)
                c.send(harness.simple_message(token, sender=sender, to=rcpt) + b".\r\n")
                self.assertReply(c.reply(), 250)
            c.cmd("QUIT")
            return r

    def test_refused_then_accepted_after_the_delay_then_passed_directly(self):
        sender, rcpt = "grey@client.test", "bob@" + DOMAIN
        first = self.transaction(sender, rcpt)
        self.assertReply(first, 451, "4.7.1")
        self.assertEqual(first.text, "4.7.1 Greylisted, try again in %d seconds" % self.DELAY)
        # Retried like an MTA: refused until the delay has passed, then accepted.
        token = harness.unique_token("grey")
        accepted = []

        def retry():
            r = self.transaction(sender, rcpt, token)
            if r.code == 250:
                accepted.append(r)
                return True
            self.assertReply(r, 451, "4.7.1")
            return False

        harness.wait_until(retry, 30.0, "the retry after the greylisting delay", interval=0.5)
        self.daemon.wait_for_message("bob", token)
        # Now the triplet passes directly, and so does a new one from this client (auto-pass).
        self.assertReply(self.transaction(sender, rcpt), 250, "2.1.5")
        self.assertReply(self.transaction("other@client.test", "carol@" + DOMAIN), 250, "2.1.5")

    def test_relay_connector_is_not_greylisted(self):
        with client_from(self.daemon, "127.0.0.1", connector="apps") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<app@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<dave@%s>" % DOMAIN), 250)


class RateLimitTest(harness.DaemonTestCase):
    @classmethod
    def make_config(cls):
        cfg = harness.Config()
        cfg.extra = (
            extra_connector("conn-limited") + extra_connector("msg-limited") +
            extra_connector("sender-limited") + extra_connector("rcpt-limited") +
            '[[rate_limit]]\nconnector = "conn-limited"\nconnections_per_minute_per_ip = 2\n\n'
            '[[rate_limit]]\nconnector = "msg-limited"\nmessages_per_minute_per_ip = 2\n\n'
            '[[rate_limit]]\nconnector = "sender-limited"\nmessages_per_minute_per_sender = 1\n\n'
            '[[rate_limit]]\nconnector = "rcpt-limited"\nrecipients_per_message = 2\n\n')
        return cfg

    def test_connection_rate_per_address(self):
        for _ in range(2):
            with self.daemon.raw("conn-limited") as c:
                self.assertReply(c.reply(), 220)
        with self.daemon.raw("conn-limited") as c:
            r = c.reply()
            self.assertReply(r, 421, "4.7.0")
            self.assertEqual(r.text, "4.7.0 Too many connections from [127.0.0.1]: connection rate limit of 2 per "
                                     "minute reached on connector conn-limited, try again later")
            self.assertTrue(c.closed_by_peer())
        # Another source address has its own count.
        with client_from(self.daemon, "127.0.0.3", connector="conn-limited") as c:
            self.assertReply(c.reply(), 220)

    def test_message_rate_per_address(self):
        with self.daemon.raw("msg-limited") as c:
            self.greet(c)
            for i in range(2):
                self.assertReply(c.cmd("MAIL FROM:<m%d@client.test>" % i), 250)
                self.assertReply(c.cmd("RSET"), 250)
            r = c.cmd("MAIL FROM:<m9@client.test>")
            self.assertReply(r, 451, "4.7.1")
            self.assertEqual(r.text, "4.7.1 Message rate limit of 2 per minute reached for client [127.0.0.1] on "
                                     "connector msg-limited, try again later")

    def test_message_rate_per_sender(self):
        with self.daemon.raw("sender-limited") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<busy@client.test>"), 250)
            self.assertReply(c.cmd("RSET"), 250)
            r = c.cmd("MAIL FROM:<Busy@client.test>")
            self.assertReply(r, 451, "4.7.1")
            self.assertEqual(r.text, "4.7.1 Message rate limit of 1 per minute reached for sender <Busy@client.test> "
                                     "on connector sender-limited, try again later")
            self.assertReply(c.cmd("MAIL FROM:<quiet@client.test>"), 250)

    def test_recipients_per_message(self):
        with self.daemon.raw("rcpt-limited") as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<alice@%s>" % DOMAIN), 250)
            self.assertReply(c.cmd("RCPT TO:<bob@%s>" % DOMAIN), 250)
            r = c.cmd("RCPT TO:<carol@%s>" % DOMAIN)
            self.assertReply(r, 452, "4.5.3")
            self.assertEqual(r.text, "4.5.3 Too many recipients: limit of 2 per message on connector rcpt-limited")


if __name__ == "__main__":
    unittest.main()
