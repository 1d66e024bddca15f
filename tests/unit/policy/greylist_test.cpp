// Tests for policy/greylist: first attempt refused, early retry refused with the time left,
// retry after the delay passes, then the triplet and the client network pass directly;
// lifetime, networks (/24, /64), and the local store's file.
#include "policy/greylist.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>

namespace sluice::policy {
namespace {

using namespace std::chrono_literals;

class GreylistTest : public ::testing::Test {
 protected:
  GreylistTest() {
    settings_.enabled = true;
    settings_.delay = 300s;
    settings_.lifetime = 4h;
    settings_.pass_for = 24h;
  }
  // The verdict, which the local store gives inside the call.
  std::optional<Reply> check(const std::string& ip, const std::string& from, const std::string& to) {
    bool called = false;
    std::optional<Reply> out;
    greylist_.check(ip, from, to, [&](std::optional<Reply> r) {
      called = true;
      out = std::move(r);
    });
    EXPECT_TRUE(called);
    return out;
  }

  config::GreylistSettings settings_;
  LocalGreylistStore store_;
  ManualClock clock_{SystemTime{std::chrono::seconds{1751364123}}};
  Greylist greylist_{settings_, store_, clock_};
};

TEST_F(GreylistTest, FirstRefusedRetriedAfterDelayAcceptedThenPassedDirectly) {
  auto first = check("192.0.2.10", "a@example.org", "b@example.test");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->wire(), "451 4.7.1 Greylisted, try again in 300 seconds\r\n");
  clock_.advance(100s);
  auto early = check("192.0.2.10", "a@example.org", "b@example.test");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->text(), "451 4.7.1 Greylisted, try again in 200 seconds");
  clock_.advance(200s);
  EXPECT_FALSE(check("192.0.2.10", "a@example.org", "b@example.test"));
  // The same triplet and any other one from this client's /24 pass now (auto-pass).
  EXPECT_FALSE(check("192.0.2.10", "a@example.org", "b@example.test"));
  EXPECT_FALSE(check("192.0.2.77", "other@example.net", "c@example.test"));
  // Another network is still greylisted.
  EXPECT_TRUE(check("198.51.100.1", "a@example.org", "b@example.test"));
}

TEST_F(GreylistTest, TripletIsCaseInsensitiveAndPerNetwork) {
  EXPECT_TRUE(check("192.0.2.10", "A@Example.ORG", "B@example.test"));
  clock_.advance(301s);
  // A retry from another address of the same /24 with other case is the same triplet.
  EXPECT_FALSE(check("192.0.2.200", "a@example.org", "b@EXAMPLE.test"));
}

TEST_F(GreylistTest, AnUnconfirmedTripletExpiresAfterItsLifetime) {
  EXPECT_TRUE(check("192.0.2.10", "a@example.org", "b@example.test"));
  clock_.advance(5h);
  auto again = check("192.0.2.10", "a@example.org", "b@example.test");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->text(), "451 4.7.1 Greylisted, try again in 300 seconds");
}

TEST_F(GreylistTest, AutoPassEndsAfterPassFor) {
  EXPECT_TRUE(check("192.0.2.10", "a@example.org", "b@example.test"));
  clock_.advance(301s);
  EXPECT_FALSE(check("192.0.2.10", "a@example.org", "b@example.test"));
  clock_.advance(25h);
  // The client network's auto-pass is over: a new triplet waits again...
  EXPECT_TRUE(check("192.0.2.10", "new@example.org", "b@example.test"));
  // ...while the triplet that passed still passes (older than the lifetime, but confirmed),
  // and renews the client's auto-pass for every triplet.
  EXPECT_FALSE(check("192.0.2.10", "a@example.org", "b@example.test"));
  EXPECT_FALSE(check("192.0.2.10", "new@example.org", "b@example.test"));
}

TEST(GreylistNetwork, IsSlash24ForIpv4AndSlash64ForIpv6) {
  EXPECT_EQ(Greylist::client_network("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(Greylist::client_network("::ffff:192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(Greylist::client_network("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(Greylist::client_network("junk"), "junk");
}

TEST(LocalGreylistStore, SavesAndLoadsAndDropsOldEntries) {
  char tmpl[] = "/tmp/greylist-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/greylist";
  {
    LocalGreylistStore store(path);
    ASSERT_TRUE(store.load());  // missing file: empty
    store.put("triplet:192.0.2.0/24,a@x,b@y", GreylistRecord{1000, 0});
    store.put("client:192.0.2.0/24", GreylistRecord{500, 2000});
    store.put("triplet:old", GreylistRecord{10, 0});
    ASSERT_TRUE(store.save(/*now_us=*/2500, /*keep_us=*/2000));
    EXPECT_EQ(store.size(), 2u);  // "old" was last used 2490 us ago
  }
  LocalGreylistStore loaded(path);
  ASSERT_TRUE(loaded.load());
  EXPECT_EQ(loaded.size(), 2u);
  std::optional<GreylistRecord> got;
  loaded.get("client:192.0.2.0/24", [&](std::optional<GreylistRecord> r) { got = r; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first_seen_us, 500);
  EXPECT_EQ(got->passed_us, 2000);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace sluice::policy
