// tests/unit/cli/test_command_test.cpp: `sluice test` argument handling (HOST[:PORT] forms,
// usage errors) and the rendering of a probe report (transcript, certificate, failure advice).
#include "cli/test_command.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "cli/cli_app.hpp"

namespace sluice::cli {
namespace {

TEST(ParseHostPort, AcceptsTheUsualForms) {
  EXPECT_EQ(parse_host_port("mx.example.net", 25), std::make_pair(std::string("mx.example.net"), uint16_t{25}));
  EXPECT_EQ(parse_host_port("mx.example.net:587", 25), std::make_pair(std::string("mx.example.net"), uint16_t{587}));
  EXPECT_EQ(parse_host_port("[::1]:2525", 25), std::make_pair(std::string("::1"), uint16_t{2525}));
  EXPECT_EQ(parse_host_port("[::1]", 465), std::make_pair(std::string("::1"), uint16_t{465}));
  EXPECT_EQ(parse_host_port("2001:db8::1", 25), std::make_pair(std::string("2001:db8::1"), uint16_t{25}));
}

TEST(ParseHostPort, RefusesBadPorts) {
  EXPECT_FALSE(parse_host_port("mx:0", 25));
  EXPECT_FALSE(parse_host_port("mx:65536", 25));
  EXPECT_FALSE(parse_host_port("mx:25a", 25));
  EXPECT_FALSE(parse_host_port("mx:", 25));
  EXPECT_FALSE(parse_host_port("[::1", 25));
  EXPECT_FALSE(parse_host_port(":25", 25));
}

TEST(TestCommand, BadTargetIsAUsageError) {
  std::ostringstream out, err;
  const char* argv[] = {"sluice", "test", "mx.example.net:99999"};
  EXPECT_EQ(run_cli(3, argv, out, err, std::nullopt), 64);
  EXPECT_NE(err.str().find("is not HOST or HOST:PORT"), std::string::npos) << err.str();
}

TEST(TestCommand, DataWithoutEnvelopeIsAUsageError) {
  std::ostringstream out, err;
  const char* argv[] = {"sluice", "test", "127.0.0.1:1", "--data"};
  EXPECT_EQ(run_cli(4, argv, out, err, std::nullopt), 64);
  EXPECT_NE(err.str().find("--data needs --from"), std::string::npos) << err.str();
}

TEST(RenderProbe, ShowsTranscriptCertificateAndTheFirstFailure) {
  diagnose::ProbeOptions o;
  o.host = "mx.example.net";
  o.port = 25;
  diagnose::ProbeReport r;
  r.transcript = {{'*', "connected to 192.0.2.1:25 in 12 ms", 12}, {'<', "220 mx.example.net ESMTP", 40},
                  {'>', "AUTH PLAIN ****", 80}, {'<', "535 5.7.8 Authentication credentials invalid", 95}};
  r.tls = true;
  r.tls_version = "TLSv1.3";
  r.tls_cipher = "TLS_AES_256_GCM_SHA384";
  diagnose::CertificateInfo c;
  c.subject = "CN=mx.example.net";
  c.issuer = "CN=Test CA";
  c.sans = {"mx.example.net"};
  c.not_before = "2026-01-01 00:00:00 UTC";
  c.not_after = "2026-04-01 00:00:00 UTC";
  c.days_left = 40;
  c.chain_verified = false;
  c.name_matches = true;
  c.verify_error = "unable to get local issuer certificate";
  r.certificate = c;
  r.ok = false;
  r.failed_stage = diagnose::ProbeStage::auth;
  r.failure = "535 5.7.8 Authentication credentials invalid";
  r.failure_reply = Reply(535, "5.7.8", "Authentication credentials invalid");
  const std::string text = render_probe(r, o);
  EXPECT_NE(text.find("   40 ms  < 220 mx.example.net ESMTP"), std::string::npos) << text;
  EXPECT_NE(text.find("   80 ms  > AUTH PLAIN ****"), std::string::npos) << text;
  EXPECT_NE(text.find("TLS: TLSv1.3 TLS_AES_256_GCM_SHA384"), std::string::npos);
  EXPECT_NE(text.find("verify:   NOT verified: unable to get local issuer certificate"), std::string::npos) << text;
  EXPECT_NE(text.find("result: FAIL at AUTH: 535 5.7.8 Authentication credentials invalid"), std::string::npos);
  EXPECT_NE(text.find("what to do: the credentials were refused"), std::string::npos) << text;
  EXPECT_NE(text.find("meaning: "), std::string::npos);
}

}  // namespace
}  // namespace sluice::cli
