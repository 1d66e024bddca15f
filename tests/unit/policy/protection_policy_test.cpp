// Tests for policy/protection_policy: the order of the checks, who is exempt, and that every
// asynchronous lookup goes through the session's seam (pending, then await_verdict).
#include "policy/protection_policy.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "fake_resolver.hpp"

namespace sluice::policy {
namespace {

using namespace std::chrono_literals;
using smtp::Verdict;
using testing::FakeResolver;

// The connector's own rules: refuses RCPT to nobody@example.test, mints Q1, Q2...
class InnerPolicy final : public smtp::SessionPolicy {
 public:
  std::optional<Reply> check_connect(const smtp::ClientInfo&) override { return std::nullopt; }
  std::optional<Reply> check_helo(std::string_view) override { return std::nullopt; }
  std::optional<Reply> check_mail_from(const smtp::MailFromArgs&) override { return std::nullopt; }
  std::optional<Reply> check_rcpt(const smtp::RcptToArgs& a, const smtp::Envelope&) override {
    if (a.path.address() == "nobody@example.test") return Reply(550, "5.1.1", "User unknown");
    return std::nullopt;
  }
  std::string new_queue_id() override { return "Q" + std::to_string(++n_); }

 private:
  int n_ = 0;
};

smtp::RcptToArgs rcpt(const std::string& address) {
  auto r = smtp::parse_rcpt_to("TO:<" + address + ">", false);
  EXPECT_TRUE(r);
  return *r;
}

smtp::MailFromArgs mail(const std::string& address) {
  auto m = smtp::parse_mail_from("FROM:<" + address + ">");
  EXPECT_TRUE(m);
  return *m;
}

class ProtectionPolicyTest : public ::testing::Test {
 protected:
  ProtectionPolicyTest() {
    connector_.name = "Frontend";
    connector_.usage = config::ConnectorUsage::internet;
    config::DnsblZone z;
    z.zone = "bl.test";
    z.codes["127.0.0.2"] = "spam source";
    protection_.dnsbl.push_back(z);
    protection_.greylist.enabled = true;
    protection_.greylist.delay = 60s;
    resolver_.a_answers["2.0.0.127.bl.test"] = FakeResolver::ok({"127.0.0.2"});
    resolver_.txt_answers["2.0.0.127.bl.test"] = FakeResolver::ok({"Blocked, see https://bl.test/q?127.0.0.2"});
  }

  std::unique_ptr<ProtectionPolicy> make() {
    return std::make_unique<ProtectionPolicy>(std::make_unique<InnerPolicy>(), connector_,
                                              ProtectionServices{protection_, &dnsbl_, &resolver_, &greylist_, &rates_});
  }
  // Settles a pending verdict the way the driver does.
  static Verdict settle(ProtectionPolicy& p, Verdict v, FakeResolver& r) {
    if (!v.is_pending()) return v;
    std::optional<Verdict> got;
    p.await_verdict([&](Verdict x) { got = std::move(x); });
    r.run_all();
    EXPECT_TRUE(got.has_value());
    return got ? *got : Verdict::accept();
  }

  config::ReceiveConnector connector_;
  config::Protection protection_;
  FakeResolver resolver_;
  ManualClock clock_{SystemTime{std::chrono::seconds{1751364123}}};
  DnsblChecker dnsbl_{resolver_, protection_.dnsbl};
  LocalGreylistStore store_;
  Greylist greylist_{protection_.greylist, store_, clock_};
  RateLimits rates_{clock_};
};

TEST_F(ProtectionPolicyTest, ListedClientIsRefusedAtConnectAfterWaiting) {
  resolver_.hold = true;
  int counted = 0;
  auto p = std::make_unique<ProtectionPolicy>(
      std::make_unique<InnerPolicy>(), connector_,
      ProtectionServices{protection_, &dnsbl_, &resolver_, &greylist_, &rates_,
                         [&](const std::string&, Refusal why) { counted += why == Refusal::dnsbl; }});
  smtp::ClientInfo c{"127.0.0.2", 1, "127.0.0.1", 25, ""};
  const Verdict v = p->decide_connect(smtp::SessionFacts{c, "", "", false});
  ASSERT_TRUE(v.is_pending());
  const Verdict final = settle(*p, v, resolver_);
  ASSERT_TRUE(final.rejected());
  EXPECT_EQ(final.reply().text(),
            "554 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test: "
            "Blocked, see https://bl.test/q?127.0.0.2");
  EXPECT_EQ(counted, 1);
}

TEST_F(ProtectionPolicyTest, AnswersInsideTheCallNeedNoWait) {
  auto p = make();  // the resolver answers inside the call
  smtp::ClientInfo c{"127.0.0.1", 1, "127.0.0.1", 25, ""};
  EXPECT_TRUE(p->decide_connect(smtp::SessionFacts{c, "", "", false}).accepted());
  EXPECT_EQ(resolver_.asked, std::vector<std::string>{"A 1.0.0.127.bl.test"});
}

TEST_F(ProtectionPolicyTest, RcptActionRefusesRecipientsButNotPostmasterOrUsers) {
  protection_.dnsbl[0].action = config::DnsblAction::rcpt;
  protection_.greylist.enabled = false;
  auto p = make();
  smtp::ClientInfo c{"127.0.0.2", 1, "127.0.0.1", 25, ""};
  EXPECT_TRUE(p->decide_connect(smtp::SessionFacts{c, "", "", false}).accepted());
  smtp::Envelope env;
  const Verdict v = p->decide_rcpt(smtp::SessionFacts{c, "h", "", false}, rcpt("bob@example.test"), env);
  ASSERT_TRUE(v.rejected());
  EXPECT_EQ(v.reply().code(), 554);
  EXPECT_TRUE(p->decide_rcpt(smtp::SessionFacts{c, "h", "", false}, rcpt("postmaster"), env).accepted());
  EXPECT_TRUE(p->decide_rcpt(smtp::SessionFacts{c, "h", "alice", true}, rcpt("bob@example.test"), env).accepted());
}

TEST_F(ProtectionPolicyTest, RecordActionAcceptsAndRecordsTheListingInTheMessage) {
  protection_.dnsbl[0].action = config::DnsblAction::record;
  protection_.greylist.enabled = false;
  auto p = make();
  smtp::ClientInfo c{"127.0.0.2", 1, "127.0.0.1", 25, ""};
  const smtp::SessionFacts f{c, "h", "", false};
  EXPECT_TRUE(p->decide_connect(f).accepted());
  EXPECT_TRUE(p->decide_rcpt(f, rcpt("bob@example.test"), smtp::Envelope{}).accepted());
  smtp::Message m;
  m.content = "Received: x\r\n\r\nbody\r\n";
  EXPECT_TRUE(p->decide_message(f, m).accepted());
  EXPECT_EQ(m.content,
            "X-Sluice-DNSBL: [127.0.0.2] listed in bl.test (127.0.0.2 spam source)\r\nReceived: x\r\n\r\nbody\r\n");
}

TEST_F(ProtectionPolicyTest, StaticAllowlistSkipsBlocklistsAndGreylisting) {
  protection_.settings.allowlist.push_back(*config::IpRange::parse("127.0.0.0/30"));
  auto p = make();
  smtp::ClientInfo c{"127.0.0.2", 1, "127.0.0.1", 25, ""};
  const smtp::SessionFacts f{c, "h", "", false};
  EXPECT_TRUE(p->decide_connect(f).accepted());
  EXPECT_TRUE(resolver_.asked.empty());
  EXPECT_TRUE(p->allowlisted());
  smtp::Envelope env;
  env.mail_from = "a@example.org";
  EXPECT_TRUE(p->decide_rcpt(f, rcpt("bob@example.test"), env).accepted());
}

TEST_F(ProtectionPolicyTest, GreylistingAfterRelayControlAndNotForAuthenticatedClients) {
  protection_.dnsbl.clear();
  auto p = make();
  smtp::ClientInfo c{"192.0.2.1", 1, "127.0.0.1", 25, ""};
  const smtp::SessionFacts f{c, "h", "", false};
  EXPECT_TRUE(p->decide_connect(f).accepted());
  smtp::Envelope env;
  env.mail_from = "a@example.org";
  // An unknown user gets the relay control's answer, not a greylisting delay.
  Verdict unknown = p->decide_rcpt(f, rcpt("nobody@example.test"), env);
  ASSERT_TRUE(unknown.rejected());
  EXPECT_EQ(unknown.reply().code(), 550);
  Verdict first = settle(*p, p->decide_rcpt(f, rcpt("bob@example.test"), env), resolver_);
  ASSERT_TRUE(first.rejected());
  EXPECT_EQ(first.reply().text(), "451 4.7.1 Greylisted, try again in 60 seconds");
  EXPECT_TRUE(p->decide_rcpt(smtp::SessionFacts{c, "h", "alice", true}, rcpt("bob@example.test"), env).accepted());
  clock_.advance(61s);
  EXPECT_TRUE(p->decide_rcpt(f, rcpt("bob@example.test"), env).accepted());
}

TEST_F(ProtectionPolicyTest, RelayAndClientConnectorsAreNotGreylisted) {
  protection_.dnsbl.clear();
  connector_.usage = config::ConnectorUsage::relay;
  auto p = make();
  smtp::ClientInfo c{"192.0.2.1", 1, "127.0.0.1", 25, ""};
  const smtp::SessionFacts f{c, "h", "", false};
  EXPECT_TRUE(p->decide_rcpt(f, rcpt("bob@example.test"), smtp::Envelope{}).accepted());
}

// A store that answers later, as the shared store of cluster mode will.
class LaterStore final : public GreylistStore {
 public:
  void get(const std::string& key, std::function<void(std::optional<GreylistRecord>)> done) override {
    held.push_back([this, key, done] { inner.get(key, done); });
  }
  void put(const std::string& key, const GreylistRecord& r) override { inner.put(key, r); }
  void run_all() {
    for (int i = 0; i < 100 && !held.empty(); ++i) {
      auto f = std::move(held.front());
      held.erase(held.begin());
      f();
    }
  }
  LocalGreylistStore inner;
  std::vector<std::function<void()>> held;
};

TEST_F(ProtectionPolicyTest, ASlowGreylistStoreMakesRcptPending) {
  protection_.dnsbl.clear();
  LaterStore later;
  Greylist slow(protection_.greylist, later, clock_);
  ProtectionPolicy p(std::make_unique<InnerPolicy>(), connector_,
                     ProtectionServices{protection_, nullptr, nullptr, &slow, nullptr});
  smtp::ClientInfo c{"192.0.2.1", 1, "127.0.0.1", 25, ""};
  const smtp::SessionFacts f{c, "h", "", false};
  smtp::Envelope env;
  env.mail_from = "a@example.org";
  const Verdict v = p.decide_rcpt(f, rcpt("bob@example.test"), env);
  ASSERT_TRUE(v.is_pending());
  std::optional<Verdict> got;
  p.await_verdict([&](Verdict x) { got = std::move(x); });
  EXPECT_FALSE(got);
  later.run_all();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->reply().code(), 451);
}

TEST_F(ProtectionPolicyTest, RateLimitsAtConnectMailAndRcpt) {
  protection_.dnsbl.clear();
  protection_.greylist.enabled = false;
  config::RateLimitSettings l;
  l.connector = "Frontend";
  l.connections_per_minute_per_ip = 1;
  l.messages_per_minute_per_ip = 1;
  l.recipients_per_message = 1;
  protection_.rate_limits.push_back(l);
  smtp::ClientInfo c{"192.0.2.1", 1, "127.0.0.1", 25, ""};
  const smtp::SessionFacts f{c, "h", "", false};
  std::vector<std::string> counted;
  auto p = make();
  EXPECT_TRUE(p->decide_connect(f).accepted());
  auto counting = std::make_unique<ProtectionPolicy>(
      std::make_unique<InnerPolicy>(), connector_,
      ProtectionServices{protection_, &dnsbl_, &resolver_, &greylist_, &rates_,
                         [&](const std::string& connector, Refusal why) {
                           counted.push_back(connector + " " + to_string(why));
                         }});
  const Verdict second = counting->decide_connect(f);
  EXPECT_EQ(counted, std::vector<std::string>{"Frontend connection_rate"});
  ASSERT_TRUE(second.rejected());
  EXPECT_EQ(second.reply().code(), 421);
  EXPECT_TRUE(p->decide_mail_from(f, mail("a@example.org")).accepted());
  const Verdict again = p->decide_mail_from(f, mail("a@example.org"));
  ASSERT_TRUE(again.rejected());
  EXPECT_EQ(again.reply().code(), 451);
  smtp::Envelope env;
  env.recipients.push_back(smtp::Recipient{"x@example.test", {}, ""});
  const Verdict many = p->decide_rcpt(f, rcpt("bob@example.test"), env);
  ASSERT_TRUE(many.rejected());
  EXPECT_EQ(many.reply().code(), 452);
}

TEST_F(ProtectionPolicyTest, ReverseDnsRules) {
  protection_.dnsbl.clear();
  protection_.settings.require_fcrdns = true;
  resolver_.ptr_answers["192.0.2.1"] = FakeResolver::ok({"mail.example.org"});
  resolver_.a_answers["mail.example.org"] = FakeResolver::ok({"192.0.2.1"});
  resolver_.ptr_answers["192.0.2.2"] = FakeResolver::ok({"forged.example.org"});
  resolver_.a_answers["forged.example.org"] = FakeResolver::ok({"198.51.100.7"});
  smtp::ClientInfo good{"192.0.2.1", 1, "127.0.0.1", 25, ""};
  smtp::ClientInfo forged{"192.0.2.2", 1, "127.0.0.1", 25, ""};
  smtp::ClientInfo none{"192.0.2.3", 1, "127.0.0.1", 25, ""};
  EXPECT_TRUE(make()->decide_connect(smtp::SessionFacts{good, "", "", false}).accepted());
  const Verdict f = make()->decide_connect(smtp::SessionFacts{forged, "", "", false});
  ASSERT_TRUE(f.rejected());
  EXPECT_EQ(f.reply().text(), "550 5.7.25 Client host rejected: hostname forged.example.org does not resolve to [192.0.2.2]");
  const Verdict n = make()->decide_connect(smtp::SessionFacts{none, "", "", false});
  ASSERT_TRUE(n.rejected());
  EXPECT_EQ(n.reply().text(), "550 5.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.3]");
}

}  // namespace
}  // namespace sluice::policy
