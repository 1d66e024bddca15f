// Tests for policy/session_authenticator.cpp over a real auth::UserStore: base64 on the wire
// (PLAIN with and without an initial response, "=" as an empty one, malformed base64 → 501
// 5.5.2), LOGIN, the password check handed to verify_password, SCRAM offered, unknown
// mechanisms, the failure limit with its window and tarpit on a ManualClock, sender
// addresses. (Rename to .cpp once DEPS_policy links sluice_auth.)
#include "policy/session_authenticator.hpp"

#include <gtest/gtest.h>

#include "auth/base64.hpp"

namespace sluice::policy {
namespace {

class SessionAuthenticatorTest : public ::testing::Test {
 protected:
  SessionAuthenticatorTest() : clock_(SystemTime(std::chrono::seconds(1'700'000'000))) {
    EXPECT_TRUE(users_.add("alice@example.org", "wonderland", auth::minimal_hash_params()));
  }
  auth::LogonFailureLimits limits() {
    auth::LogonFailureLimits l;
    l.max_failures = 2;
    l.window = std::chrono::minutes(5);
    l.tarpit = std::chrono::minutes(10);
    return l;
  }
  auth::UserStore users_;
  ManualClock clock_;
};

TEST_F(SessionAuthenticatorTest, OffersTheAuthMechanisms) {
  SessionAuthenticator a(users_, limits(), clock_);
  EXPECT_EQ(a.mechanisms(), (std::vector<std::string>{"SCRAM-SHA-256", "PLAIN", "LOGIN"}));
  EXPECT_EQ(a.begin("CRAM-MD5"), nullptr);
  EXPECT_NE(a.begin("plain"), nullptr);
}

TEST_F(SessionAuthenticatorTest, PlainDecodesAndAsksForTheCheck) {
  SessionAuthenticator a(users_, limits(), clock_);
  auto ex = a.begin("PLAIN");
  smtp::SaslStep s = ex->start(auth::base64_encode(std::string("\0alice@example.org\0wonderland", 29)));
  ASSERT_EQ(s.kind, smtp::SaslStepKind::need_verification);
  EXPECT_EQ(s.username, "alice@example.org");
  EXPECT_TRUE(a.verify_password(s.username, s.password));
  EXPECT_FALSE(a.verify_password(s.username, "other"));
  s = ex->finish(true);
  EXPECT_EQ(s.kind, smtp::SaslStepKind::success);
  EXPECT_EQ(s.username, "alice@example.org");
}

TEST_F(SessionAuthenticatorTest, EmptyInitialResponseAndMalformedBase64) {
  SessionAuthenticator a(users_, limits(), clock_);
  auto ex = a.begin("PLAIN");
  smtp::SaslStep s = ex->start(std::nullopt);
  EXPECT_EQ(s.kind, smtp::SaslStepKind::challenge);
  EXPECT_EQ(s.data, "");
  s = ex->step("not base64!");
  EXPECT_EQ(s.kind, smtp::SaslStepKind::failure);
  ASSERT_TRUE(s.reply.has_value());
  EXPECT_EQ(s.reply->code(), 501);
  EXPECT_EQ(s.reply->enhanced(), "5.5.2");
  auto login = a.begin("LOGIN");
  s = login->start(std::nullopt);
  EXPECT_EQ(s.kind, smtp::SaslStepKind::challenge);
  EXPECT_EQ(s.data, auth::base64_encode("Username:"));
}

TEST_F(SessionAuthenticatorTest, FailureLimitAndTarpit) {
  SessionAuthenticator a(users_, limits(), clock_);
  EXPECT_FALSE(a.blocked("192.0.2.1"));
  EXPECT_FALSE(a.failure("192.0.2.1"));
  EXPECT_TRUE(a.failure("192.0.2.1"));
  EXPECT_TRUE(a.blocked("192.0.2.1"));
  EXPECT_FALSE(a.blocked("192.0.2.2"));
  clock_.advance(std::chrono::minutes(11));
  EXPECT_FALSE(a.blocked("192.0.2.1"));
}

TEST_F(SessionAuthenticatorTest, SenderAddressesOfTheUser) {
  SessionAuthenticator a(users_, limits(), clock_);
  EXPECT_TRUE(a.may_send_as("alice@example.org", "alice@EXAMPLE.org"));
  EXPECT_FALSE(a.may_send_as("alice@example.org", "Alice@example.org"));  // local parts exact
  EXPECT_FALSE(a.may_send_as("alice@example.org", "bob@example.org"));
  EXPECT_FALSE(a.may_send_as("nobody@example.org", "nobody@example.org"));
}

}  // namespace
}  // namespace sluice::policy
