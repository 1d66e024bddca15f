// delivery/tls_client.cpp: see tls_client.hpp.
#include "delivery/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace sluice::delivery {

namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

bool is_ip_literal(const std::string& name) {
  asio::error_code ec;
  asio::ip::make_address(name, ec);
  return !ec;
}

// OpenSSL's reason for a failed handshake is in its error queue; Asio's message for the
// error code is often just "handshake failure". Prefer the library's own reason string.
std::string describe(const asio::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (reason) return reason;
  }
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
    return "connection closed by the remote during the handshake";
  return ec.message();
}

// The names a certificate answers to, as an admin would compare them with the host name:
// its subjectAltName DNS names and IP addresses, or its subject CN when it has no SAN.
std::string certificate_names(X509* cert) {
  std::string names;
  auto add = [&](std::string_view n) {
    if (!names.empty()) names += ", ";
    names += n;
  };
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        const ASN1_STRING* s = gn->d.dNSName;
        add(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<size_t>(ASN1_STRING_length(s))));
      } else if (gn->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* s = gn->d.iPAddress;
        const unsigned char* p = ASN1_STRING_get0_data(s);
        asio::error_code ec;
        if (ASN1_STRING_length(s) == 4) {
          asio::ip::address_v4::bytes_type b;
          std::copy(p, p + 4, b.begin());
          add(asio::ip::address_v4(b).to_string());
        } else if (ASN1_STRING_length(s) == 16) {
          asio::ip::address_v6::bytes_type b;
          std::copy(p, p + 16, b.begin());
          add(asio::ip::address_v6(b).to_string());
        }
      }
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    if (n > 0) add(std::string_view(cn, static_cast<size_t>(n)));
  }
  return names.empty() ? "none" : names;
}

// Chain first (an untrusted certificate can claim any name), then the name.
std::string check_certificate(SSL* ssl, const TlsPeerIdentity& expected) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return "certificate verify failed: the server sent no certificate";
  const long chain = SSL_get_verify_result(ssl);
  if (chain != X509_V_OK) return std::string("certificate verify failed: ") + X509_verify_cert_error_string(chain);
  if (!expected.host_name.empty()) {
    std::string host = expected.host_name;
    if (host.ends_with('.')) host.pop_back();  // an absolute MX name
    // RFC 6125 §6.4.3: a wildcard only as the whole left-most label.
    if (X509_check_host(cert, host.data(), host.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1)
      return "";
    return "certificate name mismatch: " + host + " is not among the certificate's names (" +
           certificate_names(cert) + ")";
  }
  if (!expected.ip.empty()) {
    if (X509_check_ip_asc(cert, expected.ip.c_str(), 0) == 1) return "";
    return "certificate name mismatch: " + expected.ip + " is not among the certificate's names (" +
           certificate_names(cert) + ")";
  }
  return "certificate name mismatch: no name to check the certificate against";
}

}  // namespace

Result<std::shared_ptr<const CaStore>> CaStore::load(const std::string& path) {
  X509_STORE* store = X509_STORE_new();
  if (!store) return fail(ErrorClass::config, "cannot create a certificate store");
  std::shared_ptr<const CaStore> out(new CaStore(store));
  ERR_clear_error();
  // X509_STORE_load_file reads every certificate (and CRL) of a PEM file.
  if (X509_STORE_load_file(store, path.c_str()) != 1) {
    const unsigned long err = ERR_peek_last_error();
    const char* reason = err ? ERR_reason_error_string(err) : nullptr;
    ERR_clear_error();
    return fail(ErrorClass::config, "cannot load ca_file " + path + ": " +
                                        (reason ? reason : "no certificate in it"));
  }
  return out;
}

CaStore::~CaStore() { X509_STORE_free(store_); }

Result<std::unique_ptr<asio::ssl::context>> make_client_tls_context() {
  try {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression);
    // verify_none: the handshake goes on whatever the certificate, and OpenSSL still records
    // the chain's verification result, which check_certificate reads afterwards. Refusing is
    // the connector's decision (tls = "verify"), not the handshake's.
    ctx->set_verify_mode(asio::ssl::verify_none);
    // The system's CAs (Debian: /etc/ssl/certs). Without them every chain reports "unable
    // to get local issuer certificate": a verify connector then defers, saying so, which is
    // the right outcome on a machine without a CA bundle.
    asio::error_code ignored;
    ctx->set_default_verify_paths(ignored);
    return ctx;
  } catch (const std::exception& e) {
    return fail(ErrorClass::config, std::string("cannot create the TLS client context: ") + e.what());
  }
}

asio::awaitable<Result<TlsSessionInfo>> tls_handshake_client(TlsClientStream& stream,
                                                            const std::string& server_name,
                                                            std::chrono::milliseconds timeout,
                                                            const TlsPeerIdentity& expected) {
  SSL* ssl = stream.native_handle();
  if (!server_name.empty() && !is_ip_literal(server_name)) {
    // SNI carries host names only (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not
    // permitted"). A failure here only loses SNI, which an MX rarely needs: go on.
    SSL_set_tlsext_host_name(ssl, server_name.c_str());
  }
  // A connector's own CAs replace the system's for this connection only (the context is
  // shared by every connector of the loop). set1 takes its own reference.
  if (expected.trust) SSL_set1_verify_cert_store(ssl, expected.trust->get());
  asio::steady_timer timer(stream.get_executor(), timeout);
  auto result = co_await (stream.async_handshake(asio::ssl::stream_base::client, use_tuple) ||
                          timer.async_wait(use_tuple));
  if (result.index() != 0) co_return fail(ErrorClass::transient, "TLS handshake timed out");
  auto [ec] = std::get<0>(result);
  if (ec) co_return fail(ErrorClass::transient, "TLS handshake failed: " + describe(ec));

  TlsSessionInfo info;
  info.version = SSL_get_version(ssl);
  if (const char* cipher = SSL_get_cipher_name(ssl)) info.cipher = cipher;
  if (X509* cert = SSL_get0_peer_certificate(ssl)) {
    char buf[512];
    if (X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf)) info.peer_subject = buf;
  }
  TlsPeerIdentity who = expected;
  if (who.host_name.empty() && who.ip.empty()) {
    if (is_ip_literal(server_name)) who.ip = server_name;
    else who.host_name = server_name;
  }
  info.verify_error = check_certificate(ssl, who);
  co_return info;
}

}  // namespace sluice::delivery
