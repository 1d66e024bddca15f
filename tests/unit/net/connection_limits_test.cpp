// Tests for net/connection_limits.cpp: the per-connector and per-client limits, what a
// refusal says, tickets given back on destruction, move and move-assignment, and exact
// counts when several threads (as several event loops do) take and give back tickets.
#include "net/connection_limits.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sluice::net {
namespace {

using Refusal = ConnectionLimits::Refusal;
using Ticket = ConnectionLimits::Ticket;

std::optional<Ticket> take(ConnectionLimits& limits, const std::string& connector, const std::string& ip,
                           unsigned max_all, unsigned max_ip, Refusal* why = nullptr) {
  Refusal refusal = Refusal::connector_full;  // acquire must overwrite it
  auto t = limits.acquire(connector, ip, max_all, max_ip, refusal);
  EXPECT_EQ(t.has_value(), refusal == Refusal::none);
  if (why) *why = refusal;
  return t;
}

TEST(ConnectionLimitsTest, UnknownConnectorHasNoConnections) {
  ConnectionLimits limits;
  EXPECT_EQ(limits.connections("Default"), 0u);
}

TEST(ConnectionLimitsTest, ConnectorLimitRefusesTheConnectionAfterTheLast) {
  ConnectionLimits limits;
  std::vector<Ticket> held;
  for (int i = 0; i < 3; ++i) {
    auto t = take(limits, "Default", "192.0.2." + std::to_string(i + 1), 3, 0);
    ASSERT_TRUE(t.has_value()) << i;
    held.push_back(std::move(*t));
  }
  EXPECT_EQ(limits.connections("Default"), 3u);
  Refusal why = Refusal::none;
  EXPECT_FALSE(take(limits, "Default", "192.0.2.9", 3, 0, &why).has_value());
  EXPECT_EQ(why, Refusal::connector_full);
  EXPECT_EQ(limits.connections("Default"), 3u);  // a refusal counts nothing

  held.pop_back();  // one closes: room for one more
  EXPECT_EQ(limits.connections("Default"), 2u);
  EXPECT_TRUE(take(limits, "Default", "192.0.2.9", 3, 0).has_value());
}

TEST(ConnectionLimitsTest, PerClientLimitLeavesOtherClientsAlone) {
  ConnectionLimits limits;
  auto a1 = take(limits, "Default", "192.0.2.1", 10, 2);
  auto a2 = take(limits, "Default", "192.0.2.1", 10, 2);
  ASSERT_TRUE(a1 && a2);
  Refusal why = Refusal::none;
  EXPECT_FALSE(take(limits, "Default", "192.0.2.1", 10, 2, &why).has_value());
  EXPECT_EQ(why, Refusal::client_full);
  auto b = take(limits, "Default", "192.0.2.2", 10, 2);
  EXPECT_TRUE(b.has_value());
  EXPECT_EQ(limits.connections("Default"), 3u);

  a1.reset();
  EXPECT_TRUE(take(limits, "Default", "192.0.2.1", 10, 2).has_value());
}

TEST(ConnectionLimitsTest, ConnectorFullIsReportedBeforeClientFull) {
  ConnectionLimits limits;
  auto a = take(limits, "Default", "192.0.2.1", 1, 1);
  ASSERT_TRUE(a.has_value());
  Refusal why = Refusal::none;
  EXPECT_FALSE(take(limits, "Default", "192.0.2.1", 1, 1, &why).has_value());
  EXPECT_EQ(why, Refusal::connector_full);
}

TEST(ConnectionLimitsTest, ZeroMeansUnlimited) {
  ConnectionLimits limits;
  std::vector<Ticket> held;
  for (int i = 0; i < 100; ++i) {
    auto t = take(limits, "Default", "192.0.2.1", 0, 0);
    ASSERT_TRUE(t.has_value()) << i;
    held.push_back(std::move(*t));
  }
  EXPECT_EQ(limits.connections("Default"), 100u);
}

TEST(ConnectionLimitsTest, ConnectorsAreCountedApart) {
  ConnectionLimits limits;
  auto a = take(limits, "Internet", "192.0.2.1", 1, 1);
  auto b = take(limits, "Relay", "192.0.2.1", 1, 1);  // same client, other connector
  EXPECT_TRUE(a && b);
  EXPECT_EQ(limits.connections("Internet"), 1u);
  EXPECT_EQ(limits.connections("Relay"), 1u);
  Refusal why = Refusal::none;
  EXPECT_FALSE(take(limits, "Internet", "192.0.2.2", 1, 1, &why).has_value());
  EXPECT_EQ(why, Refusal::connector_full);
}

TEST(ConnectionLimitsTest, MovedTicketReleasesOnceWhenItsLastOwnerDies) {
  ConnectionLimits limits;
  {
    auto t = take(limits, "Default", "192.0.2.1", 0, 1);
    ASSERT_TRUE(t.has_value());
    Ticket moved(std::move(*t));
    t.reset();  // the moved-from ticket gives nothing back
    EXPECT_EQ(limits.connections("Default"), 1u);
    Ticket again = std::move(moved);
    EXPECT_EQ(limits.connections("Default"), 1u);
    EXPECT_FALSE(take(limits, "Default", "192.0.2.1", 0, 1).has_value());
  }
  EXPECT_EQ(limits.connections("Default"), 0u);
  // The client's count went back to zero too: it may connect again.
  EXPECT_TRUE(take(limits, "Default", "192.0.2.1", 0, 1).has_value());
}

TEST(ConnectionLimitsTest, MoveAssignmentReleasesTheTicketItReplaces) {
  ConnectionLimits limits;
  auto a = take(limits, "Default", "192.0.2.1", 0, 1);
  auto b = take(limits, "Default", "192.0.2.2", 0, 1);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(limits.connections("Default"), 2u);
  *a = std::move(*b);  // a's connection (192.0.2.1) is over
  EXPECT_EQ(limits.connections("Default"), 1u);
  EXPECT_TRUE(take(limits, "Default", "192.0.2.1", 0, 1).has_value());
  EXPECT_FALSE(take(limits, "Default", "192.0.2.2", 0, 1).has_value());  // still held, by a
  a.reset();
  EXPECT_TRUE(take(limits, "Default", "192.0.2.2", 0, 1).has_value());
  b.reset();  // moved-from: nothing to give back
  EXPECT_EQ(limits.connections("Default"), 0u);
}

TEST(ConnectionLimitsTest, SelfMoveAssignmentKeepsTheTicket) {
  ConnectionLimits limits;
  auto a = take(limits, "Default", "192.0.2.1", 0, 0);
  ASSERT_TRUE(a.has_value());
  Ticket& self = *a;
  *a = std::move(self);
  EXPECT_EQ(limits.connections("Default"), 1u);
  a.reset();
  EXPECT_EQ(limits.connections("Default"), 0u);
}

TEST(ConnectionLimitsTest, DefaultTicketHoldsNothing) {
  ConnectionLimits limits;
  { Ticket empty; }
  auto a = take(limits, "Default", "192.0.2.1", 0, 0);
  ASSERT_TRUE(a.has_value());
  *a = Ticket();
  EXPECT_EQ(limits.connections("Default"), 0u);
}

// Several loops accept and close at once: every acquire is matched by one release, neither
// limit is ever exceeded, and the counts end at zero. The shadow counters go up after a
// ticket is taken and down before it is given back, so they never exceed the real counts.
TEST(ConnectionLimitsTest, ConcurrentAcquireAndReleaseKeepCountsExact) {
  ConnectionLimits limits;
  constexpr unsigned kMax = 8, kPerIp = 3;
  constexpr int kThreads = 4, kRounds = 2000, kClients = 3;
  std::atomic<unsigned> live{0}, accepted{0};
  std::atomic<unsigned> live_ip[kClients] = {0, 0, 0};
  std::atomic<bool> over_connector{false}, over_client{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::pair<int, Ticket>> held;
      auto give_back = [&] {
        --live;
        --live_ip[held.front().first];
        held.erase(held.begin());
      };
      for (int i = 0; i < kRounds; ++i) {
        const int client = (i + t) % kClients;
        Refusal why;
        auto ticket = limits.acquire("Default", "192.0.2." + std::to_string(client), kMax, kPerIp, why);
        if (ticket) {
          if (++live > kMax) over_connector = true;
          if (++live_ip[client] > kPerIp) over_client = true;
          ++accepted;
          held.emplace_back(client, std::move(*ticket));
        }
        if (held.size() > 2 || (i % 5 == 0 && !held.empty())) give_back();
      }
      while (!held.empty()) give_back();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(over_connector.load());
  EXPECT_FALSE(over_client.load());
  EXPECT_GT(accepted.load(), 0u);
  EXPECT_EQ(limits.connections("Default"), 0u);
  // Every per-client count is back at zero: each client may open kPerIp connections again.
  for (int c = 0; c < kClients; ++c) {
    std::vector<Ticket> again;
    for (unsigned i = 0; i < kPerIp; ++i) {
      auto t = take(limits, "Default", "192.0.2." + std::to_string(c), 0, kPerIp);
      ASSERT_TRUE(t.has_value()) << c << " " << i;
      again.push_back(std::move(*t));
    }
    EXPECT_FALSE(take(limits, "Default", "192.0.2." + std::to_string(c), 0, kPerIp).has_value());
  }
}

}  // namespace
}  // namespace sluice::net
