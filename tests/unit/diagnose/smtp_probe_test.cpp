// tests/unit/diagnose/smtp_probe_test.cpp: the probe behind `sluice test` against scripted peers
// on loopback: a refused port, a peer that never speaks, a plain conversation with MAIL/RCPT/DATA,
// STARTTLS with self-signed, CA-signed, expired and wrong-name certificates made here, required
// TLS without STARTTLS, AUTH refused with 535 (and the credentials masked in the transcript).
#include "diagnose/smtp_probe.hpp"

#include <gtest/gtest.h>

#include "probe_peer.hpp"

namespace sluice::diagnose {
namespace {

using testing_peer::KeyAndCert;
using testing_peer::PeerScript;
using testing_peer::ProbePeer;

ProbeOptions options_for(uint16_t port, const std::string& host = "mx.probe.test") {
  ProbeOptions o;
  o.host = host;
  o.connect_ip = "127.0.0.1";
  o.port = port;
  o.helo_name = "client.probe.test";
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.command_timeout = std::chrono::milliseconds(2000);
  return o;
}

std::string transcript_text(const ProbeReport& r) {
  std::string s;
  for (const auto& l : r.transcript) s += std::string(1, l.direction) + " " + l.text + "\n";
  return s;
}

class Certificates : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_peer::make_temp_dir();
    ca_ = testing_peer::make_certificate(dir_, "ca", "Probe Test CA", -10, 3650, nullptr, true);
  }
  void TearDown() override { testing_peer::free_certificate(ca_); }
  KeyAndCert leaf(const std::string& stem, const std::string& name, long from, long to, bool self_signed = false) {
    KeyAndCert kc = testing_peer::make_certificate(dir_, stem, name, from, to, self_signed ? nullptr : &ca_);
    owned_.push_back(kc);
    return kc;
  }
  ~Certificates() override {
    for (auto& kc : owned_) testing_peer::free_certificate(kc);
  }
  PeerScript tls_script(const KeyAndCert& kc) {
    PeerScript s;
    s.starttls = true;
    s.cert_file = kc.cert_file;
    s.key_file = kc.key_file;
    return s;
  }
  std::string dir_;
  KeyAndCert ca_;
  std::vector<KeyAndCert> owned_;
};

TEST(SmtpProbe, RefusedPortIsAConnectFailureWithItsOwnAdvice) {
  uint16_t port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto o = options_for(port);
  ProbeReport r = probe_smtp(o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_stage, ProbeStage::connect);
  EXPECT_EQ(r.failure, "Connection refused");
  EXPECT_NE(probe_advice(r, o).find("nothing listens on port"), std::string::npos);
}

TEST(SmtpProbe, PeerThatNeverSpeaksTimesOutAtTheBanner) {
  ProbePeer peer(PeerScript{.greeting = ""});
  auto o = options_for(peer.port());
  o.command_timeout = std::chrono::milliseconds(300);
  ProbeReport r = probe_smtp(o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_stage, ProbeStage::greeting);
  EXPECT_GE(r.connect_ms, 0);
  EXPECT_NE(r.failure.find("waiting for the banner"), std::string::npos) << r.failure;
  EXPECT_NE(probe_advice(r, o).find("never sent its banner"), std::string::npos);
}

TEST(SmtpProbe, PlainConversationWithMailRcptAndData) {
  ProbePeer peer(PeerScript{});
  auto o = options_for(peer.port());
  o.tls = ProbeTls::opportunistic;
  o.mail_from = "probe@client.test";
  o.rcpt_to = {"someone@peer.test"};
  o.send_data = true;
  ProbeReport r = probe_smtp(o);
  EXPECT_TRUE(r.ok) << r.failure << "\n" << transcript_text(r);
  EXPECT_EQ(r.banner, "peer.test ESMTP probe peer");
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(peer.port()));
  EXPECT_FALSE(r.tls);
  EXPECT_FALSE(r.starttls_offered);
  ASSERT_EQ(r.rcpt_replies.size(), 1u);
  EXPECT_EQ(r.rcpt_replies[0].second.code(), 250);
  ASSERT_TRUE(r.data_reply);
  EXPECT_EQ(r.data_reply->text(), "250 2.0.0 Ok: queued as TEST");
  const auto lines = peer.lines();
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "EHLO client.probe.test");
  EXPECT_EQ(lines[1], "MAIL FROM:<probe@client.test>");
  EXPECT_EQ(lines[2], "RCPT TO:<someone@peer.test>");
  EXPECT_EQ(lines[3], "DATA");
  EXPECT_EQ(lines.back(), "QUIT");
  EXPECT_EQ(probe_advice(r, o), "");
}

TEST(SmtpProbe, RefusedRecipientIsTheFirstFailureAndTheSessionEndsPolitely) {
  ProbePeer peer(PeerScript{.rcpt_reply = "550 5.1.1 <nobody@peer.test>: Recipient address rejected: User unknown"});
  auto o = options_for(peer.port());
  o.mail_from = "probe@client.test";
  o.rcpt_to = {"nobody@peer.test"};
  ProbeReport r = probe_smtp(o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_stage, ProbeStage::rcpt);
  ASSERT_TRUE(r.failure_reply);
  EXPECT_EQ(r.failure_reply->enhanced(), "5.1.1");
  EXPECT_NE(probe_advice(r, o).find("does the mailbox exist"), std::string::npos);
  EXPECT_EQ(peer.lines().back(), "QUIT");
}

TEST_F(Certificates, SelfSignedCertificateIsShownAndNotVerified) {
  KeyAndCert kc = leaf("self", "mx.probe.test", -1, 365, true);
  ProbePeer peer(tls_script(kc));
  auto o = options_for(peer.port());
  ProbeReport r = probe_smtp(o);
  EXPECT_TRUE(r.ok) << r.failure;
  EXPECT_TRUE(r.starttls_offered);
  EXPECT_TRUE(r.tls);
  EXPECT_EQ(r.tls_version.rfind("TLSv1.", 0), 0u) << r.tls_version;
  ASSERT_TRUE(r.certificate);
  EXPECT_EQ(r.certificate->subject, "CN=mx.probe.test");
  EXPECT_TRUE(r.certificate->self_signed);
  EXPECT_FALSE(r.certificate->chain_verified);
  EXPECT_EQ(r.certificate->verify_error, "self-signed certificate");
  EXPECT_TRUE(r.certificate->name_matches);
  EXPECT_NE(probe_advice(r, o).find("does not verify (self-signed certificate)"), std::string::npos);
  // EHLO again after the handshake (RFC 3207 §4.2).
  const auto lines = peer.lines();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[1], "STARTTLS");
  EXPECT_EQ(lines[2], "EHLO client.probe.test");
}

TEST_F(Certificates, CertificateFromTheGivenCaVerifies) {
  KeyAndCert kc = leaf("good", "mx.probe.test", -1, 90);
  ProbePeer peer(tls_script(kc));
  auto o = options_for(peer.port());
  o.ca_file = ca_.cert_file;
  o.tls = ProbeTls::required;
  ProbeReport r = probe_smtp(o);
  EXPECT_TRUE(r.ok) << r.failure;
  ASSERT_TRUE(r.certificate);
  EXPECT_TRUE(r.certificate->verified()) << r.certificate->verify_error;
  EXPECT_EQ(r.certificate->issuer, "CN=Probe Test CA");
  EXPECT_EQ(r.certificate->sans, std::vector<std::string>{"mx.probe.test"});
  EXPECT_GE(r.certificate->days_left, 88);
  EXPECT_LE(r.certificate->days_left, 90);
  EXPECT_EQ(probe_advice(r, o), "");
}

TEST_F(Certificates, ExpiredCertificateSaysWhenItExpired) {
  KeyAndCert kc = leaf("expired", "mx.probe.test", -100, -3);
  ProbePeer peer(tls_script(kc));
  auto o = options_for(peer.port());
  o.ca_file = ca_.cert_file;
  ProbeReport r = probe_smtp(o);
  ASSERT_TRUE(r.certificate);
  EXPECT_TRUE(r.certificate->expired);
  EXPECT_FALSE(r.certificate->chain_verified);
  EXPECT_EQ(r.certificate->verify_error, "certificate has expired");
  EXPECT_LE(r.certificate->days_left, -2);
  EXPECT_NE(probe_advice(r, o).find("expired on"), std::string::npos);
}

TEST_F(Certificates, WrongNameVerifiesTheChainButNotTheName) {
  KeyAndCert kc = leaf("other", "other.probe.test", -1, 90);
  ProbePeer peer(tls_script(kc));
  auto o = options_for(peer.port());
  o.ca_file = ca_.cert_file;
  ProbeReport r = probe_smtp(o);
  ASSERT_TRUE(r.certificate);
  EXPECT_TRUE(r.certificate->chain_verified);
  EXPECT_FALSE(r.certificate->name_matches);
  EXPECT_FALSE(r.certificate->verified());
  EXPECT_NE(probe_advice(r, o).find("does not name mx.probe.test"), std::string::npos);
}

TEST(SmtpProbe, RequiredTlsWithoutStarttlsFails) {
  ProbePeer peer(PeerScript{});
  auto o = options_for(peer.port());
  o.tls = ProbeTls::required;
  ProbeReport r = probe_smtp(o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_stage, ProbeStage::starttls);
  EXPECT_EQ(r.failure, "mx.probe.test did not offer STARTTLS");
  EXPECT_EQ(peer.lines().back(), "QUIT");
}

TEST_F(Certificates, AuthRefusedWith535AndCredentialsMasked) {
  KeyAndCert kc = leaf("auth", "mx.probe.test", -1, 90);
  PeerScript s = tls_script(kc);
  s.auth_mechanisms = {"PLAIN", "LOGIN"};
  s.auth_reply = "535 5.7.8 Error: authentication failed: authentication failure";
  ProbePeer peer(s);
  auto o = options_for(peer.port());
  o.auth = std::make_pair(std::string("alice@probe.test"), std::string("s3cret-pass"));
  ProbeReport r = probe_smtp(o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_stage, ProbeStage::auth);
  EXPECT_NE(probe_advice(r, o).find("credentials were refused"), std::string::npos);
  const std::string t = transcript_text(r);
  EXPECT_NE(t.find("> AUTH PLAIN ****"), std::string::npos) << t;
  const auto lines = peer.lines();
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[3].rfind("AUTH PLAIN ", 0), 0u);
  EXPECT_EQ(t.find(lines[3].substr(11)), std::string::npos);  // the token itself never shows
}

TEST(SmtpProbe, NoCredentialsOverPlaintext) {
  ProbePeer peer(PeerScript{.auth_mechanisms = {"PLAIN"}});
  auto o = options_for(peer.port());
  o.auth = std::make_pair(std::string("alice"), std::string("pw"));
  ProbeReport r = probe_smtp(o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_stage, ProbeStage::auth);
  for (const auto& l : peer.lines()) EXPECT_EQ(l.rfind("AUTH", 0), std::string::npos) << l;
}

}  // namespace
}  // namespace sluice::diagnose
