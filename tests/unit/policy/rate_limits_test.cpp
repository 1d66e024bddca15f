// Tests for policy/rate_limits: each limit reached with the exact reply, windows that end
// after a minute, keys kept apart per connector and per source, and "0 = no limit".
#include "policy/rate_limits.hpp"

#include <gtest/gtest.h>

namespace sluice::policy {
namespace {

using namespace std::chrono_literals;

config::RateLimitSettings limits() {
  config::RateLimitSettings l;
  l.connector = "Frontend";
  l.connections_per_minute_per_ip = 2;
  l.messages_per_minute_per_ip = 3;
  l.messages_per_minute_per_sender = 2;
  l.messages_per_minute_per_user = 1;
  l.recipients_per_message = 2;
  return l;
}

TEST(RateLimits, ConnectionRatePerAddress) {
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  RateLimits rates(clock);
  const auto l = limits();
  EXPECT_FALSE(rates.on_connect(l, "192.0.2.1"));
  EXPECT_FALSE(rates.on_connect(l, "192.0.2.1"));
  auto refused = rates.on_connect(l, "192.0.2.1");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->wire(),
            "421 4.7.0 Too many connections from [192.0.2.1]: connection rate limit of 2 per minute reached on "
            "connector Frontend, try again later\r\n");
  EXPECT_FALSE(rates.on_connect(l, "192.0.2.2"));  // another address has its own count
  clock.advance(60s);
  EXPECT_FALSE(rates.on_connect(l, "192.0.2.1"));  // a new minute
}

TEST(RateLimits, MessagesPerAddress) {
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  RateLimits rates(clock);
  auto l = limits();
  l.messages_per_minute_per_sender = 0;
  l.messages_per_minute_per_user = 0;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(rates.on_mail(l, "192.0.2.1", "a" + std::to_string(i) + "@x.test", ""));
  auto refused = rates.on_mail(l, "192.0.2.1", "z@x.test", "");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->text(),
            "451 4.7.1 Message rate limit of 3 per minute reached for client [192.0.2.1] on connector Frontend, "
            "try again later");
}

TEST(RateLimits, MessagesPerSenderIgnoreCaseAndNullSender) {
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  RateLimits rates(clock);
  auto l = limits();
  l.messages_per_minute_per_ip = 0;
  EXPECT_FALSE(rates.on_mail(l, "192.0.2.1", "a@x.test", ""));
  EXPECT_FALSE(rates.on_mail(l, "192.0.2.2", "A@X.test", ""));
  auto refused = rates.on_mail(l, "192.0.2.3", "a@x.test", "");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->text(),
            "451 4.7.1 Message rate limit of 2 per minute reached for sender <a@x.test> on connector Frontend, "
            "try again later");
  // Bounces (null sender) are not limited by sender.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(rates.on_mail(l, "192.0.2.1", "", ""));
}

TEST(RateLimits, MessagesPerUser) {
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  RateLimits rates(clock);
  auto l = limits();
  l.messages_per_minute_per_ip = 0;
  l.messages_per_minute_per_sender = 0;
  EXPECT_FALSE(rates.on_mail(l, "192.0.2.1", "a@x.test", "alice@x.test"));
  auto refused = rates.on_mail(l, "192.0.2.9", "b@x.test", "alice@x.test");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->text(),
            "451 4.7.1 Message rate limit of 1 per minute reached for user alice@x.test on connector Frontend, "
            "try again later");
  EXPECT_FALSE(rates.on_mail(l, "192.0.2.1", "a@x.test", "bob@x.test"));
  EXPECT_FALSE(rates.on_mail(l, "192.0.2.1", "a@x.test", ""));  // not authenticated: no user limit
}

TEST(RateLimits, RecipientsPerMessage) {
  const auto l = limits();
  EXPECT_FALSE(RateLimits::on_rcpt(l, 0));
  EXPECT_FALSE(RateLimits::on_rcpt(l, 1));
  auto refused = RateLimits::on_rcpt(l, 2);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->text(), "452 4.5.3 Too many recipients: limit of 2 per message on connector Frontend");
}

TEST(RateCounter, ZeroIsNoLimitAndOldWindowsArePruned) {
  ManualClock clock(SystemTime{std::chrono::seconds{1751364123}});
  RateCounter counter(clock);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(counter.allow("k", 0));
  EXPECT_EQ(counter.keys(), 0u);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(counter.allow("k" + std::to_string(i), 1));
  EXPECT_EQ(counter.keys(), 50u);
  clock.advance(61s);
  EXPECT_TRUE(counter.allow("fresh", 1));
  EXPECT_EQ(counter.keys(), 1u);
}

}  // namespace
}  // namespace sluice::policy
