// tests/unit/log/session_id_test.cpp: session ids are 16 uppercase hex digits and unique,
// from one thread or many.
#include "log/session_id.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "log_test_util.hpp"

namespace sluice::log {
namespace {

TEST(SessionId, FormatIsSixteenUppercaseHexDigits) {
  EXPECT_EQ(SessionIdGenerator::format(0), "0000000000000000");
  EXPECT_EQ(SessionIdGenerator::format(0x08D675E58CA1DA38ull), "08D675E58CA1DA38");
  EXPECT_EQ(SessionIdGenerator::format(~0ull), "FFFFFFFFFFFFFFFF");
}

TEST(SessionId, TimePrefixThenCounter) {
  ManualClock clock(testing_util::at_utc(9, 12, 0, 0));
  SessionIdGenerator gen(clock);
  const uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                clock.now().time_since_epoch()).count());
  const uint64_t first = gen.next();
  EXPECT_EQ(first >> SessionIdGenerator::kCounterBits, ms);
  EXPECT_EQ(gen.next(), first + 1);
  // The clock standing still does not matter: the counter keeps ids apart.
  EXPECT_EQ(gen.next(), first + 2);
}

TEST(SessionId, LaterRunStartsAboveEarlierRun) {
  ManualClock clock(testing_util::at_utc(9, 12, 0, 0));
  SessionIdGenerator earlier(clock);
  uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) last = earlier.next();
  clock.advance(std::chrono::milliseconds(1));
  SessionIdGenerator later(clock);
  EXPECT_GT(later.next(), last);
}

TEST(SessionId, UniqueAcrossThreads) {
  ManualClock clock(testing_util::at_utc(9, 12, 0, 0));
  SessionIdGenerator gen(clock);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) got[t].push_back(gen.next());
    });
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace sluice::log
