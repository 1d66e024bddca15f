// tests/unit/dns/unbound_resolver_test.cpp: the libunbound Resolver against the test DNS server
// (tests/tools/dns_server.py) on loopback: every Status, record decoding, our own deadline,
// many queries in flight, and that the event loop is never blocked by a pending query.
#include "dns/unbound_resolver.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <gtest/gtest.h>

#include "dns/awaitable.hpp"
#include "dns_test_server.hpp"

namespace sluice::dns {

// Readable failures: gtest would print these as raw bytes.
void PrintTo(Status s, std::ostream* os) { *os << to_string(s); }
void PrintTo(const MxRecord& m, std::ostream* os) { *os << m.preference << " " << m.exchange; }

namespace {

using namespace std::chrono_literals;

constexpr const char* kZone = R"(# zone for the resolver tests
example.test            MX    20 MX2.Example.Test.
example.test            MX    10 mx1.example.test
example.test            MX    10 mx1b.example.test
example.test            TXT   "v=spf1 " "include:spf.example.test " "-all"
example.test            TXT   "second record"
nullmx.test             MX    0 .
mx1.example.test        A     127.0.0.2
mx1.example.test        A     127.0.0.3
mx1.example.test        AAAA  ::1
mx1.example.test        AAAA  2001:db8::25
alias.example.test      CNAME mx1.example.test
deep.sub.example.test   A     127.0.0.9
2.0.0.127.in-addr.arpa  PTR   MX1.example.test.
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR v6host.example.test
broken.test             SERVFAIL
refused.test            REFUSED
slow.test               TIMEOUT
half.test               TIMEOUT MX
half.test               A     127.0.0.7
)";

class UnboundResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::DnsTestServer(kZone); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  std::unique_ptr<Resolver> make(std::chrono::milliseconds timeout = 5000ms) {
    UnboundOptions o;
    o.forwarders = {server_->forwarder()};
    o.timeout = timeout;
    return make_unbound_resolver(loop_, o);
  }

  // Runs the loop until every query finished; the resolver's own deadline bounds this, the
  // limit here only keeps a broken build from hanging the test run.
  void run() {
    loop_.restart();
    loop_.run_for(60s);
  }

  template <typename T>
  Answer<T> once(std::function<void(std::function<void(Answer<T>)>)> start) {
    std::optional<Answer<T>> got;
    int calls = 0;
    start([&](Answer<T> a) {
      ++calls;
      got = std::move(a);
    });
    run();
    EXPECT_EQ(calls, 1);
    return got.value_or(Answer<T>{});
  }

  Answer<MxRecord> mx(Resolver& r, std::string n) {
    return once<MxRecord>([&](auto cb) { r.mx(n, std::move(cb)); });
  }
  Answer<std::string> a(Resolver& r, std::string n) {
    return once<std::string>([&](auto cb) { r.a(n, std::move(cb)); });
  }
  Answer<std::string> aaaa(Resolver& r, std::string n) {
    return once<std::string>([&](auto cb) { r.aaaa(n, std::move(cb)); });
  }
  Answer<std::string> txt(Resolver& r, std::string n) {
    return once<std::string>([&](auto cb) { r.txt(n, std::move(cb)); });
  }
  Answer<std::string> ptr(Resolver& r, std::string n) {
    return once<std::string>([&](auto cb) { r.ptr(n, std::move(cb)); });
  }

  static std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

  static testing::DnsTestServer* server_;
  asio::io_context loop_;
};

testing::DnsTestServer* UnboundResolverTest::server_ = nullptr;

TEST_F(UnboundResolverTest, MxSortedByPreferenceLowerCaseWithoutTrailingDot) {
  auto r = make();
  auto ans = mx(*r, "example.test");
  ASSERT_EQ(ans.status, Status::ok) << ans.detail;
  ASSERT_EQ(ans.records.size(), 3u);
  EXPECT_EQ(ans.records[0].preference, 10);
  EXPECT_EQ(ans.records[1].preference, 10);
  EXPECT_EQ(ans.records[2], (MxRecord{20, "mx2.example.test"}));
  std::set<std::string> tens{ans.records[0].exchange, ans.records[1].exchange};
  EXPECT_EQ(tens, (std::set<std::string>{"mx1.example.test", "mx1b.example.test"}));
  EXPECT_FALSE(ans.secure);  // no trust anchor configured
}

TEST_F(UnboundResolverTest, QueryNameCaseAndTrailingDotDoNotMatter) {
  auto r = make();
  auto ans = mx(*r, "Example.TEST.");
  ASSERT_EQ(ans.status, Status::ok) << ans.detail;
  EXPECT_EQ(ans.records.size(), 3u);
}

TEST_F(UnboundResolverTest, NullMxIsOneRecordWithEmptyExchange) {
  auto r = make();
  auto ans = mx(*r, "nullmx.test");
  ASSERT_EQ(ans.status, Status::ok) << ans.detail;
  ASSERT_EQ(ans.records.size(), 1u);
  EXPECT_EQ(ans.records[0], (MxRecord{0, ""}));
}

TEST_F(UnboundResolverTest, AAndAaaaGiveEveryAddressAsText) {
  auto r = make();
  auto v4 = a(*r, "mx1.example.test");
  ASSERT_EQ(v4.status, Status::ok) << v4.detail;
  EXPECT_EQ(sorted(v4.records), (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
  auto v6 = aaaa(*r, "mx1.example.test");
  ASSERT_EQ(v6.status, Status::ok) << v6.detail;
  EXPECT_EQ(sorted(v6.records), (std::vector<std::string>{"2001:db8::25", "::1"}));
}

TEST_F(UnboundResolverTest, CnameIsFollowed) {
  auto r = make();
  auto ans = a(*r, "alias.example.test");
  ASSERT_EQ(ans.status, Status::ok) << ans.detail;
  EXPECT_EQ(sorted(ans.records), (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
}

TEST_F(UnboundResolverTest, TxtJoinsTheStringsOfEachRecord) {
  auto r = make();
  auto ans = txt(*r, "example.test");
  ASSERT_EQ(ans.status, Status::ok) << ans.detail;
  EXPECT_EQ(sorted(ans.records), (std::vector<std::string>{"second record", "v=spf1 include:spf.example.test -all"}));
}

TEST_F(UnboundResolverTest, PtrForIpv4AndIpv6) {
  auto r = make();
  auto v4 = ptr(*r, "127.0.0.2");
  ASSERT_EQ(v4.status, Status::ok) << v4.detail;
  EXPECT_EQ(v4.records, (std::vector<std::string>{"mx1.example.test"}));
  auto v6 = ptr(*r, "2001:db8::25");
  ASSERT_EQ(v6.status, Status::ok) << v6.detail;
  EXPECT_EQ(v6.records, (std::vector<std::string>{"v6host.example.test"}));
}

TEST_F(UnboundResolverTest, PtrOfSomethingNotAnAddressIsALocalError) {
  auto r = make();
  auto ans = ptr(*r, "mx1.example.test");
  EXPECT_EQ(ans.status, Status::error);
  EXPECT_EQ(ans.detail, "not an IP address: mx1.example.test");
}

TEST_F(UnboundResolverTest, MissingNameIsNxdomain) {
  auto r = make();
  auto ans = mx(*r, "nowhere.test");
  EXPECT_EQ(ans.status, Status::nxdomain);
  EXPECT_TRUE(ans.records.empty());
  EXPECT_EQ(ans.detail, "NXDOMAIN for nowhere.test");
}

TEST_F(UnboundResolverTest, NameWithoutThatTypeIsNodata) {
  auto r = make();
  auto ans = mx(*r, "mx1.example.test");
  EXPECT_EQ(ans.status, Status::nodata);
  EXPECT_TRUE(ans.records.empty());
  EXPECT_EQ(ans.detail, "no MX record for mx1.example.test");
  // An empty non-terminal (names exist below it) exists too: no data, not NXDOMAIN.
  auto ent = a(*r, "sub.example.test");
  EXPECT_EQ(ent.status, Status::nodata) << ent.detail;
}

TEST_F(UnboundResolverTest, ServfailAndRefusedAreServfail) {
  auto r = make();
  auto sf = mx(*r, "broken.test");
  EXPECT_EQ(sf.status, Status::servfail);
  EXPECT_EQ(sf.detail, "SERVFAIL for broken.test");
  auto rf = a(*r, "refused.test");
  EXPECT_EQ(rf.status, Status::servfail);
  EXPECT_TRUE(rf.records.empty());
}

TEST_F(UnboundResolverTest, SilentServerIsOurTimeoutAndTheResolverStaysUsable) {
  auto r = make(300ms);
  auto ans = mx(*r, "slow.test");
  EXPECT_EQ(ans.status, Status::timeout);
  EXPECT_EQ(ans.detail, "no answer for MX slow.test within 300ms");
  auto after = a(*r, "mx1.example.test");
  EXPECT_EQ(after.status, Status::ok) << after.detail;
}

TEST_F(UnboundResolverTest, ModeForOneTypeLeavesOtherTypesAnswered) {
  auto r = make(300ms);
  EXPECT_EQ(mx(*r, "half.test").status, Status::timeout);
  auto ans = a(*r, "half.test");
  ASSERT_EQ(ans.status, Status::ok) << ans.detail;
  EXPECT_EQ(ans.records, (std::vector<std::string>{"127.0.0.7"}));
}

TEST_F(UnboundResolverTest, InvalidQueryNameIsALocalError) {
  auto r = make();
  auto ans = a(*r, std::string(70, 'x') + ".test");  // a label over 63 octets
  EXPECT_EQ(ans.status, Status::error);
  EXPECT_NE(ans.detail.find(std::string(70, 'x')), std::string::npos) << ans.detail;
}

TEST_F(UnboundResolverTest, ManyQueriesInFlightEachCompleteOnce) {
  auto r = make();
  constexpr int kQueries = 200;
  std::vector<int> calls(kQueries, 0);
  std::vector<Status> status(kQueries, Status::error);
  std::vector<std::vector<std::string>> recs(kQueries);
  for (int i = 0; i < kQueries; ++i) {
    auto done = [&, i](Answer<std::string> ans) {
      ++calls[i];
      status[i] = ans.status;
      recs[i] = ans.records;
    };
    // Three kinds interleaved, so answers come back in a different order than asked.
    if (i % 3 == 0) r->a("mx1.example.test", done);
    else if (i % 3 == 1) r->aaaa("mx1.example.test", done);
    else r->a("nowhere" + std::to_string(i) + ".test", done);
  }
  run();
  for (int i = 0; i < kQueries; ++i) {
    ASSERT_EQ(calls[i], 1) << i;
    if (i % 3 == 0) {
      EXPECT_EQ(status[i], Status::ok) << i;
      EXPECT_EQ(sorted(recs[i]), (std::vector<std::string>{"127.0.0.2", "127.0.0.3"})) << i;
    } else if (i % 3 == 1) {
      EXPECT_EQ(status[i], Status::ok) << i;
      EXPECT_EQ(sorted(recs[i]), (std::vector<std::string>{"2001:db8::25", "::1"})) << i;
    } else {
      EXPECT_EQ(status[i], Status::nxdomain) << i;
    }
  }
}

TEST_F(UnboundResolverTest, PendingQueryNeverBlocksTheLoop) {
  auto r = make(500ms);
  std::vector<std::string> order;
  bool inline_call = true;
  r->mx("slow.test", [&](Answer<MxRecord> ans) {
    order.push_back(std::string("slow:") + to_string(ans.status));
  });
  inline_call = false;  // the callback must not have run inside mx()
  asio::post(loop_, [&] { order.push_back("posted"); });
  r->a("mx1.example.test", [&](Answer<std::string> ans) {
    EXPECT_FALSE(inline_call);
    order.push_back(std::string("fast:") + to_string(ans.status));
  });
  EXPECT_TRUE(order.empty());
  run();
  EXPECT_EQ(order, (std::vector<std::string>{"posted", "fast:ok", "slow:timeout"}));
}

TEST_F(UnboundResolverTest, DestroyedWithQueriesPendingCompletesThemWithError) {
  auto r = make(5000ms);
  std::optional<Answer<MxRecord>> got;
  r->mx("slow.test", [&](Answer<MxRecord> ans) { got = std::move(ans); });
  loop_.restart();
  loop_.poll();  // the query is now with unbound
  r.reset();
  run();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, Status::error);
  EXPECT_EQ(got->detail, "resolver shut down");
}

TEST_F(UnboundResolverTest, QueryAskedJustBeforeDestructionStillCompletes) {
  auto r = make();
  int calls = 0;
  Status status = Status::ok;
  r->a("mx1.example.test", [&](Answer<std::string> ans) {
    ++calls;
    status = ans.status;
  });
  r.reset();  // the query had not reached unbound yet
  run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status, Status::error);
}

// The resolver's loop runs on another thread; the coroutine resumes on its own loop's thread.
TEST_F(UnboundResolverTest, CoroutineResumesOnItsOwnExecutor) {
  auto r = make();
  auto guard = asio::make_work_guard(loop_);
  std::thread resolver_thread([&] { loop_.run(); });
  asio::io_context mine;
  std::optional<Answer<std::string>> got;
  std::thread::id resumed_on;
  asio::co_spawn(
      mine,
      [&]() -> asio::awaitable<void> {
        got = co_await async_a(*r, "mx1.example.test");
        resumed_on = std::this_thread::get_id();
      },
      asio::detached);
  mine.run_for(60s);
  guard.reset();
  asio::post(loop_, [&] { r.reset(); });  // destroyed on its own loop, as documented
  resolver_thread.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, Status::ok) << got->detail;
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST_F(UnboundResolverTest, CoroutineAdaptersResumeWithTheAnswer) {
  auto r = make();
  std::optional<Answer<MxRecord>> m;
  std::optional<Answer<std::string>> t, p;
  asio::co_spawn(
      loop_,
      [&]() -> asio::awaitable<void> {
        m = co_await async_mx(*r, "example.test");
        t = co_await async_txt(*r, "nowhere.test");
        p = co_await async_ptr(*r, "127.0.0.2");
      },
      asio::detached);
  run();
  ASSERT_TRUE(m && t && p);
  EXPECT_EQ(m->status, Status::ok);
  EXPECT_EQ(m->records.size(), 3u);
  EXPECT_EQ(t->status, Status::nxdomain);
  EXPECT_EQ(p->records, (std::vector<std::string>{"mx1.example.test"}));
}

TEST_F(UnboundResolverTest, BadForwarderMakesEveryQueryAnError) {
  UnboundOptions o;
  o.forwarders = {"not an address"};
  auto r = make_unbound_resolver(loop_, o);
  auto ans = a(*r, "mx1.example.test");
  EXPECT_EQ(ans.status, Status::error);
  EXPECT_NE(ans.detail.find("resolver setup failed: forwarder not an address"), std::string::npos) << ans.detail;
}

TEST(UnboundOptionsTest, ServersBecomeForwardersWithPort53ByDefault) {
  config::DnsSettings s;
  s.servers = {config::ListenAddress{"127.0.0.1", 5353}, config::ListenAddress{"::1", 0}};
  s.timeout = std::chrono::seconds(7);
  auto o = unbound_options(s);
  EXPECT_EQ(o.forwarders, (std::vector<std::string>{"127.0.0.1@5353", "::1@53"}));
  EXPECT_EQ(o.timeout, 7000ms);
  EXPECT_TRUE(unbound_options(config::DnsSettings{}).forwarders.empty());
  config::DnsSettings zero;
  zero.timeout = std::chrono::seconds(0);
  EXPECT_EQ(unbound_options(zero).timeout, 10000ms);
}

// A zone changed mid-test (SIGHUP) is seen at once: TTL 0 answers are not served from cache.
TEST(UnboundResolverReloadTest, ChangedZoneIsSeenAfterReload) {
  testing::DnsTestServer server("example.test MX 10 old.example.test\n");
  asio::io_context loop;
  UnboundOptions o;
  o.forwarders = {server.forwarder()};
  o.timeout = 5000ms;
  auto r = make_unbound_resolver(loop, o);
  std::vector<Answer<MxRecord>> got;
  r->mx("example.test", [&](Answer<MxRecord> a) { got.push_back(std::move(a)); });
  loop.run_for(60s);
  server.reload("example.test MX 5 new.example.test\nexample.test MX 50 backup.example.test\n");
  r->mx("example.test", [&](Answer<MxRecord> a) { got.push_back(std::move(a)); });
  loop.restart();
  loop.run_for(60s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].records, (std::vector<MxRecord>{{10, "old.example.test"}}));
  EXPECT_EQ(got[1].records, (std::vector<MxRecord>{{5, "new.example.test"}, {50, "backup.example.test"}}));
}

}  // namespace
}  // namespace sluice::dns

namespace sluice::dns {
namespace {

// Silence is not remembered: once the server answers again (the zone fixed mid-test, as a
// retry-then-success scenario does), the same resolver sees the answer on its next query.
// (A SERVFAIL, unlike silence, is kept by libunbound for 5 s, RFC 2308 §7.1: not tested here,
// it would need the wall clock.)
TEST(UnboundResolverReloadTest, SilenceIsNotCached) {
  testing::DnsTestServer server("slow.test TIMEOUT\n");
  asio::io_context loop;
  UnboundOptions o;
  o.forwarders = {server.forwarder()};
  o.timeout = 300ms;
  auto r = make_unbound_resolver(loop, o);
  std::vector<Answer<MxRecord>> got;
  auto keep = [&](Answer<MxRecord> a) { got.push_back(std::move(a)); };
  r->mx("slow.test", keep);
  loop.run_for(60s);
  server.reload("slow.test MX 10 mx.slow.test\n");
  r->mx("slow.test", keep);
  loop.restart();
  loop.run_for(60s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status, Status::timeout);
  EXPECT_EQ(got[1].status, Status::ok) << got[1].detail;
  EXPECT_EQ(got[1].records, (std::vector<MxRecord>{{10, "mx.slow.test"}}));
}

}  // namespace
}  // namespace sluice::dns
