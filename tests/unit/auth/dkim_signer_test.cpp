// Tests for auth/dkim_signer: the field it writes (tags, From oversigned, only present fields
// signed, lines within 78 columns, t= from the clock), key file loading and its errors,
// choosing the signer by From domain, and reading the From domain.
#include "auth/dkim_signer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "auth/dkim_verifier.hpp"

namespace sluice::auth {
namespace {

namespace fs = std::filesystem;
const SystemTime kNow = SystemTime(std::chrono::seconds(1700000000));

constexpr const char* kMessage =
    "From: Alice <alice@Example.ORG>\r\nTo: bob@example.net\r\nTo: carol@example.net\r\nSubject: hi\r\n"
    "X-Mailer: test\r\n\r\nbody\r\n";

DkimSigner make(DkimKeyType type) {
  auto key = DkimKey::generate(type, 2048);
  EXPECT_TRUE(key);
  return DkimSigner("example.org", "s2026", *key);
}

TEST(DkimSigner, FieldTagsAndOversignedFrom) {
  auto field = make(DkimKeyType::ed25519).signature_field(kMessage, kNow);
  ASSERT_TRUE(field);
  ASSERT_EQ(field->rfind("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org;", 0), 0u) << *field;
  auto sig = parse_dkim_signature(field->substr(field->find(':') + 1));
  ASSERT_TRUE(sig) << sig.error().context;
  EXPECT_EQ(sig->headers, (std::vector<std::string>{"from", "from", "subject", "to", "to"}));
  EXPECT_EQ(sig->selector, "s2026");
  EXPECT_EQ(sig->timestamp, 1700000000);
  EXPECT_FALSE(sig->expiration);
  EXPECT_EQ(sig->signature.size(), 64u);  // an Ed25519 signature
  // Folded: no line longer than 78 characters, continuation lines start with a tab.
  size_t start = 0;
  while (start < field->size()) {
    size_t end = field->find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << field->substr(start, end - start);
    if (start > 0) {
      EXPECT_EQ((*field)[start], '\t');
    }
    start = end + 2;
  }
}

TEST(DkimSigner, RsaSignatureIs2048Bits) {
  auto field = make(DkimKeyType::rsa).signature_field(kMessage, kNow);
  ASSERT_TRUE(field);
  auto sig = parse_dkim_signature(field->substr(field->find(':') + 1));
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->algorithm, DkimAlgorithm::rsa_sha256);
  EXPECT_EQ(sig->signature.size(), 256u);
}

TEST(DkimSigner, SignedMessageVerifiesAfterPrepare) {
  DkimSigner signer = make(DkimKeyType::rsa);
  auto message = signer.sign(kMessage, kNow);
  ASSERT_TRUE(message);
  auto checks = prepare_dkim(*message, kNow);
  ASSERT_EQ(checks.size(), 1u);
  ASSERT_TRUE(checks[0].needs_key) << checks[0].result.reason;
  dns::Answer<std::string> key;
  key.status = dns::Status::ok;
  key.records = {"v=DKIM1; p=" + *signer.key().public_record_value()};
  EXPECT_EQ(finish_dkim(checks[0], key).status, DkimStatus::pass);
}

class DkimSignerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "dkim_signer_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(DkimSignerFiles, LoadsPemKeysAndChecksTheAlgorithm) {
  auto ed = DkimKey::generate(DkimKeyType::ed25519);
  ASSERT_TRUE(ed);
  const std::string path = write("ed.key", *ed->private_pem());
  auto s = DkimSigner::load("Example.ORG", "sel", path, "ed25519-sha256");
  ASSERT_TRUE(s) << s.error().context;
  EXPECT_EQ(s->domain(), "example.org");
  EXPECT_EQ(s->key().type(), DkimKeyType::ed25519);
  auto wrong = DkimSigner::load("example.org", "sel", path, "rsa-sha256");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().context, "DKIM key file " + path + " holds a key for ed25519-sha256, not rsa-sha256");
}

TEST_F(DkimSignerFiles, Errors) {
  auto missing = DkimSigner::load("example.org", "sel", (dir_ / "absent.key").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().klass, ErrorClass::config);
  EXPECT_EQ(missing.error().context, "cannot read DKIM key file " + (dir_ / "absent.key").string());
  const std::string garbage = write("garbage.key", "not a key\n");
  auto bad = DkimSigner::load("example.org", "sel", garbage);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().context.find("not a PEM private key"), std::string::npos);
  auto small = DkimKey::generate(DkimKeyType::rsa, 768);
  ASSERT_TRUE(small);
  auto short_key = DkimSigner::load("example.org", "sel", write("small.key", *small->private_pem()));
  ASSERT_FALSE(short_key);
  EXPECT_NE(short_key.error().context.find("RSA key of 768 bits; receivers ignore keys under 1024 bits (RFC 8301)"),
            std::string::npos) << short_key.error().context;
}

TEST(DkimSignerChoice, ClosestParentDomainWins) {
  std::vector<DkimSigner> signers;
  signers.push_back(make(DkimKeyType::ed25519));  // example.org
  auto key = DkimKey::generate(DkimKeyType::ed25519);
  ASSERT_TRUE(key);
  signers.emplace_back("news.example.org", "n", *key);
  EXPECT_EQ(find_dkim_signer(signers, "EXAMPLE.org"), &signers[0]);
  EXPECT_EQ(find_dkim_signer(signers, "a.news.example.org"), &signers[1]);
  EXPECT_EQ(find_dkim_signer(signers, "mail.example.org"), &signers[0]);
  EXPECT_EQ(find_dkim_signer(signers, "badexample.org"), nullptr);
  EXPECT_EQ(find_dkim_signer(signers, "example.net"), nullptr);
}

TEST(DkimSignerChoice, FromDomain) {
  EXPECT_EQ(dkim_from_domain(kMessage), "example.org");
  EXPECT_EQ(dkim_from_domain("Subject: x\r\nfrom: bare@Mail.Example.NET\r\n\r\n"), "mail.example.net");
  EXPECT_EQ(dkim_from_domain("From: \"a@b.c\" <real@example.com> (comment)\r\n\r\n"), "example.com");
  EXPECT_EQ(dkim_from_domain("Subject: no from\r\n\r\n"), std::nullopt);
  EXPECT_EQ(dkim_from_domain("From: undisclosed\r\n\r\n"), std::nullopt);
}

}  // namespace
}  // namespace sluice::auth
