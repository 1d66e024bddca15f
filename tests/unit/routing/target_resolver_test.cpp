// Tests for routing/target_resolver.cpp with a fake dns::Resolver: MX order and the shuffle
// of equal preferences (injected random source), implicit MX, null MX, NXDOMAIN / SERVFAIL /
// timeout, AAAA and A interleaved, duplicates, the max_hosts_per_attempt bound, hosts without
// addresses, smart hosts (names and "[ip]" literals), recipient address literals, answers in
// any order or inside the call, a config reload mid-resolution, and the coroutine adapter.
#include "routing/target_resolver.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "routing/target_resolver_awaitable.hpp"

namespace sluice::routing {
namespace {

using Strings = std::vector<std::string>;

// Answers from tables; a name not in a table is NXDOMAIN. Answers are held until run(),
// as a real resolver answers later, unless `synchronous` (a resolver breaking the
// "never inside the call" promise must not break us either).
class FakeResolver final : public dns::Resolver {
 public:
  std::map<std::string, dns::Answer<dns::MxRecord>> mx_answers;
  std::map<std::string, dns::Answer<std::string>> a_answers, aaaa_answers;
  Strings queries;
  bool synchronous = false;
  bool newest_first = false;  // deliver answers in the reverse order of the queries
  asio::io_context* loop = nullptr;  // when set, answers are posted to it instead

  void mx(std::string name, std::function<void(dns::Answer<dns::MxRecord>)> done) override {
    queries.push_back("MX " + name);
    deliver([this, name, done] { done(find(mx_answers, name)); });
  }
  void a(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    queries.push_back("A " + name);
    deliver([this, name, done] { done(find(a_answers, name)); });
  }
  void aaaa(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    queries.push_back("AAAA " + name);
    deliver([this, name, done] { done(find(aaaa_answers, name)); });
  }
  void txt(std::string, std::function<void(dns::Answer<std::string>)>) override { ADD_FAILURE() << "TXT asked"; }
  void ptr(std::string, std::function<void(dns::Answer<std::string>)>) override { ADD_FAILURE() << "PTR asked"; }

  // Runs held answers, including those of queries they start; bounded.
  void run() {
    for (int i = 0; i < 1000 && !held_.empty(); ++i) {
      std::function<void()> f;
      if (newest_first) {
        f = std::move(held_.back());
        held_.pop_back();
      } else {
        f = std::move(held_.front());
        held_.pop_front();
      }
      f();
    }
    EXPECT_TRUE(held_.empty());
  }

 private:
  template <typename T>
  static dns::Answer<T> find(const std::map<std::string, dns::Answer<T>>& table, const std::string& name) {
    auto it = table.find(name);
    if (it != table.end()) return it->second;
    dns::Answer<T> a;
    a.status = dns::Status::nxdomain;
    a.detail = "NXDOMAIN for " + name;
    return a;
  }
  void deliver(std::function<void()> f) {
    if (synchronous) {
      f();
    } else if (loop != nullptr) {
      asio::post(*loop, std::move(f));
    } else {
      held_.push_back(std::move(f));
    }
  }
  std::deque<std::function<void()>> held_;
};

template <typename T>
dns::Answer<T> ok(std::vector<T> records) {
  dns::Answer<T> a;
  a.status = dns::Status::ok;
  a.records = std::move(records);
  return a;
}

template <typename T>
dns::Answer<T> status(dns::Status s, std::string detail) {
  dns::Answer<T> a;
  a.status = s;
  a.detail = std::move(detail);
  return a;
}

dns::Answer<dns::MxRecord> mx(std::vector<dns::MxRecord> records) { return ok(std::move(records)); }

// A fixed sequence of "random" values, repeating.
TargetResolver::Random sequence(std::vector<uint32_t> values) {
  auto state = std::make_shared<std::pair<std::vector<uint32_t>, size_t>>(std::move(values), 0);
  return [state] { return state->first[state->second++ % state->first.size()]; };
}

// Calls resolve_* and returns the single result, checking `done` ran exactly once.
class Harness {
 public:
  FakeResolver dns;
  TargetResolver resolver{dns, sequence({0})};

  TargetList mx(const std::string& domain, unsigned max_targets = 10, uint16_t port = 25) {
    return collect([&](TargetResolver::Done d) { resolver.resolve_mx(domain, port, max_targets, std::move(d)); });
  }
  TargetList smart(std::vector<config::HostPort> hosts, unsigned max_targets = 10) {
    return collect([&](TargetResolver::Done d) { resolver.resolve_smart_hosts(hosts, 25, max_targets, std::move(d)); });
  }
  template <typename Start>
  TargetList collect(Start start) {
    int calls = 0;
    TargetList out;
    start([&](TargetList t) {
      ++calls;
      out = std::move(t);
    });
    dns.run();
    EXPECT_EQ(calls, 1);
    return out;
  }
};

Strings hosts_and_ips(const TargetList& list) {
  Strings out;
  for (const Target& t : list.targets) out.push_back(t.host + "[" + t.ip + "]:" + std::to_string(t.port) + "/" + std::to_string(t.preference));
  return out;
}

std::string error_text(const TargetList& list) { return list.error && list.error->reply ? list.error->reply->text() : "(none)"; }

TEST(TargetResolverTest, MxHostsInPreferenceOrder) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{20, "mx2.example.net"}, {10, "mx1.example.net"}, {30, "mx3.example.net"}});
  h.dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  h.dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.2"});
  h.dns.a_answers["mx3.example.net"] = ok<std::string>({"192.0.2.3"});
  h.dns.aaaa_answers["mx1.example.net"] = status<std::string>(dns::Status::nodata, "no AAAA record for mx1.example.net");
  const TargetList list = h.mx("Example.NET.", 10, 2525);
  EXPECT_FALSE(list.error);
  EXPECT_EQ(hosts_and_ips(list), (Strings{"mx1.example.net[192.0.2.1]:2525/10", "mx2.example.net[192.0.2.2]:2525/20",
                                          "mx3.example.net[192.0.2.3]:2525/30"}));
  EXPECT_EQ(h.dns.queries.front(), "MX example.net");
}

TEST(TargetResolverTest, AnswerOrderDoesNotChangeTheTargetOrder) {
  Harness h;
  h.dns.newest_first = true;
  h.dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}, {20, "mx2.example.net"}});
  h.dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  h.dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.2"});
  EXPECT_EQ(hosts_and_ips(h.mx("example.net")),
            (Strings{"mx1.example.net[192.0.2.1]:25/10", "mx2.example.net[192.0.2.2]:25/20"}));
}

TEST(TargetResolverTest, EqualPreferencesAreShuffledAndGroupsNeverMix) {
  // Every order of the three equal hosts appears over a few random sequences, and the
  // lower-preference host always comes first, the higher one last.
  std::set<Strings> orders;
  for (uint32_t seed = 0; seed < 30; ++seed) {
    FakeResolver dns;
    dns.mx_answers["example.net"] = mx({{5, "first.example.net"},
                                        {10, "a.example.net"},
                                        {10, "b.example.net"},
                                        {10, "c.example.net"},
                                        {50, "last.example.net"}});
    for (const char* n : {"first", "a", "b", "c", "last"})
      dns.a_answers[std::string(n) + ".example.net"] = ok<std::string>({"192.0.2." + std::to_string(n[0])});
    TargetResolver resolver(dns, sequence({seed, seed * 7 + 3, seed / 3}));
    std::optional<TargetList> result;
    resolver.resolve_mx("example.net", 25, 10, [&](TargetList t) { result = std::move(t); });
    dns.run();
    ASSERT_TRUE(result);
    ASSERT_EQ(result->targets.size(), 5u);
    EXPECT_EQ(result->targets.front().host, "first.example.net");
    EXPECT_EQ(result->targets.back().host, "last.example.net");
    orders.insert({result->targets[1].host, result->targets[2].host, result->targets[3].host});
  }
  EXPECT_EQ(orders.size(), 6u);
}

TEST(TargetResolverTest, SameRandomSequenceGivesTheSameOrder) {
  auto run = [](uint32_t value) {
    FakeResolver dns;
    dns.mx_answers["example.net"] = mx({{10, "a.example.net"}, {10, "b.example.net"}});
    dns.a_answers["a.example.net"] = ok<std::string>({"192.0.2.1"});
    dns.a_answers["b.example.net"] = ok<std::string>({"192.0.2.2"});
    TargetResolver resolver(dns, sequence({value}));
    std::string first;
    resolver.resolve_mx("example.net", 25, 10, [&](TargetList t) { first = t.targets.at(0).host; });
    dns.run();
    return first;
  };
  // Fisher-Yates over two: j = value % 2; 0 swaps them, 1 keeps them.
  EXPECT_EQ(run(0), "b.example.net");
  EXPECT_EQ(run(1), "a.example.net");
  EXPECT_EQ(run(0), run(2));
}

TEST(TargetResolverTest, ImplicitMxFromTheDomainsOwnAddresses) {
  Harness h;
  h.dns.mx_answers["example.net"] = status<dns::MxRecord>(dns::Status::nodata, "no MX record for example.net");
  h.dns.a_answers["example.net"] = ok<std::string>({"192.0.2.9"});
  h.dns.aaaa_answers["example.net"] = ok<std::string>({"2001:db8::9"});
  const TargetList list = h.mx("example.net");
  EXPECT_FALSE(list.error);
  EXPECT_EQ(hosts_and_ips(list), (Strings{"example.net[2001:db8::9]:25/0", "example.net[192.0.2.9]:25/0"}));
}

TEST(TargetResolverTest, ImplicitMxWithoutAnyAddressBouncesWith512) {
  Harness h;
  h.dns.mx_answers["example.net"] = status<dns::MxRecord>(dns::Status::nodata, "no MX record for example.net");
  h.dns.a_answers["example.net"] = status<std::string>(dns::Status::nodata, "no A record for example.net");
  h.dns.aaaa_answers["example.net"] = status<std::string>(dns::Status::nodata, "no AAAA record for example.net");
  const TargetList list = h.mx("example.net");
  EXPECT_TRUE(list.targets.empty());
  ASSERT_TRUE(list.error);
  EXPECT_EQ(list.error->klass, ErrorClass::permanent);
  EXPECT_EQ(error_text(list), "550 5.1.2 Domain example.net has no MX, A or AAAA record");
}

TEST(TargetResolverTest, NullMxBouncesWith5110WithoutAddressLookups) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{0, ""}});
  const TargetList list = h.mx("example.net");
  ASSERT_TRUE(list.error);
  EXPECT_EQ(list.error->klass, ErrorClass::permanent);
  EXPECT_EQ(list.error->reply->code(), 556);
  EXPECT_EQ(list.error->reply->enhanced(), "5.1.10");
  EXPECT_NE(error_text(list).find("null MX"), std::string::npos);
  EXPECT_EQ(h.dns.queries, Strings{"MX example.net"});
}

TEST(TargetResolverTest, NullMxBesideRealRecordsIsIgnored) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{0, ""}, {10, "mx.example.net"}});
  h.dns.a_answers["mx.example.net"] = ok<std::string>({"192.0.2.1"});
  EXPECT_EQ(hosts_and_ips(h.mx("example.net")), Strings{"mx.example.net[192.0.2.1]:25/10"});
}

TEST(TargetResolverTest, NxdomainBouncesWith512) {
  Harness h;
  const TargetList list = h.mx("nosuch.example");
  ASSERT_TRUE(list.error);
  EXPECT_EQ(list.error->klass, ErrorClass::permanent);
  EXPECT_EQ(error_text(list), "550 5.1.2 Domain not found: NXDOMAIN for nosuch.example");
}

TEST(TargetResolverTest, ServfailAndTimeoutOfTheMxQueryRetryWith443) {
  for (auto s : {dns::Status::servfail, dns::Status::timeout, dns::Status::error}) {
    Harness h;
    h.dns.mx_answers["example.net"] = status<dns::MxRecord>(s, std::string(dns::to_string(s)) + " for example.net");
    const TargetList list = h.mx("example.net");
    ASSERT_TRUE(list.error);
    EXPECT_EQ(list.error->klass, ErrorClass::transient);
    EXPECT_EQ(error_text(list), std::string("451 4.4.3 DNS query failed: ") + dns::to_string(s) + " for example.net");
    EXPECT_EQ(h.dns.queries, Strings{"MX example.net"});
  }
}

TEST(TargetResolverTest, Ipv6AndIpv4OfEachHostInterleaved) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}, {20, "mx2.example.net"}});
  h.dns.aaaa_answers["mx1.example.net"] = ok<std::string>({"2001:db8::1", "2001:db8::2"});
  h.dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  h.dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.2"});
  EXPECT_EQ(hosts_and_ips(h.mx("example.net")),
            (Strings{"mx1.example.net[2001:db8::1]:25/10", "mx1.example.net[192.0.2.1]:25/10",
                     "mx1.example.net[2001:db8::2]:25/10", "mx2.example.net[192.0.2.2]:25/20"}));
}

TEST(TargetResolverTest, BoundedByMaxHostsPerAttempt) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}, {20, "mx2.example.net"}, {30, "mx3.example.net"}});
  h.dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1", "192.0.2.11"});
  h.dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.2"});
  h.dns.a_answers["mx3.example.net"] = ok<std::string>({"192.0.2.3"});
  EXPECT_EQ(hosts_and_ips(h.mx("example.net", 2)),
            (Strings{"mx1.example.net[192.0.2.1]:25/10", "mx1.example.net[192.0.2.11]:25/10"}));
  EXPECT_EQ(h.mx("example.net", 3).targets.size(), 3u);
  EXPECT_EQ(h.mx("example.net", 0).targets.size(), 1u);  // 0 would mean "never try": at least one
}

TEST(TargetResolverTest, AnAddressSharedByTwoMxHostsIsTriedOnce) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}, {20, "mx2.example.net"}, {20, "mx2.example.net"}});
  h.dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  h.dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.1", "192.0.2.2"});
  EXPECT_EQ(hosts_and_ips(h.mx("example.net")),
            (Strings{"mx1.example.net[192.0.2.1]:25/10", "mx2.example.net[192.0.2.2]:25/20"}));
  // The repeated MX record is looked up once.
  EXPECT_EQ(std::count(h.dns.queries.begin(), h.dns.queries.end(), "A mx2.example.net"), 1);
}

TEST(TargetResolverTest, MxHostWithoutAddressIsSkipped) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{10, "gone.example.net"}, {20, "mx2.example.net"}});
  h.dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.2"});
  EXPECT_EQ(hosts_and_ips(h.mx("example.net")), Strings{"mx2.example.net[192.0.2.2]:25/20"});
}

TEST(TargetResolverTest, NoMxHostWithAnAddressBouncesWith544) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{10, "gone1.example.net"}, {20, "gone2.example.net"}});
  const TargetList list = h.mx("example.net");
  ASSERT_TRUE(list.error);
  EXPECT_EQ(list.error->klass, ErrorClass::permanent);
  EXPECT_EQ(error_text(list),
            "550 5.4.4 No MX host of example.net has an address: gone1.example.net (NXDOMAIN for gone1.example.net), "
            "gone2.example.net (NXDOMAIN for gone2.example.net)");
}

TEST(TargetResolverTest, ATransientFailureOfAnMxHostMeansRetryNotBounce) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{10, "gone.example.net"}, {20, "flaky.example.net"}});
  h.dns.a_answers["flaky.example.net"] = status<std::string>(dns::Status::servfail, "SERVFAIL for flaky.example.net");
  h.dns.aaaa_answers["flaky.example.net"] = status<std::string>(dns::Status::nodata, "no AAAA record for flaky.example.net");
  const TargetList list = h.mx("example.net");
  ASSERT_TRUE(list.error);
  EXPECT_EQ(list.error->klass, ErrorClass::transient);
  EXPECT_EQ(error_text(list), "451 4.4.3 DNS query failed: SERVFAIL for flaky.example.net");
}

TEST(TargetResolverTest, ATransientFailureBesideUsableHostsStillGivesTargets) {
  Harness h;
  h.dns.mx_answers["example.net"] = mx({{10, "flaky.example.net"}, {20, "mx2.example.net"}});
  h.dns.a_answers["flaky.example.net"] = status<std::string>(dns::Status::timeout, "timeout for flaky.example.net");
  h.dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.2"});
  const TargetList list = h.mx("example.net");
  EXPECT_FALSE(list.error);
  EXPECT_EQ(hosts_and_ips(list), Strings{"mx2.example.net[192.0.2.2]:25/20"});
}

TEST(TargetResolverTest, RecipientAddressLiteralNeedsNoDns) {
  Harness h;
  EXPECT_EQ(hosts_and_ips(h.mx("[192.0.2.7]", 5, 2525)), Strings{"192.0.2.7[192.0.2.7]:2525/0"});
  EXPECT_EQ(hosts_and_ips(h.mx("[IPv6:2001:db8::7]")), Strings{"2001:db8::7[2001:db8::7]:25/0"});
  const TargetList bad = h.mx("[not-an-ip]");
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.error->klass, ErrorClass::permanent);
  EXPECT_TRUE(h.dns.queries.empty());
}

TEST(TargetResolverTest, SmartHostsInWrittenOrderLiteralsWithoutDns) {
  Harness h;
  h.dns.a_answers["relay.partner.test"] = ok<std::string>({"192.0.2.50"});
  const TargetList list = h.smart({config::HostPort{"relay.partner.test", 587, false},
                                   config::HostPort{"127.0.0.1", 2600, true}, config::HostPort{"backup.partner.test", 0, false}});
  // backup.partner.test does not resolve: skipped; its port would have been the connector's.
  EXPECT_FALSE(list.error);
  EXPECT_EQ(hosts_and_ips(list), (Strings{"relay.partner.test[192.0.2.50]:587/0", "127.0.0.1[127.0.0.1]:2600/1"}));
  EXPECT_EQ(std::count(h.dns.queries.begin(), h.dns.queries.end(), "A 127.0.0.1"), 0);
  EXPECT_EQ(std::count_if(h.dns.queries.begin(), h.dns.queries.end(), [](const std::string& q) { return q.starts_with("MX"); }), 0);
}

TEST(TargetResolverTest, SmartHostDefaultPortIsTheConnectors) {
  Harness h;
  h.dns.a_answers["relay.partner.test"] = ok<std::string>({"192.0.2.50"});
  EXPECT_EQ(hosts_and_ips(h.smart({config::HostPort{"relay.partner.test", 0, false}})),
            Strings{"relay.partner.test[192.0.2.50]:25/0"});
}

TEST(TargetResolverTest, UnresolvableSmartHostsWaitInsteadOfBouncing) {
  Harness h;
  const TargetList list = h.smart({config::HostPort{"typo.partner.test", 587, false}});
  ASSERT_TRUE(list.error);
  EXPECT_EQ(list.error->klass, ErrorClass::transient);
  EXPECT_EQ(error_text(list), "451 4.4.3 No smart host has an address: typo.partner.test (NXDOMAIN for typo.partner.test)");
}

config::Config two_connectors() {
  config::Config cfg;
  config::SendConnector internet;
  internet.name = "internet";
  internet.address_spaces = {"*"};
  internet.port = 2525;
  internet.max_hosts_per_attempt = 1;
  config::SendConnector partner;
  partner.name = "partner";
  partner.address_spaces = {"partner.test"};
  partner.smart_hosts = {config::HostPort{"127.0.0.1", 2600, true}};
  cfg.send_connectors = {internet, partner};
  return cfg;
}

TEST(TargetResolverTest, ResolveANextHopUsesItsConnector) {
  Harness h;
  const config::Config cfg = two_connectors();
  h.dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}, {20, "mx2.example.net"}});
  h.dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  h.dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.2"});
  const NextHop mx_hop = next_hop_for(cfg, "example.net");
  EXPECT_EQ(hosts_and_ips(h.collect([&](auto d) { h.resolver.resolve(mx_hop, std::move(d)); })),
            Strings{"mx1.example.net[192.0.2.1]:2525/10"});  // port and the bound of "internet"
  const NextHop smart_hop = next_hop_for(cfg, "partner.test");
  EXPECT_EQ(hosts_and_ips(h.collect([&](auto d) { h.resolver.resolve(smart_hop, std::move(d)); })),
            Strings{"127.0.0.1[127.0.0.1]:2600/0"});
}

TEST(TargetResolverTest, UnreachableHopIsATransientErrorWithTheReason) {
  Harness h;
  const NextHop hop = next_hop_for(config::Config{}, "example.net");
  const TargetList list = h.collect([&](auto d) { h.resolver.resolve(hop, std::move(d)); });
  ASSERT_TRUE(list.error);
  EXPECT_EQ(list.error->klass, ErrorClass::transient);
  EXPECT_EQ(list.error->reply->enhanced(), "4.4.0");
  EXPECT_NE(error_text(list).find("no send connector is configured"), std::string::npos);
  EXPECT_TRUE(h.dns.queries.empty());
}

TEST(TargetResolverTest, AnswersInsideTheCallStillCompleteOnce) {
  Harness h;
  h.dns.synchronous = true;
  h.dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}});
  h.dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  EXPECT_EQ(hosts_and_ips(h.mx("example.net")), Strings{"mx1.example.net[192.0.2.1]:25/10"});
}

TEST(TargetResolverTest, AConfigReloadDuringResolutionIsHarmless) {
  // The connector is gone (a reload swapped the snapshot) before DNS answers: the
  // resolution must not read it any more. AddressSanitizer checks this.
  Harness h;
  auto cfg = std::make_unique<config::Config>(two_connectors());
  h.dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}});
  h.dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  std::optional<TargetList> result;
  h.resolver.resolve(next_hop_for(*cfg, "example.net"), [&](TargetList t) { result = std::move(t); });
  cfg.reset();
  h.dns.run();
  ASSERT_TRUE(result);
  EXPECT_EQ(hosts_and_ips(*result), Strings{"mx1.example.net[192.0.2.1]:2525/10"});
}

TEST(TargetResolverTest, TheTargetResolverMayGoAwayBeforeTheAnswers) {
  FakeResolver dns;
  dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}, {10, "mx2.example.net"}});
  dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  dns.a_answers["mx2.example.net"] = ok<std::string>({"192.0.2.2"});
  std::optional<TargetList> result;
  {
    auto resolver = std::make_unique<TargetResolver>(dns, sequence({1}));
    resolver->resolve_mx("example.net", 25, 5, [&](TargetList t) { result = std::move(t); });
  }
  dns.run();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->targets.size(), 2u);
}

TEST(TargetResolverTest, DnsFailureReplies) {
  EXPECT_EQ(dns_failure(dns::Status::nxdomain, "NXDOMAIN for x.test").reply->text(), "550 5.1.2 Domain not found: NXDOMAIN for x.test");
  EXPECT_EQ(dns_failure(dns::Status::nxdomain, "").klass, ErrorClass::permanent);
  EXPECT_EQ(dns_failure(dns::Status::nodata, "no A record for x.test").reply->text(), "550 5.1.2 No mail host: no A record for x.test");
  EXPECT_EQ(dns_failure(dns::Status::servfail, "SERVFAIL for mx.example.net").reply->text(),
            "451 4.4.3 DNS query failed: SERVFAIL for mx.example.net");
  const Error timeout = dns_failure(dns::Status::timeout, "", "mx.example.net");
  EXPECT_EQ(timeout.klass, ErrorClass::transient);
  EXPECT_EQ(timeout.reply->text(), std::string("451 4.4.3 DNS query failed: ") + dns::to_string(dns::Status::timeout) + " for mx.example.net");
}

TEST(TargetResolverTest, CoroutineAdapterResumesWithTheList) {
  asio::io_context loop;
  FakeResolver dns;
  dns.loop = &loop;  // answers arrive later, from the loop, like the real resolver's
  dns.mx_answers["example.net"] = mx({{10, "mx1.example.net"}});
  dns.a_answers["mx1.example.net"] = ok<std::string>({"192.0.2.1"});
  TargetResolver resolver(dns, sequence({0}));
  const config::Config cfg = two_connectors();
  const config::Config empty;
  // Built outside the coroutine: GCC 12 miscompiles string literals in coroutine lambdas.
  const NextHop mx_hop = next_hop_for(cfg, "example.net");
  const NextHop unreachable_hop = next_hop_for(empty, "example.net");
  std::optional<TargetList> mx_list, unreachable_list;
  asio::co_spawn(
      loop,
      [&]() -> asio::awaitable<void> {
        mx_list = co_await async_resolve_targets(resolver, mx_hop);
        // Completes inside the call (no DNS needed): still resumes properly.
        unreachable_list = co_await async_resolve_targets(resolver, unreachable_hop);
      },
      asio::detached);
  loop.run();
  ASSERT_TRUE(mx_list);
  EXPECT_EQ(hosts_and_ips(*mx_list), Strings{"mx1.example.net[192.0.2.1]:2525/10"});
  ASSERT_TRUE(unreachable_list);
  EXPECT_TRUE(unreachable_list->error);
}

}  // namespace
}  // namespace sluice::routing

namespace sluice::routing {
namespace {

TEST(TargetResolverLoopTest, OwnMxAndLessPreferredOnesAreDropped) {
  FakeResolver dns;
  dns.mx_answers["example.net"] = mx({{10, "primary.example.net"}, {20, "mx.self.test"}, {20, "peer.example.net"},
                                      {30, "backup.example.net"}});
  for (const char* n : {"primary.example.net", "peer.example.net", "backup.example.net"})
    dns.a_answers[n] = ok<std::string>({"192.0.2.1"});
  TargetResolver resolver(dns, sequence({0}), {"MX.Self.Test."});
  std::optional<TargetList> result;
  resolver.resolve_mx("example.net", 25, 10, [&](TargetList t) { result = std::move(t); });
  dns.run();
  ASSERT_TRUE(result);
  EXPECT_EQ(hosts_and_ips(*result), Strings{"primary.example.net[192.0.2.1]:25/10"});
}

TEST(TargetResolverLoopTest, BeingTheBestMxIsALoop) {
  FakeResolver dns;
  dns.mx_answers["example.net"] = mx({{10, "mx.self.test"}, {20, "backup.example.net"}});
  dns.a_answers["backup.example.net"] = ok<std::string>({"192.0.2.2"});
  TargetResolver resolver(dns, sequence({0}), {"mx.self.test"});
  std::optional<TargetList> result;
  resolver.resolve_mx("example.net", 25, 10, [&](TargetList t) { result = std::move(t); });
  dns.run();
  ASSERT_TRUE(result && result->error);
  EXPECT_EQ(result->error->klass, ErrorClass::permanent);
  EXPECT_EQ(result->error->reply->text(), "554 5.4.6 Mail for example.net loops back to myself");
  EXPECT_NE(result->error->context.find("accepted_domain"), std::string::npos);
  EXPECT_EQ(dns.queries, Strings{"MX example.net"});
}

}  // namespace
}  // namespace sluice::routing
