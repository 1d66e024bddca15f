// tests/unit/diagnose/doctor_test.cpp: `sluice doctor` checks against test zones served by
// tests/tools/dns_server.py through the real unbound resolver, and SMTP peers on loopback:
// missing MX, null MX, nonexistent domain, SPF over the lookup limit, +all, ?all, no DMARC,
// p=none, DKIM present/absent, a refusing port, a self-signed STARTTLS peer, blocklist listing.
#include "diagnose/doctor.hpp"

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "../dns/dns_test_server.hpp"
#include "dns/unbound_resolver.hpp"
#include "probe_peer.hpp"

namespace sluice::diagnose {
namespace {

const char* kZone = R"(
good.test               MX    10 mx.good.test
mx.good.test            A     127.0.0.1
1.0.0.127.in-addr.arpa  PTR   mx.good.test
good.test               TXT   "v=spf1 mx ip4:192.0.2.0/24 -all"
_dmarc.good.test        TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
default._domainkey.good.test TXT "v=DKIM1; k=rsa; " "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
_mta-sts.good.test      TXT   "v=STSv1; id=20260101"
_smtp._tls.good.test    TXT   "v=TLSRPTv1; rua=mailto:tls@good.test"
nomx.test               A     127.0.0.1
nomx.test               TXT   "v=spf1 ?all"
_dmarc.nomx.test        TXT   "v=DMARC1; p=none"
null.test               MX    0 .
null.test               TXT   "v=spf1 -all"
plusall.test            MX    10 mx.good.test
plusall.test            TXT   "v=spf1 +all"
limit.test              MX    10 mx.good.test
limit.test              TXT   "v=spf1 include:i1.test include:i2.test include:i3.test include:i4.test include:i5.test include:i6.test -all"
i1.test                 TXT   "v=spf1 a mx -all"
i2.test                 TXT   "v=spf1 a mx -all"
i3.test                 TXT   "v=spf1 a mx -all"
i4.test                 TXT   "v=spf1 a mx -all"
i5.test                 TXT   "v=spf1 a mx -all"
i6.test                 TXT   "v=spf1 a mx foo:bar -all"
noaddr.test             MX    10 ghost.noaddr.test
2.0.0.127.bl.test       A     127.0.0.2
2.0.0.127.bl.test       TXT   "Listed for spam, see https://bl.test/lookup"
)";

class Doctor : public ::testing::Test {
 protected:
  Doctor() : dns_(kZone) {
    dns::UnboundOptions u;
    u.forwarders = {dns_.forwarder()};
    u.timeout = std::chrono::milliseconds(3000);
    resolver_ = dns::make_unbound_resolver(loop_, u);
  }
  ~Doctor() override { resolver_.reset(); }
  DoctorReport domain(const std::string& d, bool smtp = false, uint16_t port = 25) {
    DomainCheckOptions o;
    o.domain = d;
    o.check_smtp = smtp;
    o.smtp_port = port;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.command_timeout = std::chrono::milliseconds(2000);
    return check_domain(*resolver_, loop_, o);
  }
  dns::testing::DnsTestServer dns_;
  asio::io_context loop_;
  std::unique_ptr<dns::Resolver> resolver_;
};

// The finding of `section` whose message contains `text`; fails the test when there is none.
const Finding* find(const DoctorReport& r, const std::string& section, const std::string& text) {
  for (const auto& f : r.findings)
    if (f.section == section && f.message.find(text) != std::string::npos) return &f;
  ADD_FAILURE() << "no " << section << " finding containing '" << text << "' in:\n" << render_text(r);
  return nullptr;
}

void expect(const DoctorReport& r, const std::string& section, const std::string& text, Verdict v) {
  const Finding* f = find(r, section, text);
  if (f) {
    EXPECT_EQ(f->verdict, v) << f->message;
  }
}

TEST_F(Doctor, WellConfiguredDomainPasses) {
  auto r = domain("good.test");
  EXPECT_EQ(r.count(Verdict::fail), 0u) << render_text(r);
  EXPECT_EQ(r.count(Verdict::warn), 0u) << render_text(r);
  EXPECT_EQ(r.exit_code(), 0);
  expect(r, "MX", "MX 10 mx.good.test", Verdict::pass);
  expect(r, "Reverse DNS", "127.0.0.1 PTR mx.good.test", Verdict::pass);
  expect(r, "SPF", "1 DNS lookups (limit 10)", Verdict::pass);  // mx; ip4 needs no lookup
  expect(r, "DMARC", "policy p=reject", Verdict::pass);
  expect(r, "DKIM", "default._domainkey.good.test (rsa)", Verdict::pass);
  expect(r, "MTA-STS", "v=STSv1", Verdict::pass);
  expect(r, "TLS-RPT", "v=TLSRPTv1", Verdict::pass);
}

TEST_F(Doctor, MissingMxFallsBackToTheAddressAndWarns) {
  auto r = domain("nomx.test");
  expect(r, "MX", "implicit MX", Verdict::warn);
  expect(r, "SPF", "'?all' is neutral", Verdict::warn);
  if (auto f = find(r, "DMARC", "policy p=none")) {
    EXPECT_EQ(f->verdict, Verdict::warn);
    EXPECT_NE(f->advice.find("p=quarantine"), std::string::npos);
  }
  expect(r, "DMARC", "no rua=", Verdict::warn);
  expect(r, "DKIM", "common selectors", Verdict::warn);
}

TEST_F(Doctor, NullMxAndNoDmarc) {
  auto r = domain("null.test");
  expect(r, "MX", "null MX", Verdict::warn);
  expect(r, "DMARC", "no DMARC record at _dmarc.null.test", Verdict::fail);
  EXPECT_EQ(r.exit_code(), 2);
}

TEST_F(Doctor, NonexistentDomainFails) {
  auto r = domain("nothing.test");
  expect(r, "MX", "does not exist (NXDOMAIN)", Verdict::fail);
  expect(r, "SPF", "no SPF record", Verdict::fail);
}

TEST_F(Doctor, MxHostWithoutAddress) {
  auto r = domain("noaddr.test");
  expect(r, "Addresses", "ghost.noaddr.test has no address", Verdict::fail);
}

TEST_F(Doctor, PlusAllIsAFailure) {
  auto r = domain("plusall.test");
  expect(r, "SPF", "'+all' authorizes every host", Verdict::fail);
}

TEST_F(Doctor, SpfOverTheLookupLimitCountsIncludesRecursively) {
  auto r = domain("limit.test");
  // 6 includes + 6 x (a + mx) = 18.
  expect(r, "SPF", "18 DNS lookups (the limit is 10)", Verdict::fail);
  expect(r, "SPF", "included i6.test: unknown mechanism 'foo:bar'", Verdict::fail);
}

TEST_F(Doctor, GivenDkimSelectorMissingFails) {
  DomainCheckOptions o;
  o.domain = "good.test";
  o.check_smtp = false;
  o.dkim_selectors = {"nosuch"};
  auto r = check_domain(*resolver_, loop_, o);
  expect(r, "DKIM", "no DKIM key at nosuch._domainkey.good.test", Verdict::fail);
}

TEST_F(Doctor, RefusedPortIsItsOwnFinding) {
  uint16_t port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto r = domain("good.test", true, port);
  if (auto f = find(r, "SMTP", "Connection refused")) {
    EXPECT_EQ(f->verdict, Verdict::fail);
    EXPECT_NE(f->advice.find("nothing accepts connections on port"), std::string::npos);
  }
}

TEST_F(Doctor, SelfSignedStarttlsPeerWarns) {
  const std::string dir = testing_peer::make_temp_dir();
  auto kc = testing_peer::make_certificate(dir, "self", "mx.good.test", -1, 365, nullptr);
  testing_peer::PeerScript s;
  s.starttls = true;
  s.cert_file = kc.cert_file;
  s.key_file = kc.key_file;
  testing_peer::ProbePeer peer(s);
  auto r = domain("good.test", true, peer.port());
  expect(r, "SMTP", "peer.test ESMTP probe peer", Verdict::pass);
  expect(r, "TLS", "self-signed certificate CN=mx.good.test", Verdict::warn);
  testing_peer::free_certificate(kc);
}

TEST_F(Doctor, BlocklistListingAndNotListed) {
  auto listed = check_ip(*resolver_, loop_, "127.0.0.2", {"bl.test"});
  if (auto f = find(listed, "Blocklists", "127.0.0.2 is listed on bl.test")) {
    EXPECT_EQ(f->verdict, Verdict::fail);
    EXPECT_NE(f->message.find("Listed for spam"), std::string::npos);
  }
  auto clean = check_ip(*resolver_, loop_, "127.0.0.1", {"bl.test"});
  expect(clean, "Blocklists", "127.0.0.1 is not listed on bl.test", Verdict::pass);
  EXPECT_EQ(clean.exit_code(), 0);
}

TEST(SpfTermsParse, CountsLookupTermsAndFindsErrors) {
  auto t = parse_spf_terms("v=spf1 a mx ptr exists:%{i}.x.test include:a.test ip4:1.2.3.4 redirect=b.test ~all");
  EXPECT_EQ(t.lookups, 6);
  EXPECT_EQ(t.includes, (std::vector<std::string>{"a.test", "b.test"}));
  EXPECT_EQ(t.all, "~all");
  EXPECT_TRUE(t.uses_ptr);
  EXPECT_TRUE(t.errors.empty());
  auto bad = parse_spf_terms("v=spf1 ip4 bogus -all");
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_EQ(bad.errors[0], "ip4 needs an address");
  EXPECT_EQ(bad.errors[1], "unknown mechanism 'bogus'");
}

}  // namespace
}  // namespace sluice::diagnose
