// Tests for auth/dkim_signature: tag-list syntax (RFC 6376 §3.2), signature tags with defaults,
// key records (§3.6.1), and removing b= for hashing (§3.7); every input is also parsed cut at
// every byte, which must never crash and must never be accepted with different values.
#include "auth/dkim_signature.hpp"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

TEST(DkimTagList, FwsAroundNamesAndValuesAndTrailingSemicolon) {
  auto t = parse_tag_list(" v = 1 ;\r\n\ta=rsa-sha256;b=AB\r\n CD ; ");
  ASSERT_TRUE(t) << t.error().context;
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0], (std::pair<std::string, std::string>{"v", "1"}));
  EXPECT_EQ((*t)[2], (std::pair<std::string, std::string>{"b", "AB\r\n CD"}));
}

TEST(DkimTagList, Errors) {
  for (const char* bad : {"v=1;;a=b", "novalue", "=x", "1a=b", "a=1; a=2", "a b=c"}) EXPECT_FALSE(parse_tag_list(bad)) << bad;
  EXPECT_TRUE(parse_tag_list(""));
}

constexpr const char* kSig =
    "v=1; a=ed25519-sha256; c=relaxed; d=Example.ORG; s=sel; i=joe@news.example.org; l=10; t=100; x=200; "
    "q=dns/txt; h=From : To:from; bh=AAAA; b=AA\r\n\tAA";

TEST(DkimSignatureTags, AllTagsAndDefaults) {
  auto s = parse_dkim_signature(kSig);
  ASSERT_TRUE(s) << s.error().context;
  EXPECT_EQ(s->algorithm, DkimAlgorithm::ed25519_sha256);
  EXPECT_EQ(s->header_canon, DkimCanon::relaxed);
  EXPECT_EQ(s->body_canon, DkimCanon::simple);  // "c=relaxed" means relaxed/simple
  EXPECT_EQ(s->domain, "example.org");
  EXPECT_EQ(s->identity, "joe@news.example.org");
  EXPECT_EQ(s->headers, (std::vector<std::string>{"From", "To", "from"}));
  EXPECT_EQ(s->body_length, 10u);
  EXPECT_EQ(s->timestamp, 100);
  EXPECT_EQ(s->expiration, 200);
  EXPECT_EQ(s->signature, std::string(3, '\0'));

  auto d = parse_dkim_signature("v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->header_canon, DkimCanon::simple);
  EXPECT_EQ(d->identity, "@example.org");
  EXPECT_FALSE(d->body_length);
}

TEST(DkimSignatureTags, EveryPrefixParsesOrFailsCleanly) {
  const std::string full = kSig;
  for (size_t n = 0; n < full.size(); ++n) {
    auto s = parse_dkim_signature(full.substr(0, n));
    if (s) {
      EXPECT_EQ(s->domain, "example.org") << n;  // a prefix that parses is a complete one
    }
  }
}

TEST(DkimSignatureTags, StripSignatureValueKeepsEverythingElse) {
  EXPECT_EQ(strip_signature_value("DKIM-Signature: v=1; bh=AB/C=; b=XYZ\r\n\t123=\r\n"),
            "DKIM-Signature: v=1; bh=AB/C=; b=\r\n");
  EXPECT_EQ(strip_signature_value("DKIM-Signature: b = XYZ; d=example.org\r\n"),
            "DKIM-Signature: b =; d=example.org\r\n");
}

TEST(DkimKeyRecordTags, ParsesAndChecks) {
  auto k = parse_dkim_key_record("v=DKIM1; k=ed25519; h=sha256; t=y:s; s=email; p=AAAA");
  ASSERT_TRUE(k) << k.error().context;
  EXPECT_EQ(k->type, DkimKeyType::ed25519);
  EXPECT_TRUE(k->testing);
  EXPECT_TRUE(k->strict_identity);
  EXPECT_EQ(k->hashes, std::vector<std::string>{"sha256"});
  EXPECT_EQ(k->public_key, std::string(3, '\0'));

  auto revoked = parse_dkim_key_record("v=DKIM1; p=");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->public_key.empty());
  EXPECT_EQ(revoked->type, DkimKeyType::rsa);

  const std::pair<const char*, const char*> bad[] = {
      {"v=DKIM2; p=AAAA", "key record version v=DKIM2 is not DKIM1"},
      {"k=rsa; v=DKIM1; p=AAAA", "key record v= is not the first tag"},
      {"k=dsa; p=AAAA", "unknown key type k=dsa"},
      {"k=rsa", "key record has no p= tag"},
      {"p=A*AA", "key record p= is not valid base64"},
      {"s=tlsrpt; p=AAAA", "key record is not for email (s=tlsrpt)"},
  };
  for (const auto& [text, why] : bad) {
    auto r = parse_dkim_key_record(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().context, why);
  }
}

}  // namespace
}  // namespace sluice::auth
