# tests/integration/test_bdat.py: CHUNKING (BDAT) against a running sluiced.
# Owns: messages in several chunks with LAST, octet-exact counting (commands inside a chunk
# are data), no dot-stuffing inside chunks, 8-bit bytes arriving intact, a CRLF split across
# two chunks, bad BDAT sizes and sequences, the size limit.
# Not: DATA (test_smtp_basic, test_dotstuffing).
# RFC 3030 §2 (BDAT, LAST, no dot-stuffing, octet counts), §4.2 (replies); RFC 1652 (8BITMIME);
# RFC 1870 (SIZE).

import unittest

import harness
from harness import DOMAIN


def header(token, to):
    return ("From: <s@client.test>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@client.test>"
            "\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" % (to, token, token)).encode()


class BdatTest(harness.DaemonTestCase):

    def start_tx(self, c, rcpt, body="BODY=8BITMIME"):
        self.greet(c)
        self.assertReply(c.cmd("MAIL FROM:<s@client.test> %s" % body), 250)
        self.assertReply(c.cmd("RCPT TO:<%s@%s>" % (rcpt, DOMAIN)), 250)

    def bdat(self, c, chunk, last=False):
        c.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)
        return c.reply()

    def test_several_chunks_binaryish_bytes_intact(self):
        token = harness.unique_token("bdat")
        # Every byte value but NUL, CR and LF (those three have line-ending meaning in a
        # Maildir), in lines, several times over.
        line = bytes(b for b in range(1, 256) if b not in (10, 13))
        body = b"".join(line[i:] + line[:i] + b"\r\n" for i in range(0, 250, 25))
        body += b".\r\n..two dots stay two\r\n.\r\nend\r\n"   # no dot-stuffing in BDAT
        msg = header(token, "alice@" + DOMAIN) + body
        # Chunk boundaries at odd places, one of them between the CR and LF of a line end.
        cr = msg.index(b"\r\n", len(msg) // 2) + 1
        chunks = [msg[:7], msg[7:300], msg[300:cr], msg[cr:-5], msg[-5:]]
        with self.daemon.raw() as c:
            self.start_tx(c, "alice")
            for ch in chunks[:-1]:
                self.assertReply(self.bdat(c, ch), 250)
            r = self.bdat(c, chunks[-1], last=True)
            self.assertReply(r, 250, "2.0.0")
            self.assertIn("queued as", r.text)
            self.assertReply(c.cmd("QUIT"), 221)
        got = self.daemon.wait_for_message("alice", token)
        self.assertEqual(len(got), 1)
        _, _, rest = harness.split_prepended(got[0])
        self.assertEqual(rest, msg.replace(b"\r\n", b"\n"))

    def test_empty_last_chunk(self):
        token = harness.unique_token("bdat0")
        msg = header(token, "bob@" + DOMAIN) + b"hello\r\n"
        with self.daemon.raw() as c:
            self.start_tx(c, "bob")
            self.assertReply(self.bdat(c, msg), 250)
            self.assertReply(self.bdat(c, b"", last=True), 250, "2.0.0")
        got = self.daemon.wait_for_message("bob", token)
        _, _, rest = harness.split_prepended(got[0])
        self.assertEqual(rest, msg.replace(b"\r\n", b"\n"))

    def test_commands_inside_a_chunk_are_data(self):
        # The declared size counts octets exactly: what looks like commands inside the
        # chunk is message content, and nothing is answered until the chunk is complete.
        token = harness.unique_token("bdatexact")
        msg = (header(token, "carol@" + DOMAIN) + b"QUIT\r\nRSET\r\n"
               + b"MAIL FROM:<evil@client.test>\r\n")
        first, second = msg[:-10], msg[-10:]
        with self.daemon.raw() as c:
            self.start_tx(c, "carol")
            c.send(b"BDAT %d LAST\r\n" % len(msg) + first)
            # A short look for a premature answer (none may come: the chunk is incomplete).
            self.assertFalse(c.closed_by_peer(timeout=0.3), "closed with the chunk incomplete")
            self.assertEqual(c.buf, b"", "answered before the chunk was complete")
            c.send(second)
            self.assertReply(c.reply(), 250, "2.0.0")
            self.assertReply(c.cmd("NOOP"), 250)
        got = self.daemon.wait_for_message("carol", token)
        self.assertIn(b"\nQUIT\nRSET\nMAIL FROM:<evil@client.test>\n", got[0])

    def test_bad_bdat_size(self):
        # One bad form per session: sluiced ends a session after a few errors (421), and
        # each form must be refused on its own.
        for bad in ("BDAT", "BDAT abc", "BDAT -5", "BDAT 12x", "BDAT 5 FIRST"):
            with self.subTest(command=bad):
                token = harness.unique_token("bdatafter")
                with self.daemon.raw() as c:
                    self.start_tx(c, "dave")
                    r = c.cmd(bad)
                    self.assertReply(r, 501, msg="%s -> %r" % (bad, r))
                    # The transaction survives the syntax error.
                    msg = header(token, "dave@" + DOMAIN) + b"ok\r\n"
                    self.assertReply(self.bdat(c, msg, last=True), 250, "2.0.0")
                self.daemon.wait_for_message("dave", token)

    def test_bdat_sequence_errors(self):
        with self.daemon.raw() as c:
            self.greet(c)
            # BDAT without a transaction: the chunk is read and discarded, then 503.
            # (VRFY inside it would answer 252 if the chunk were read as commands.)
            self.assertReply(self.bdat(c, b"VRFY x\r\n"), 503, "5.5.1")
            self.assertReply(c.cmd("NOOP"), 250)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<erin@%s>" % DOMAIN), 250)
            self.assertReply(self.bdat(c, b"Subject: x\r\n"), 250)
            # DATA may not follow BDAT in the same transaction (RFC 3030 §2).
            self.assertReply(c.cmd("DATA"), 503, "5.5.1")

    def test_bdat_over_size_limit(self):
        with self.daemon.raw() as c:
            r = self.greet(c)
            limit = next(int(ln.split()[1]) for ln in r.lines[1:]
                         if ln.upper().startswith("SIZE "))
            token = harness.unique_token("bdatbig")
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<frank@%s>" % DOMAIN), 250)
            head = header(token, "frank@" + DOMAIN)
            self.assertReply(self.bdat(c, head), 250)
            filler = (b"y" * 998 + b"\r\n") * (limit // 1000 + 5)
            r = self.bdat(c, filler, last=True)
            self.assertReply(r, 552, "5.3.4")
            self.assertReply(c.cmd("NOOP"), 250)
        # A later message to the same user arrives; the big one never does.
        t2 = harness.unique_token("bdatsmall")
        with self.daemon.raw() as c:
            self.start_tx(c, "frank")
            self.assertReply(self.bdat(c, header(t2, "frank@" + DOMAIN) + b"x\r\n", True), 250)
        self.daemon.wait_for_message("frank", t2)
        self.assertEqual(self.daemon.messages_with("frank", token), [])


if __name__ == "__main__":
    unittest.main()
