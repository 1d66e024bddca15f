// Tests for auth/dkim_verifier: the RFC 8463 example (Ed25519 and RSA signatures) passes and
// fails on every kind of change; RFC 8301 refusals (rsa-sha1, short RSA keys); x=/t=; l=;
// oversigned headers; DNS outcomes (no key, SERVFAIL, revoked key, key records split over
// several strings as the resolver joins them); the asynchronous verify() with a table resolver.
#include "auth/dkim_verifier.hpp"

#include <gtest/gtest.h>

#include "auth/base64.hpp"
#include "auth/dkim_signer.hpp"
#include "dkim_test_support.hpp"

namespace sluice::auth {
namespace {

using testing_support::TableResolver;

// RFC 8463 Appendix A.2.
constexpr const char* kBrisbaneKey = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr const char* kTestRsaKey =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
    "2kryOTIKT+l/K4w3QIDAQAB";

SystemTime at(int64_t seconds) { return SystemTime(std::chrono::seconds(seconds)); }
const SystemTime kNow = at(1700000000);

std::string rfc8463_message() { return testing_support::read_file(std::string(SLUICE_TEST_DATA) + "/dkim/rfc8463_signed.msg"); }

std::vector<DkimResult> run(TableResolver& dns, std::string_view message, SystemTime now = kNow) {
  ManualClock clock(now);
  DkimVerifier verifier(dns, clock);
  std::vector<DkimResult> out;
  bool called = false;
  verifier.verify(message, [&](std::vector<DkimResult> r) {
    out = std::move(r);
    called = true;
  });
  dns.pump();
  EXPECT_TRUE(called);
  return out;
}

TableResolver rfc_dns() {
  TableResolver dns;
  dns.set_txt("brisbane._domainkey.football.example.com", {kBrisbaneKey});
  dns.set_txt("test._domainkey.football.example.com", {kTestRsaKey});
  return dns;
}

TEST(DkimVerifier, Rfc8463ExampleBothSignaturesPass) {
  const std::string msg = rfc8463_message();
  ASSERT_FALSE(msg.empty());
  TableResolver dns = rfc_dns();
  auto r = run(dns, msg);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, DkimStatus::pass) << r[0].reason;
  EXPECT_EQ(r[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(r[0].domain, "football.example.com");
  EXPECT_EQ(r[0].selector, "brisbane");
  EXPECT_EQ(r[0].header_b, "9/dsDChY0YMT");
  EXPECT_EQ(r[1].status, DkimStatus::pass) << r[1].reason;
  EXPECT_EQ(r[1].algorithm, "rsa-sha256");
  EXPECT_EQ(dns.asked.size(), 2u);
}

TEST(DkimVerifier, CrlfAndLfFormsVerifyAlike) {
  std::string msg = rfc8463_message();
  std::string crlf;
  for (char c : msg) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  TableResolver dns = rfc_dns();
  auto r = run(dns, crlf);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, DkimStatus::pass) << r[0].reason;
  EXPECT_EQ(r[1].status, DkimStatus::pass) << r[1].reason;
}

TEST(DkimVerifier, ChangedBodyFailsOnBodyHash) {
  std::string msg = rfc8463_message();
  msg.replace(msg.find("We lost"), 7, "We won!");
  TableResolver dns = rfc_dns();
  auto r = run(dns, msg);
  ASSERT_EQ(r.size(), 2u);
  for (const auto& x : r) {
    EXPECT_EQ(x.status, DkimStatus::fail);
    EXPECT_NE(x.reason.find("body hash"), std::string::npos) << x.reason;
  }
  EXPECT_TRUE(dns.asked.empty()) << "no key lookup for a body that does not match";
}

TEST(DkimVerifier, ChangedSignedHeaderFails) {
  std::string msg = rfc8463_message();
  msg.replace(msg.find("Is dinner ready?"), 16, "Is lunch ready?!");
  TableResolver dns = rfc_dns();
  auto r = run(dns, msg);
  ASSERT_EQ(r.size(), 2u);
  for (const auto& x : r) {
    EXPECT_EQ(x.status, DkimStatus::fail);
    EXPECT_NE(x.reason.find("signature did not verify"), std::string::npos) << x.reason;
  }
}

TEST(DkimVerifier, OversignedHeaderAddedFails) {
  // h= lists from, subject and date twice: a second Subject added anywhere breaks it.
  std::string msg = rfc8463_message();
  msg.insert(msg.find("From: Joe"), "Subject: Free money\n");
  TableResolver dns = rfc_dns();
  auto r = run(dns, msg);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, DkimStatus::fail);
  EXPECT_EQ(r[1].status, DkimStatus::fail);
}

TEST(DkimVerifier, UnsignedHeaderAddedStillPasses) {
  std::string msg = rfc8463_message();
  msg.insert(msg.find("From: Joe"), "X-Added-By-Relay: yes\n");
  TableResolver dns = rfc_dns();
  auto r = run(dns, msg);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, DkimStatus::pass) << r[0].reason;
}

TEST(DkimVerifier, KeyLookupOutcomes) {
  const std::string msg = rfc8463_message();
  {
    TableResolver dns;  // no records at all
    auto r = run(dns, msg);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].status, DkimStatus::permerror);
    EXPECT_EQ(r[0].reason, "no key published at brisbane._domainkey.football.example.com (NXDOMAIN)");
  }
  {
    TableResolver dns = rfc_dns();
    dns.set_status("brisbane._domainkey.football.example.com", dns::Status::servfail);
    dns.set_status("test._domainkey.football.example.com", dns::Status::timeout);
    auto r = run(dns, msg);
    EXPECT_EQ(r[0].status, DkimStatus::temperror);
    EXPECT_EQ(r[0].reason, "key lookup for brisbane._domainkey.football.example.com failed: SERVFAIL");
    EXPECT_EQ(r[1].status, DkimStatus::temperror);
  }
  {
    TableResolver dns = rfc_dns();
    dns.set_txt("brisbane._domainkey.football.example.com", {"v=DKIM1; k=ed25519; p="});
    dns.set_txt("test._domainkey.football.example.com", {"v=spf1 -all", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="});
    auto r = run(dns, msg);
    EXPECT_EQ(r[0].status, DkimStatus::permerror);
    EXPECT_NE(r[0].reason.find("revoked"), std::string::npos);
    EXPECT_EQ(r[1].status, DkimStatus::permerror);  // an Ed25519 key for an RSA signature
    EXPECT_NE(r[1].reason.find("another type"), std::string::npos) << r[1].reason;
  }
}

TEST(DkimVerifier, WrongKeyFails) {
  TableResolver dns = rfc_dns();
  dns.set_txt("brisbane._domainkey.football.example.com", {"v=DKIM1; k=ed25519; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y="});
  auto r = run(dns, rfc8463_message());
  EXPECT_EQ(r[0].status, DkimStatus::fail);
  EXPECT_EQ(r[1].status, DkimStatus::pass);
}

TEST(DkimVerifier, UnsignedMessageHasNoResults) {
  TableResolver dns;
  auto r = run(dns, "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n");
  EXPECT_TRUE(r.empty());
}

// Signs with our signer, then tampers with the fields that only a hand-made signature has.
struct Signed {
  DkimKey key;
  std::string record;
};

Signed make_key(DkimKeyType type, int bits = 2048) {
  auto key = DkimKey::generate(type, bits);
  EXPECT_TRUE(key);
  std::string rec = std::string("v=DKIM1; k=") + (type == DkimKeyType::rsa ? "rsa" : "ed25519") + "; p=" + *key->public_record_value();
  return {*key, rec};
}

const char* kPlain =
    "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: test\r\n"
    "Date: Mon, 20 Nov 2023 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHello  there \r\n\r\n\r\n";

TEST(DkimVerifier, OwnSignaturesPassAndKeySplitOverStringsIsJoinedByResolver) {
  for (DkimKeyType type : {DkimKeyType::rsa, DkimKeyType::ed25519}) {
    Signed k = make_key(type);
    DkimSigner signer("example.org", "sel", k.key);
    auto msg = signer.sign(kPlain, kNow);
    ASSERT_TRUE(msg);
    TableResolver dns;
    // A 2048-bit key is published as several 255-byte strings; dns::Resolver joins them.
    dns.set_txt("sel._domainkey.example.org", {k.record});
    auto r = run(dns, *msg);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, DkimStatus::pass) << r[0].reason;
    EXPECT_EQ(r[0].identity, "@example.org");
  }
}

TEST(DkimVerifier, ShortRsaKeyIsPolicyFailure) {
  Signed k = make_key(DkimKeyType::rsa, 512);
  DkimSigner signer("example.org", "sel", k.key);
  auto msg = signer.sign(kPlain, kNow);
  ASSERT_TRUE(msg);
  TableResolver dns;
  dns.set_txt("sel._domainkey.example.org", {k.record});
  auto r = run(dns, *msg);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, DkimStatus::policy);
  EXPECT_EQ(r[0].reason, "RSA key of 512 bits is shorter than 1024 (RFC 8301)");
}

TEST(DkimVerifier, RsaSha1IsPolicyFailureWithoutLookup) {
  TableResolver dns;
  auto r = run(dns,
               "DKIM-Signature: v=1; a=rsa-sha1; d=example.org; s=s; h=from; bh=AAAA; b=AAAA\r\n"
               "From: a@example.org\r\n\r\nx\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, DkimStatus::policy);
  EXPECT_EQ(r[0].reason, "rsa-sha1 signatures are not accepted (RFC 8301)");
  EXPECT_TRUE(dns.asked.empty());
}

// A signature field built by hand with extra tags, signed with `key` over `message`.
std::string hand_signed(const DkimKey& key, const std::string& tags, const std::string& message, DkimCanon c) {
  DkimMessage m = split_message(message);
  std::string field = "DKIM-Signature: v=1; a=" + std::string(key.type() == DkimKeyType::rsa ? "rsa-sha256" : "ed25519-sha256") +
                      "; c=" + (c == DkimCanon::simple ? "simple/simple" : "relaxed/relaxed") + "; d=example.org; s=sel; " + tags + "; b=";
  std::string data;
  for (const DkimHeaderField* f : select_headers(m, {"from", "subject"})) data += canon_header(c, *f);
  std::string self = canon_header(c, DkimHeaderField{"DKIM-Signature", field + "\r\n"});
  data += self.substr(0, self.size() - 2);
  auto sig = key.sign(data);
  EXPECT_TRUE(sig);
  return field + base64_encode(*sig) + "\r\n" + message;
}

std::string bh(const std::string& message, DkimCanon c, std::optional<size_t> l = std::nullopt) {
  return "bh=" + base64_encode(dkim_sha256(canon_body(c, split_message(message).body, l)));
}

TEST(DkimVerifier, ExpirationAndTimestamp) {
  Signed k = make_key(DkimKeyType::ed25519);
  const std::string plain = "From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n";
  TableResolver dns;
  dns.set_txt("sel._domainkey.example.org", {k.record});
  const std::string base = "h=from:subject; " + bh(plain, DkimCanon::relaxed);
  auto expired = hand_signed(k.key, base + "; t=1600000000; x=1600003600", plain, DkimCanon::relaxed);
  auto r = run(dns, expired, at(1600003601));
  EXPECT_EQ(r[0].status, DkimStatus::fail);
  EXPECT_EQ(r[0].reason, "signature expired (x=1600003600)");
  r = run(dns, expired, at(1600003600));
  EXPECT_EQ(r[0].status, DkimStatus::pass) << r[0].reason;
  auto future = hand_signed(k.key, base + "; t=1700010000", plain, DkimCanon::relaxed);
  r = run(dns, future, at(1700000000));
  EXPECT_EQ(r[0].status, DkimStatus::fail);
  EXPECT_NE(r[0].reason.find("in the future"), std::string::npos);
  r = run(dns, future, at(1700009500));  // within the clock skew allowance
  EXPECT_EQ(r[0].status, DkimStatus::pass) << r[0].reason;
  auto backwards = hand_signed(k.key, base + "; t=1600000000; x=1500000000", plain, DkimCanon::relaxed);
  r = run(dns, backwards);
  EXPECT_EQ(r[0].status, DkimStatus::permerror);
  EXPECT_EQ(r[0].reason, "x= is before t=");
}

TEST(DkimVerifier, BodyLengthCoversOnlyItsPrefix) {
  Signed k = make_key(DkimKeyType::rsa);
  const std::string plain = "From: a@example.org\r\nSubject: s\r\n\r\nsigned part\r\n";
  TableResolver dns;
  dns.set_txt("sel._domainkey.example.org", {k.record});
  for (DkimCanon c : {DkimCanon::simple, DkimCanon::relaxed}) {
    auto msg = hand_signed(k.key, "h=from:subject; l=13; " + bh(plain, c, 13), plain, c);
    auto r = run(dns, msg + "appended by a list\r\n");
    EXPECT_EQ(r[0].status, DkimStatus::pass) << r[0].reason;
    std::string changed = msg;
    changed.replace(changed.find("signed part"), 6, "SIGNED");
    r = run(dns, changed);
    EXPECT_EQ(r[0].status, DkimStatus::fail);
    auto too_long = hand_signed(k.key, "h=from:subject; l=500; " + bh(plain, c), plain, c);
    r = run(dns, too_long);
    EXPECT_EQ(r[0].status, DkimStatus::fail);
    EXPECT_EQ(r[0].reason, "l=500 is longer than the body");
  }
}

TEST(DkimVerifier, SimpleCanonicalizationRejectsRewrapRelaxedAccepts) {
  Signed k = make_key(DkimKeyType::ed25519);
  const std::string plain = "From: a@example.org\r\nSubject: s\r\n\r\nbody  text\r\n";
  TableResolver dns;
  dns.set_txt("sel._domainkey.example.org", {k.record});
  for (DkimCanon c : {DkimCanon::simple, DkimCanon::relaxed}) {
    auto msg = hand_signed(k.key, "h=from:subject; " + bh(plain, c), plain, c);
    std::string rewrapped = msg;
    rewrapped.replace(rewrapped.find("Subject: s"), 10, "subject:   s ");
    rewrapped.replace(rewrapped.find("body  text"), 10, "body text  ");
    auto r = run(dns, rewrapped);
    EXPECT_EQ(r[0].status, c == DkimCanon::relaxed ? DkimStatus::pass : DkimStatus::fail) << r[0].reason;
  }
}

TEST(DkimVerifier, MalformedSignaturesArePermerrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA", "DKIM-Signature has no b= tag"},
      {"v=2; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA", "DKIM-Signature version v=2 is not 1"},
      {"v=1; a=rsa-md5; d=example.org; s=s; h=from; bh=AAAA; b=AAAA", "unknown signing algorithm a=rsa-md5"},
      {"v=1; a=rsa-sha256; d=example.org; s=s; h=subject; bh=AAAA; b=AAAA", "h= does not include From"},
      {"v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA; i=@evil.example", "i= domain evil.example is not within d=example.org"},
      {"v=1; v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA", "tag v= appears twice"},
  };
  for (const auto& [tags, reason] : cases) {
    TableResolver dns;
    auto r = run(dns, std::string("DKIM-Signature: ") + tags + "\r\nFrom: a@example.org\r\n\r\nx\r\n");
    ASSERT_EQ(r.size(), 1u) << tags;
    EXPECT_EQ(r[0].status, DkimStatus::permerror) << tags;
    EXPECT_EQ(r[0].reason, reason) << tags;
  }
}

TEST(DkimVerifier, AtMostEightSignaturesAreChecked) {
  std::string msg;
  for (int i = 0; i < 20; ++i) msg += "DKIM-Signature: v=1; a=rsa-sha1; d=example.org; s=s; h=from; bh=AAAA; b=AAAA\r\n";
  msg += "From: a@example.org\r\n\r\nx\r\n";
  TableResolver dns;
  EXPECT_EQ(run(dns, msg).size(), kMaxDkimSignatures);
}

}  // namespace
}  // namespace sluice::auth
