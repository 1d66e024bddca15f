# tests/integration/test_aliases.py: aliases(5) expansion at delivery.
# Owns: an alias to two users delivers one copy to each; postmaster (any case, with the
# domain and as the bare <Postmaster> RFC 5321 requires) reaches its alias target; an
# alias and its target both named in one transaction deliver once per mailbox; nested
# aliases; a comment and a continuation line in the aliases file.
# Not: the aliases parser (unit tests in tests/unit/routing).
# RFC 5321 §4.1.1.3 (<Postmaster> without a domain), §4.5.1 (postmaster required);
# aliases(5) (Postfix) for the file format.

import unittest

import harness
from harness import DOMAIN


class AliasesTest(harness.DaemonTestCase):

    @classmethod
    def make_config(cls):
        cfg = harness.Config()
        cfg.aliases["ops"] = ["team", "carol"]          # nested: team -> alice, bob
        # A comment, a blank line and a continuation line (leading whitespace).
        cfg.aliases_extra = "# ops staff\n\nfolded: dave,\n    erin\n"
        return cfg

    def send(self, rcpts, token):
        with self.daemon.smtp() as s:
            refused = s.sendmail("s@client.test", rcpts, harness.simple_message(token))
        self.assertEqual(refused, {})

    def test_alias_to_two_users(self):
        token = harness.unique_token("team")
        self.send(["team@" + DOMAIN], token)
        self.assertEqual(len(self.daemon.wait_for_message("alice", token)), 1)
        self.assertEqual(len(self.daemon.wait_for_message("bob", token)), 1)
        self.assertEqual(len(self.daemon.files_containing(token)), 2)
        # Each copy says which mailbox it was delivered to.
        alice = self.daemon.messages_with("alice", token)[0]
        bob = self.daemon.messages_with("bob", token)[0]
        self.assertIn(("Delivered-To: alice@" + DOMAIN).encode(), alice)
        self.assertIn(("Delivered-To: bob@" + DOMAIN).encode(), bob)

    def test_postmaster(self):
        for rcpt in ("postmaster@" + DOMAIN, "PostMaster@" + DOMAIN):
            with self.subTest(rcpt=rcpt):
                token = harness.unique_token("pm")
                self.send([rcpt], token)
                self.assertEqual(len(self.daemon.wait_for_message("alice", token)), 1)

    def test_bare_postmaster(self):
        token = harness.unique_token("barepm")
        with self.daemon.raw() as c:
            self.greet(c)
            self.assertReply(c.cmd("MAIL FROM:<s@client.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<Postmaster>"), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.simple_message(token, to="Postmaster") + b".\r\n")
            self.assertReply(c.reply(), 250, "2.0.0")
        self.assertEqual(len(self.daemon.wait_for_message("alice", token)), 1)

    def test_alias_and_member_once_per_mailbox(self):
        token = harness.unique_token("dedupe")
        self.send(["team@" + DOMAIN, "alice@" + DOMAIN], token)
        self.daemon.wait_for_message("bob", token)
        self.daemon.wait_for_message("alice", token)
        # Wait for a later message before concluding that no second copy comes.
        later = harness.unique_token("dedupe-later")
        self.send(["alice@" + DOMAIN], later)
        self.daemon.wait_for_message("alice", later)
        self.assertEqual(len(self.daemon.messages_with("alice", token)), 1)

    def test_nested_alias(self):
        token = harness.unique_token("nested")
        self.send(["ops@" + DOMAIN], token)
        for u in ("alice", "bob", "carol"):
            self.assertEqual(len(self.daemon.wait_for_message(u, token)), 1, u)

    def test_continuation_line(self):
        token = harness.unique_token("folded")
        self.send(["folded@" + DOMAIN], token)
        for u in ("dave", "erin"):
            self.assertEqual(len(self.daemon.wait_for_message(u, token)), 1, u)


if __name__ == "__main__":
    unittest.main()
