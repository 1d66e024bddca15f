#include "base/queue_id.hpp"

#include <gtest/gtest.h>

#include <set>

namespace sluice {
namespace {

TEST(QueueId, IncreasesEvenWhenTheClockStandsStill) {
  ManualClock clock(SystemTime(std::chrono::seconds(1'700'000'000)));
  QueueIdGenerator gen(clock, 3);
  std::string prev = gen.next();
  EXPECT_TRUE(QueueIdGenerator::valid(prev));
  for (int i = 0; i < 1000; ++i) {
    std::string id = gen.next();
    EXPECT_LT(prev, id);
    prev = id;
  }
}

TEST(QueueId, SortsByTimeAndGeneratorsNeverCollide) {
  ManualClock clock(SystemTime(std::chrono::seconds(1'700'000'000)));
  QueueIdGenerator a(clock, 0), b(clock, 1);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(seen.insert(a.next()).second);
    EXPECT_TRUE(seen.insert(b.next()).second);
  }
  std::string before = a.next();
  clock.advance(std::chrono::seconds(1));
  EXPECT_LT(before, b.next());
}

TEST(QueueId, RejectsMalformedIds) {
  EXPECT_FALSE(QueueIdGenerator::valid(""));
  EXPECT_FALSE(QueueIdGenerator::valid("0CHG5V1M2KT0"));
  EXPECT_FALSE(QueueIdGenerator::valid("0CHG5V1M2KT0I"));  // I is not Crockford
  EXPECT_FALSE(QueueIdGenerator::valid("../etc/passwd"));
}

}  // namespace
}  // namespace sluice
