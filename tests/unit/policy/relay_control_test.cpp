// Tests for policy/relay_control.cpp against a real routing::LocalDirectory, with every
// recipient parsed by smtp::parse_rcpt_to as the session parses it: local users, unknown
// users (550 5.1.1), relaying (550 5.7.1 unless the connector may relay), the open-relay
// tricks of RFC 5321 §3.6.1/§C and RFC 1123 §5.2.16 (refused even on a relay connector),
// postmaster (RFC 5321 §4.5.1), aliases, domain case, and queue ids.
#include "policy/relay_control.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "base/clock.hpp"
#include "smtp/esmtp_params.hpp"

namespace sluice::policy {
namespace {

routing::Aliases aliases(std::string_view text) {
  auto r = routing::Aliases::parse(text, "aliases");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().context);
  return r ? std::move(*r) : routing::Aliases{};
}

class RelayControlTest : public ::testing::Test {
 protected:
  RelayControlTest()
      : directory_({"example.test", "Second.Test"}, {"alice@example.test", "bob@second.test"},
                   aliases("team: alice, bob@second.test\n")),
        clock_(SystemTime(std::chrono::seconds(1'700'000'000))),
        ids_(clock_, 3) {}

  // The reply to "RCPT TO:<argument>" on a connector that may (or may not) relay; nullopt
  // means accepted.
  std::optional<Reply> rcpt(std::string_view argument, bool may_relay = false) {
    auto args = smtp::parse_rcpt_to(argument, /*smtputf8=*/false);
    EXPECT_TRUE(args.has_value()) << argument << ": " << (args ? "" : args.error().message());
    if (!args) return Reply(501, "5.5.4", "unparsable in test");
    RelayControl policy(directory_, may_relay, ids_);
    return policy.check_rcpt(*args, envelope_);
  }

  static void expect_refused(const std::optional<Reply>& reply, int code, const std::string& enhanced,
                             std::string_view text_part) {
    ASSERT_TRUE(reply.has_value()) << "expected " << code << " " << enhanced << ", got acceptance";
    EXPECT_EQ(reply->code(), code) << reply->text();
    EXPECT_EQ(reply->enhanced(), enhanced) << reply->text();
    EXPECT_NE(reply->text().find(text_part), std::string::npos) << reply->text();
  }

  routing::LocalDirectory directory_;
  ManualClock clock_;
  QueueIdGenerator ids_;
  smtp::Envelope envelope_;
};

TEST_F(RelayControlTest, LocalUserIsAccepted) {
  EXPECT_EQ(rcpt("TO:<alice@example.test>"), std::nullopt);
  EXPECT_EQ(rcpt("TO:<bob@second.test>"), std::nullopt);
  EXPECT_EQ(rcpt("TO:<\"alice\"@example.test>"), std::nullopt);  // quoting a plain local part changes nothing
}

TEST_F(RelayControlTest, UnknownLocalUserIsRefusedAs511) {
  const auto reply = rcpt("TO:<zed@example.test>");
  expect_refused(reply, 550, "5.1.1", "User unknown");
  EXPECT_NE(reply->text().find("<zed@example.test>"), std::string::npos) << reply->text();
  // Users are per domain: alice has no mailbox in second.test.
  expect_refused(rcpt("TO:<alice@second.test>"), 550, "5.1.1", "User unknown");
  // A relay connector does not make an unknown local user known.
  expect_refused(rcpt("TO:<zed@example.test>", /*may_relay=*/true), 550, "5.1.1", "User unknown");
}

TEST_F(RelayControlTest, ForeignDomainIsRefusedUnlessTheConnectorMayRelay) {
  const auto reply = rcpt("TO:<someone@other.example>");
  expect_refused(reply, 550, "5.7.1", "Relay access denied");
  EXPECT_NE(reply->text().find("<someone@other.example>"), std::string::npos) << reply->text();
  EXPECT_EQ(rcpt("TO:<someone@other.example>", /*may_relay=*/true), std::nullopt);
  // A subdomain of an accepted domain is not accepted.
  expect_refused(rcpt("TO:<alice@sub.example.test>"), 550, "5.7.1", "Relay access denied");
  // Nor is an address literal, even of ourselves.
  expect_refused(rcpt("TO:<alice@[192.0.2.1]>"), 550, "5.7.1", "Relay access denied");
}

TEST_F(RelayControlTest, AuthenticatedClientMayRelayButNotUseTricks) {
  envelope_.auth_user = "alice@example.test";
  EXPECT_EQ(rcpt("TO:<someone@elsewhere.test>"), std::nullopt);
  // Local recipients are still checked, and the routing tricks stay refused.
  expect_refused(rcpt("TO:<nobody@example.test>"), 550, "5.1.1", "User unknown");
  expect_refused(rcpt("TO:<a%b@elsewhere.test>"), 550, "5.7.1", "Relay access denied");
  envelope_.auth_user.clear();
  expect_refused(rcpt("TO:<someone@elsewhere.test>"), 550, "5.7.1", "Relay access denied");
}

TEST_F(RelayControlTest, PercentHackIsRefused) {
  expect_refused(rcpt("TO:<user%other.example@example.test>"), 550, "5.7.1", "Relay access denied");
  // Even when the part before '%' names a real user, and on a relay connector.
  expect_refused(rcpt("TO:<alice%other.example@example.test>"), 550, "5.7.1", "routing characters");
  expect_refused(rcpt("TO:<alice%other.example@example.test>", true), 550, "5.7.1", "routing characters");
}

TEST_F(RelayControlTest, QuotedAddressInTheLocalPartIsRefused) {
  expect_refused(rcpt("TO:<\"user@other.example\"@example.test>"), 550, "5.7.1", "Relay access denied");
  expect_refused(rcpt("TO:<\"alice@other.example\"@example.test>"), 550, "5.7.1", "routing characters");
}

TEST_F(RelayControlTest, SourceRouteIsRefusedEvenOnARelayConnector) {
  // RFC 5321 §C: the A-d-l parses, but we never honour it (it would relay through us to
  // other.example while looking like mail for our own domain).
  expect_refused(rcpt("TO:<@example.test:user@other.example>"), 550, "5.7.1", "source routes");
  expect_refused(rcpt("TO:<@example.test:user@other.example>", /*may_relay=*/true), 550, "5.7.1",
                 "source routes");
  // Pointing at a local user does not make it acceptable either.
  expect_refused(rcpt("TO:<@other.example:alice@example.test>"), 550, "5.7.1", "source routes");
}

TEST_F(RelayControlTest, BangPathIsRefused) {
  expect_refused(rcpt("TO:<other.example!user@example.test>"), 550, "5.7.1", "Relay access denied");
  expect_refused(rcpt("TO:<other.example!alice@example.test>", true), 550, "5.7.1", "routing characters");
}

TEST_F(RelayControlTest, PostmasterIsAlwaysAccepted) {
  // No user or alias is configured for postmaster: RFC 5321 §4.5.1 still requires it.
  EXPECT_EQ(rcpt("TO:<Postmaster>"), std::nullopt);
  EXPECT_EQ(rcpt("TO:<postmaster>"), std::nullopt);
  EXPECT_EQ(rcpt("TO:<postmaster@example.test>"), std::nullopt);
  EXPECT_EQ(rcpt("TO:<POSTMASTER@second.test>"), std::nullopt);
  // Not for domains that are not ours.
  expect_refused(rcpt("TO:<postmaster@other.example>"), 550, "5.7.1", "Relay access denied");
}

TEST_F(RelayControlTest, AliasIsAccepted) {
  EXPECT_EQ(rcpt("TO:<team@example.test>"), std::nullopt);
  EXPECT_EQ(rcpt("TO:<Team@second.test>"), std::nullopt);  // aliases apply in every accepted domain
}

TEST_F(RelayControlTest, DomainsAreCaseInsensitive) {
  EXPECT_EQ(rcpt("TO:<alice@EXAMPLE.TEST>"), std::nullopt);
  EXPECT_EQ(rcpt("TO:<bob@second.TEST>"), std::nullopt);
  EXPECT_EQ(rcpt("TO:<ALICE@Example.Test>"), std::nullopt);  // local parts too, as Postfix
  expect_refused(rcpt("TO:<zed@EXAMPLE.test>"), 550, "5.1.1", "User unknown");
}

TEST_F(RelayControlTest, OtherChecksAcceptEverything) {
  RelayControl policy(directory_, false, ids_);
  EXPECT_EQ(policy.check_connect(smtp::ClientInfo{"192.0.2.1", 4000, "192.0.2.2", 25, ""}), std::nullopt);
  EXPECT_EQ(policy.check_helo("client.example"), std::nullopt);
  auto from = smtp::parse_mail_from("FROM:<anyone@other.example>");
  ASSERT_TRUE(from.has_value());
  EXPECT_EQ(policy.check_mail_from(*from), std::nullopt);
}

TEST_F(RelayControlTest, UsageDecidesRelay) {
  EXPECT_TRUE(RelayControl::usage_allows_relay(config::ConnectorUsage::relay));
  EXPECT_FALSE(RelayControl::usage_allows_relay(config::ConnectorUsage::internet));
  // Submission relays only after AUTH, which the session decides later.
  EXPECT_FALSE(RelayControl::usage_allows_relay(config::ConnectorUsage::client));
}

TEST_F(RelayControlTest, QueueIdsAreValidAndIncreasing) {
  RelayControl policy(directory_, false, ids_);
  std::string last;
  for (int i = 0; i < 50; ++i) {
    const std::string id = policy.new_queue_id();
    EXPECT_TRUE(QueueIdGenerator::valid(id)) << id;
    EXPECT_GT(id, last);  // even with the clock standing still
    last = id;
    if (i % 10 == 0) clock_.advance(std::chrono::microseconds(7));
  }
}

}  // namespace
}  // namespace sluice::policy
