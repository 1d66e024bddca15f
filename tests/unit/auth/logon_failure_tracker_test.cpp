// Tests for auth/logon_failure_tracker: the failure limit inside the window, the tarpit, the
// window sliding out old failures, success resetting, and the memory bound. ManualClock only.
#include "auth/logon_failure_tracker.hpp"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class TrackerTest : public ::testing::Test {
 protected:
  ManualClock clock_{SystemTime{} + std::chrono::hours(24 * 365 * 50)};
  LogonFailureTracker tracker_;  // defaults: 3 failures, 5 min window, 5 min tarpit
};

TEST_F(TrackerTest, ThirdFailureInTheWindowBlocksForTheTarpit) {
  EXPECT_FALSE(tracker_.blocked("192.0.2.1", clock_.now()));
  EXPECT_FALSE(tracker_.failure("192.0.2.1", clock_.now()));
  clock_.advance(minutes(1));
  EXPECT_FALSE(tracker_.failure("192.0.2.1", clock_.now()));
  EXPECT_FALSE(tracker_.blocked("192.0.2.1", clock_.now()));
  clock_.advance(minutes(1));
  EXPECT_TRUE(tracker_.failure("192.0.2.1", clock_.now()));
  EXPECT_TRUE(tracker_.blocked("192.0.2.1", clock_.now()));
  EXPECT_FALSE(tracker_.blocked("192.0.2.2", clock_.now())) << "other addresses are not affected";

  clock_.advance(minutes(5) - seconds(1));
  EXPECT_TRUE(tracker_.blocked("192.0.2.1", clock_.now()));
  clock_.advance(seconds(1));
  EXPECT_FALSE(tracker_.blocked("192.0.2.1", clock_.now())) << "the tarpit is over";
  // A fresh start: three more attempts.
  EXPECT_FALSE(tracker_.failure("192.0.2.1", clock_.now()));
  EXPECT_FALSE(tracker_.failure("192.0.2.1", clock_.now()));
  EXPECT_TRUE(tracker_.failure("192.0.2.1", clock_.now()));
}

TEST_F(TrackerTest, FailuresOutsideTheWindowDoNotAddUp) {
  EXPECT_FALSE(tracker_.failure("2001:db8::1", clock_.now()));
  clock_.advance(minutes(3));
  EXPECT_FALSE(tracker_.failure("2001:db8::1", clock_.now()));
  clock_.advance(minutes(3));  // the first failure is now 6 min old: a new window
  EXPECT_FALSE(tracker_.failure("2001:db8::1", clock_.now()));
  EXPECT_FALSE(tracker_.blocked("2001:db8::1", clock_.now()));
  EXPECT_FALSE(tracker_.failure("2001:db8::1", clock_.now()));
  EXPECT_TRUE(tracker_.failure("2001:db8::1", clock_.now()));
}

TEST_F(TrackerTest, SuccessForgetsFailures) {
  tracker_.failure("192.0.2.1", clock_.now());
  tracker_.failure("192.0.2.1", clock_.now());
  tracker_.success("192.0.2.1");
  EXPECT_EQ(tracker_.size(), 0u);
  EXPECT_FALSE(tracker_.failure("192.0.2.1", clock_.now()));
  EXPECT_FALSE(tracker_.failure("192.0.2.1", clock_.now()));
  EXPECT_TRUE(tracker_.failure("192.0.2.1", clock_.now()));
}

TEST_F(TrackerTest, ExpiredEntriesAreDroppedWhenLookedAt) {
  tracker_.failure("192.0.2.1", clock_.now());
  EXPECT_EQ(tracker_.size(), 1u);
  clock_.advance(minutes(5));
  EXPECT_FALSE(tracker_.blocked("192.0.2.1", clock_.now()));
  EXPECT_EQ(tracker_.size(), 0u);
}

TEST(LogonFailureTracker, MemoryIsBoundedAndBlockedClientsOutliveStaleOnes) {
  ManualClock clock{SystemTime{} + std::chrono::hours(1)};
  LogonFailureTracker tracker{LogonFailureLimits{2, minutes(5), minutes(5), 4}};
  tracker.failure("10.0.0.1", clock.now());
  tracker.failure("10.0.0.1", clock.now());  // blocked
  clock.advance(seconds(1));
  for (int i = 2; i < 100; ++i) {
    tracker.failure("10.0.0." + std::to_string(i), clock.now());
    clock.advance(seconds(1));
    ASSERT_LE(tracker.size(), 4u);
  }
  // Once every entry's window and tarpit have passed, a sweep clears them all at once.
  clock.advance(minutes(10));
  tracker.failure("10.0.1.1", clock.now());
  EXPECT_EQ(tracker.size(), 1u);
}

TEST(LogonFailureTracker, ExpiredEntriesGoBeforeLiveOnes) {
  ManualClock clock{SystemTime{} + std::chrono::hours(1)};
  LogonFailureTracker tracker{LogonFailureLimits{2, minutes(5), minutes(5), 2}};
  tracker.failure("10.0.0.1", clock.now());
  tracker.failure("10.0.0.1", clock.now());  // blocked for 5 min
  tracker.failure("10.0.0.2", clock.now());
  clock.advance(minutes(6));
  tracker.failure("10.0.0.3", clock.now());  // makes room: both old entries have expired
  EXPECT_EQ(tracker.size(), 1u);
  tracker.failure("10.0.0.3", clock.now());
  EXPECT_TRUE(tracker.blocked("10.0.0.3", clock.now()));
}

}  // namespace
}  // namespace sluice::auth
