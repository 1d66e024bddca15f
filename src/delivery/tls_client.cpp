// delivery/tls_client.cpp: see tls_client.hpp.
#include "delivery/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

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

}  // namespace

Result<std::unique_ptr<asio::ssl::context>> make_client_tls_context() {
  try {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression);
    // Opportunistic: an unverified certificate still gives encryption (RFC 7435 §1.3).
    ctx->set_verify_mode(asio::ssl::verify_none);
    return ctx;
  } catch (const std::exception& e) {
    return fail(ErrorClass::config, std::string("cannot create the TLS client context: ") + e.what());
  }
}

asio::awaitable<Result<TlsSessionInfo>> tls_handshake_client(TlsClientStream& stream,
                                                            const std::string& server_name,
                                                            std::chrono::milliseconds timeout) {
  SSL* ssl = stream.native_handle();
  if (!server_name.empty() && !is_ip_literal(server_name)) {
    // SNI carries host names only (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not
    // permitted"). A failure here only loses SNI, which an MX rarely needs: go on.
    SSL_set_tlsext_host_name(ssl, server_name.c_str());
  }
  asio::steady_timer timer(stream.get_executor(), timeout);
  auto result = co_await (stream.async_handshake(asio::ssl::stream_base::client, use_tuple) ||
                          timer.async_wait(use_tuple));
  if (result.index() != 0) co_return fail(ErrorClass::transient, "TLS handshake timed out");
  auto [ec] = std::get<0>(result);
  if (ec) co_return fail(ErrorClass::transient, "TLS handshake failed: " + describe(ec));

  TlsSessionInfo info;
  info.version = SSL_get_version(ssl);
  if (const char* cipher = SSL_get_cipher_name(ssl)) info.cipher = cipher;
  if (X509* cert = SSL_get1_peer_certificate(ssl)) {
    char buf[512];
    if (X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf)) info.peer_subject = buf;
    X509_free(cert);
  }
  co_return info;
}

}  // namespace sluice::delivery
