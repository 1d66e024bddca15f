// Tests for net/tls_context.cpp: self-signed certificate generation (names, key mode, reuse),
// loading with every error naming its file, the SNI choice among several certificates and
// the minimum TLS version (real handshakes between OpenSSL objects over memory BIOs), the
// expiry warning, reload keeping the old certificates on failure, name matching.
#include "net/tls_context.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace sluice::net {
namespace {

namespace fs = std::filesystem;
const SystemTime kNow{std::chrono::seconds{1751364123}};  // 2025-07-01

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / ("tls_context_" + name + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

config::ReceiveConnector connector_with(std::vector<config::TlsCertificate> certs,
                                        config::TlsVersion min = config::TlsVersion::v1_2) {
  config::ReceiveConnector c;
  c.name = "Submission";
  c.tls_certificates = std::move(certs);
  c.tls_min_version = min;
  return c;
}

struct HandshakeResult {
  bool ok = false;
  std::string server_cn;  // the certificate the client saw
  std::string version;
};

// A client handshake against `server` entirely in memory: two BIO pairs shuttle the bytes.
HandshakeResult handshake(const ServerTlsContext& server, const char* sni, int client_max_version = 0) {
  HandshakeResult r;
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  if (client_max_version) {
    SSL_CTX_set_security_level(cctx, 0);  // let the client offer old versions at all
    SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(cctx, client_max_version);
  }
  SSL* client = SSL_new(cctx);
  TlsConnection conn = server.new_connection();
  SSL* srv = conn.ssl;
  BIO *c_in, *s_out, *s_in, *c_out;
  BIO_new_bio_pair(&c_in, 0, &s_out, 0);
  BIO_new_bio_pair(&s_in, 0, &c_out, 0);
  SSL_set_bio(client, c_in, c_out);
  SSL_set_bio(srv, s_in, s_out);
  SSL_set_connect_state(client);
  SSL_set_accept_state(srv);
  if (sni) SSL_set_tlsext_host_name(client, sni);
  bool c_done = false, s_done = false, failed = false;
  for (int i = 0; i < 50 && !(c_done && s_done) && !failed; ++i) {
    if (!c_done) {
      const int rc = SSL_do_handshake(client);
      if (rc == 1) c_done = true;
      else if (SSL_get_error(client, rc) != SSL_ERROR_WANT_READ) failed = true;
    }
    if (!s_done && !failed) {
      const int rc = SSL_do_handshake(srv);
      if (rc == 1) s_done = true;
      else if (SSL_get_error(srv, rc) != SSL_ERROR_WANT_READ) failed = true;
    }
  }
  ERR_clear_error();
  r.ok = c_done && s_done && !failed;
  if (r.ok) {
    X509* peer = SSL_get1_peer_certificate(client);
    char buf[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf);
    r.server_cn = buf;
    r.version = SSL_get_version(srv);
    X509_free(peer);
  }
  SSL_free(client);
  SSL_free(srv);
  SSL_CTX_free(cctx);
  return r;
}

TEST(TlsContext, SelfSignedCertificateIsMadeOnceWithTheHostName) {
  const fs::path dir = temp_dir("selfsigned") / "tls";
  auto made = ensure_self_signed_certificate(dir, "mx.sluice.test", kNow);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(made->certificate, (dir / "selfsigned.crt").string());
  struct stat st {};
  ASSERT_EQ(::stat(made->key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto written = fs::last_write_time(made->certificate);

  auto again = ensure_self_signed_certificate(dir, "mx.sluice.test", kNow);
  ASSERT_TRUE(again);
  EXPECT_EQ(fs::last_write_time(again->certificate), written);  // kept, not remade

  std::vector<std::string> warnings;
  auto ctx = ServerTlsContext::load(connector_with({*made}), kNow, warnings);
  ASSERT_TRUE(ctx) << ctx.error().message();
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ((*ctx)->default_names(), std::vector<std::string>{"mx.sluice.test"});  // the SAN
  const HandshakeResult h = handshake(**ctx, nullptr);
  EXPECT_TRUE(h.ok);
  EXPECT_EQ(h.server_cn, "mx.sluice.test");
  EXPECT_EQ(h.version, "TLSv1.3");
}

TEST(TlsContext, ExpiringCertificateIsWarnedAndRemadeForSelfSigned) {
  const fs::path dir = temp_dir("expiry");
  auto made = ensure_self_signed_certificate(dir, "mx.sluice.test", kNow);
  ASSERT_TRUE(made);
  // Valid one year from kNow: 340 days later it expires within 30 days.
  const SystemTime later = kNow + std::chrono::hours(24 * 340);
  const std::string w = certificate_expiry_warning(made->certificate, later);
  EXPECT_NE(w.find("expires in 25 days"), std::string::npos) << w;
  EXPECT_NE(w.find("CN=mx.sluice.test"), std::string::npos) << w;
  EXPECT_EQ(certificate_expiry_warning(made->certificate, kNow), "");
  const std::string gone = certificate_expiry_warning(made->certificate, kNow + std::chrono::hours(24 * 400));
  EXPECT_NE(gone.find("expired 35 days ago"), std::string::npos) << gone;

  std::vector<std::string> warnings;
  ASSERT_TRUE(ServerTlsContext::load(connector_with({*made}), later, warnings));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("Submission: certificate ", 0), 0u) << warnings[0];

  auto remade = ensure_self_signed_certificate(dir, "mx.sluice.test", later);
  ASSERT_TRUE(remade);
  EXPECT_EQ(certificate_expiry_warning(remade->certificate, later), "");
}

TEST(TlsContext, SniChoosesTheMatchingCertificate) {
  const fs::path dir = temp_dir("sni");
  auto a = ensure_self_signed_certificate(dir / "a", "mail.one.test", kNow);
  auto b = ensure_self_signed_certificate(dir / "b", "mail.two.test", kNow);
  ASSERT_TRUE(a && b);
  std::vector<std::string> warnings;
  auto ctx = ServerTlsContext::load(connector_with({*a, *b}), kNow, warnings);
  ASSERT_TRUE(ctx) << ctx.error().message();
  EXPECT_EQ(handshake(**ctx, "mail.two.test").server_cn, "mail.two.test");
  EXPECT_EQ(handshake(**ctx, "MAIL.ONE.TEST").server_cn, "mail.one.test");
  EXPECT_EQ(handshake(**ctx, "other.test").server_cn, "mail.one.test");  // the default
  EXPECT_EQ(handshake(**ctx, nullptr).server_cn, "mail.one.test");
}

TEST(TlsContext, OldProtocolVersionsAreRefusedByDefault) {
  const fs::path dir = temp_dir("versions");
  auto made = ensure_self_signed_certificate(dir, "mx.sluice.test", kNow);
  ASSERT_TRUE(made);
  std::vector<std::string> warnings;
  auto ctx = ServerTlsContext::load(connector_with({*made}), kNow, warnings);
  ASSERT_TRUE(ctx);
  EXPECT_FALSE(handshake(**ctx, nullptr, TLS1_1_VERSION).ok);
  EXPECT_FALSE(handshake(**ctx, nullptr, TLS1_VERSION).ok);
  const HandshakeResult v12 = handshake(**ctx, nullptr, TLS1_2_VERSION);
  EXPECT_TRUE(v12.ok);
  EXPECT_EQ(v12.version, "TLSv1.2");

  auto only13 = ServerTlsContext::load(connector_with({*made}, config::TlsVersion::v1_3), kNow, warnings);
  ASSERT_TRUE(only13);
  EXPECT_FALSE(handshake(**only13, nullptr, TLS1_2_VERSION).ok);
  EXPECT_TRUE(handshake(**only13, nullptr).ok);
}

TEST(TlsContext, LoadErrorsNameTheFile) {
  const fs::path dir = temp_dir("errors");
  auto made = ensure_self_signed_certificate(dir / "a", "mx.sluice.test", kNow);
  auto other = ensure_self_signed_certificate(dir / "b", "other.test", kNow);
  ASSERT_TRUE(made && other);
  std::vector<std::string> warnings;
  auto missing = ServerTlsContext::load(connector_with({{(dir / "nope.crt").string(), made->key}}), kNow, warnings);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().klass, ErrorClass::config);
  EXPECT_NE(missing.error().context.find("nope.crt"), std::string::npos) << missing.error().context;
  auto mismatch = ServerTlsContext::load(connector_with({{made->certificate, other->key}}), kNow, warnings);
  ASSERT_FALSE(mismatch);
  // OpenSSL finds the mismatch while loading the key: the key's file is named.
  EXPECT_NE(mismatch.error().context.find(other->key), std::string::npos) << mismatch.error().context;
  EXPECT_FALSE(ServerTlsContext::load(connector_with({}), kNow, warnings));
}

TEST(TlsContext, ReloadPicksUpNewFilesAndKeepsTheOldOnFailure) {
  const fs::path dir = temp_dir("reload");
  auto one = ensure_self_signed_certificate(dir / "one", "one.test", kNow);
  auto two = ensure_self_signed_certificate(dir / "two", "two.test", kNow);
  ASSERT_TRUE(one && two);
  const config::TlsCertificate live{(dir / "live.crt").string(), (dir / "live.key").string()};
  fs::copy_file(one->certificate, live.certificate);
  fs::copy_file(one->key, live.key);
  std::vector<std::string> warnings;
  auto ctx = ServerTlsContext::load(connector_with({live}), kNow, warnings);
  ASSERT_TRUE(ctx);
  TlsConnection before = (*ctx)->new_connection();  // a session in progress

  fs::copy_file(two->certificate, live.certificate, fs::copy_options::overwrite_existing);
  fs::copy_file(two->key, live.key, fs::copy_options::overwrite_existing);
  ASSERT_TRUE((*ctx)->reload(kNow, warnings));
  EXPECT_EQ(handshake(**ctx, nullptr).server_cn, "two.test");

  std::ofstream(live.key, std::ios::trunc) << "garbage\n";
  auto failed = (*ctx)->reload(kNow, warnings);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().context.find("live.key"), std::string::npos) << failed.error().context;
  EXPECT_EQ(handshake(**ctx, nullptr).server_cn, "two.test");  // still served
  SSL_free(before.ssl);  // the old snapshot outlived the reloads through `keep`
}

TEST(TlsContext, CertificateNamesMatchAsRfc6125Says) {
  EXPECT_TRUE(certificate_name_matches("mail.example.org", "MAIL.example.org"));
  EXPECT_TRUE(certificate_name_matches("mail.example.org", "mail.example.org."));
  EXPECT_TRUE(certificate_name_matches("*.example.org", "mail.example.org"));
  EXPECT_FALSE(certificate_name_matches("*.example.org", "a.b.example.org"));
  EXPECT_FALSE(certificate_name_matches("*.example.org", "example.org"));
  EXPECT_FALSE(certificate_name_matches("mail.example.org", "mail.example.net"));
}

TEST(TlsContext, SelfSignedForConnectorsWithout) {
  config::Config cfg;
  cfg.server.hostname = "mx.sluice.test";
  cfg.server.data_dir = temp_dir("fill").string();
  cfg.receive_connectors.push_back(connector_with({}));
  cfg.receive_connectors.push_back(connector_with({{"/etc/own.crt", "/etc/own.key"}}));
  auto given = use_self_signed_where_missing(cfg, kNow);
  ASSERT_TRUE(given) << given.error().message();
  EXPECT_EQ(*given, 1u);
  ASSERT_EQ(cfg.receive_connectors[0].tls_certificates.size(), 1u);
  EXPECT_EQ(cfg.receive_connectors[0].tls_certificates[0].certificate,
            (fs::path(cfg.server.data_dir) / "tls" / "selfsigned.crt").string());
  EXPECT_EQ(cfg.receive_connectors[1].tls_certificates[0].certificate, "/etc/own.crt");
}

}  // namespace
}  // namespace sluice::net
