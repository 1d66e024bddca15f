// Tests for the send connector TLS policy (delivery/tls_client.cpp, smtp_delivery.cpp) against
// loopback peers whose certificates are made here: a test CA given as ca_file and a leaf it
// signed (verified; name mismatch; "[ip]" literal checked against the IP SAN; no ca_file, so
// the system store does not know the CA), a self-signed peer (verify defers with the reason,
// opportunistic delivers and reports it), `required` against a peer without STARTTLS, and an
// unreadable ca_file. Asserts that nothing of the mail goes to a server that failed the check.
// RFC 3207, RFC 7435 (opportunistic), RFC 6125 §6 / RFC 7817 §3 (names).
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <algorithm>

#include "delivery/smtp_delivery.hpp"
#include "delivery/tls_client.hpp"
#include "test_smtp_peer.hpp"

namespace sluice::delivery {
namespace {

namespace fs = std::filesystem;
using testing_peer::PeerBehaviour;
using testing_peer::TestPeer;

const SystemTime kT0 = SystemTime(std::chrono::seconds(1700000000));

fs::path make_temp_dir() {
  std::string tmpl = testing::TempDir() + "/tls_verify_XXXXXX";
  const char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return dir;
}

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer` (self-signed when null). `san` as
// OpenSSL's config syntax ("DNS:mx.example.net,IP:127.0.0.1"), none when empty.
Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, const std::string& san,
               bool ca, long serial) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  if (ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  if (!san.empty()) add_ext(cert.get(), signer, NID_subject_alt_name, san);
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

asio::ssl::context server_context(X509* cert, EVP_PKEY* key) {
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  SSL_CTX_use_certificate(ctx.native_handle(), cert);
  SSL_CTX_use_PrivateKey(ctx.native_handle(), key);
  return ctx;
}

smtp::Envelope envelope(std::string id, std::vector<std::string> rcpts) {
  smtp::Envelope e;
  e.queue_id = std::move(id);
  e.mail_from = "alice@example.test";
  for (auto& r : rcpts) e.recipients.push_back(smtp::Recipient{r, {}, ""});
  return e;
}

const std::string kContent = "Subject: hi\r\n\r\nhello\r\n";

class TlsVerifyTest : public ::testing::Test {
 protected:
  TlsVerifyTest()
      : dir_(make_temp_dir()), clock_(kT0), log_(dir_ / "protocol", log::ProtocolLogKind::send, "mx1", clock_),
        ids_(clock_), tls_(std::move(*make_client_tls_context())),
        ctx_{io_.get_executor(), log_, ids_, "mx1.example.test", *tls_, {}} {
    connector_.name = "partner";
    connector_.helo_name = "out.example.test";
    connector_.address_spaces = {"*"};
    connector_.connect_timeout = std::chrono::seconds(5);
    ctx_.timeouts.greeting = ctx_.timeouts.command = ctx_.timeouts.data_init = ctx_.timeouts.data_end =
        ctx_.timeouts.data_block = ctx_.timeouts.tls_handshake = std::chrono::seconds(10);

    ca_key_.reset(EVP_EC_gen("P-256"));
    ca_ = make_cert(ca_key_.get(), "sluice test CA", nullptr, nullptr, "", true, 1);
    leaf_key_.reset(EVP_EC_gen("P-256"));
    leaf_ = make_cert(leaf_key_.get(), "mx.example.net", ca_.get(), ca_key_.get(), "DNS:mx.example.net,IP:127.0.0.1",
                      false, 2);
    ca_file_ = (dir_ / "ca.pem").string();
    BIO* out = BIO_new_file(ca_file_.c_str(), "w");
    PEM_write_bio_X509(out, ca_.get());
    BIO_free(out);
  }

  // A peer presenting the leaf signed by the test CA.
  std::unique_ptr<TestPeer> ca_signed_peer(PeerBehaviour b = PeerBehaviour{.starttls = true}) {
    return std::make_unique<TestPeer>(io_, "127.0.0.1", std::move(b), server_context(leaf_.get(), leaf_key_.get()));
  }

  routing::Target target(const TestPeer& peer, std::string host) {
    return routing::Target{std::move(host), "127.0.0.1", peer.port(), 10};
  }

  BatchResult run(const routing::TargetList& targets, std::vector<DeliveryJob> jobs) {
    std::optional<BatchResult> result;
    asio::co_spawn(io_, deliver_batch(ctx_, targets, connector_, std::move(jobs)),
                   [&](std::exception_ptr e, BatchResult r) {
                     EXPECT_FALSE(e) << "deliver_batch threw";
                     result = std::move(r);
                     io_.stop();
                   });
    io_.run_for(std::chrono::seconds(60));
    EXPECT_TRUE(result.has_value()) << "deliver_batch did not finish";
    return result.value_or(BatchResult{});
  }

  static bool sent_mail(const TestPeer& peer) {
    return std::any_of(peer.commands.begin(), peer.commands.end(),
                       [](const std::string& c) { return c.starts_with("MAIL FROM") || c.starts_with("AUTH"); });
  }

  fs::path dir_;
  ManualClock clock_;
  log::ProtocolLog log_;
  log::SessionIdGenerator ids_;
  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> tls_;
  SmtpDeliveryContext ctx_;
  config::SendConnector connector_;
  Key ca_key_, leaf_key_;
  Cert ca_, leaf_;
  std::string ca_file_;
};

TEST_F(TlsVerifyTest, VerifyWithTheCaFileAndTheRightNameDelivers) {
  connector_.tls = config::TlsMode::verify;
  connector_.ca_file = ca_file_;
  auto peer = ca_signed_peer();
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(*peer, "mx.example.net")}, std::nullopt}, {{&e, &kContent, {0}}});
  ASSERT_EQ(peer->messages.size(), 1u);
  EXPECT_TRUE(peer->messages[0].tls);
  EXPECT_TRUE(r.per_job[0][0].outcome.reply.positive()) << r.per_job[0][0].outcome.reply.text();
  EXPECT_EQ(r.attempt.tls_verified, "verified");
  EXPECT_TRUE(r.attempt.tls_version.starts_with("TLSv1.")) << r.attempt.tls_version;
  EXPECT_FALSE(r.attempt.tls_cipher.empty());
  EXPECT_EQ(r.attempt.tls, r.attempt.tls_version + " " + r.attempt.tls_cipher);
}

TEST_F(TlsVerifyTest, VerifyAgainstASelfSignedPeerDefersWithTheReasonAndSendsNothing) {
  connector_.tls = config::TlsMode::verify;
  connector_.ca_file = ca_file_;
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true});  // self-signed "peer.test"
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "peer.test")}, std::nullopt}, {{&e, &kContent, {0}}});
  EXPECT_TRUE(peer.messages.empty());
  EXPECT_FALSE(sent_mail(peer));
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  const Outcome& o = *r.attempt.session_failure;
  EXPECT_FALSE(o.permanent);
  EXPECT_EQ(o.reply.text(), "421 4.7.5 certificate verify failed: self-signed certificate (peer.test[127.0.0.1])");
  EXPECT_EQ(r.per_job[0][0].outcome.reply, o.reply);
  EXPECT_EQ(r.attempt.tls_verified, "unverified: certificate verify failed: self-signed certificate");
}

TEST_F(TlsVerifyTest, VerifyTriesTheNextHostAfterABadCertificate) {
  connector_.tls = config::TlsMode::verify;
  connector_.ca_file = ca_file_;
  TestPeer bad(io_, "127.0.0.1", PeerBehaviour{.starttls = true});
  auto good = ca_signed_peer();
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(bad, "mx.example.net"), target(*good, "mx.example.net")}, std::nullopt},
                      {{&e, &kContent, {0}}});
  EXPECT_TRUE(bad.messages.empty());
  ASSERT_EQ(good->messages.size(), 1u);
  EXPECT_TRUE(r.per_job[0][0].outcome.reply.positive());
  ASSERT_EQ(r.connections.size(), 2u);
  ASSERT_TRUE(r.connections[0].session_failure.has_value());
  EXPECT_EQ(r.connections[0].session_failure->reply.enhanced(), "4.7.5");
}

TEST_F(TlsVerifyTest, VerifyRefusesACertificateForAnotherName) {
  connector_.tls = config::TlsMode::verify;
  connector_.ca_file = ca_file_;
  auto peer = ca_signed_peer();
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(*peer, "mx2.example.net")}, std::nullopt}, {{&e, &kContent, {0}}});
  EXPECT_TRUE(peer->messages.empty());
  EXPECT_FALSE(sent_mail(*peer));
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_EQ(r.attempt.session_failure->reply.text(),
            "421 4.7.5 certificate name mismatch: mx2.example.net is not among the certificate's names "
            "(mx.example.net, 127.0.0.1) (mx2.example.net[127.0.0.1])");
}

TEST_F(TlsVerifyTest, AnAddressLiteralIsCheckedAgainstTheIpAddresses) {
  connector_.tls = config::TlsMode::verify;
  connector_.ca_file = ca_file_;
  auto peer = ca_signed_peer();
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(*peer, "[127.0.0.1]")}, std::nullopt}, {{&e, &kContent, {0}}});
  ASSERT_EQ(peer->messages.size(), 1u);
  EXPECT_EQ(r.attempt.tls_verified, "verified");
}

TEST_F(TlsVerifyTest, WithoutCaFileTheSystemStoreDoesNotKnowTheTestCa) {
  connector_.tls = config::TlsMode::verify;
  auto peer = ca_signed_peer();
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(*peer, "mx.example.net")}, std::nullopt}, {{&e, &kContent, {0}}});
  EXPECT_TRUE(peer->messages.empty());
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_EQ(r.attempt.session_failure->reply.text(),
            "421 4.7.5 certificate verify failed: unable to get local issuer certificate "
            "(mx.example.net[127.0.0.1])");
}

TEST_F(TlsVerifyTest, OpportunisticDeliversToASelfSignedPeerAndSaysItWasNotVerified) {
  connector_.tls = config::TlsMode::opportunistic;
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = true});
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "peer.test")}, std::nullopt}, {{&e, &kContent, {0}}});
  ASSERT_EQ(peer.messages.size(), 1u);
  EXPECT_TRUE(peer.messages[0].tls);
  EXPECT_EQ(r.attempt.tls_verified, "unverified: certificate verify failed: self-signed certificate");
}

TEST_F(TlsVerifyTest, RequiredAgainstAPeerWithoutStartTlsNamesTheHost) {
  connector_.tls = config::TlsMode::required;
  TestPeer peer(io_, "127.0.0.1", PeerBehaviour{.starttls = false});
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(peer, "mx.example.net")}, std::nullopt}, {{&e, &kContent, {0}}});
  EXPECT_EQ(peer.connections, 1);
  EXPECT_TRUE(peer.messages.empty());
  EXPECT_FALSE(sent_mail(peer));
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_FALSE(r.attempt.session_failure->permanent);
  EXPECT_EQ(r.attempt.session_failure->reply.text(),
            "421 4.7.4 TLS required but mx.example.net did not offer STARTTLS");
  EXPECT_EQ(r.attempt.tls, "");
  EXPECT_EQ(r.attempt.tls_verified, "");
}

TEST_F(TlsVerifyTest, AnUnreadableCaFileDefersWithoutConnecting) {
  connector_.tls = config::TlsMode::verify;
  connector_.ca_file = (dir_ / "missing.pem").string();
  auto peer = ca_signed_peer();
  smtp::Envelope e = envelope("MSG1", {"bob@example.net"});
  BatchResult r = run({{target(*peer, "mx.example.net")}, std::nullopt}, {{&e, &kContent, {0}}});
  EXPECT_EQ(peer->connections, 0);
  ASSERT_TRUE(r.attempt.session_failure.has_value());
  EXPECT_EQ(r.attempt.session_failure->scope, Scope::queue);
  EXPECT_FALSE(r.attempt.session_failure->permanent);
  EXPECT_TRUE(r.attempt.session_failure->reply.text().starts_with(
      "451 4.7.5 Cannot verify certificates: cannot load ca_file " + connector_.ca_file))
      << r.attempt.session_failure->reply.text();
}

}  // namespace
}  // namespace sluice::delivery
