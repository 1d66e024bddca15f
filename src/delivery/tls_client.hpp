// delivery/tls_client.hpp: the client side of TLS for outbound SMTP — the OpenSSL context
// our connections share, and the handshake after STARTTLS (RFC 3207 §4).
// Owns: protocol versions and options of outbound TLS, SNI, what is reported about the
// negotiated session. Not: when STARTTLS is sent or what happens when it fails (the client
// session and smtp_delivery decide), server-side TLS (net/, issue 4).
// Policy: opportunistic TLS toward MX hosts (RFC 7435 §1.3, "opportunistic security"): any
// encryption beats none, so the peer's certificate is not checked. This is the one place that
// will check it when a connector asks for `tls = "verify"` (issue 4; RFC 7672/8461 later).
// Includes Asio's SSL headers: keep it out of widely included headers.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "base/result.hpp"

namespace sluice::delivery {

using TlsClientStream = asio::ssl::stream<asio::ip::tcp::socket>;

// What the handshake negotiated, for the protocol log, the tracking log and the queue views.
struct TlsSessionInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::string peer_subject;  // the certificate's subject, "" when none was sent (not verified)
  std::string summary() const { return version + " " + cipher; }
};

// A client context for outbound SMTP: TLS 1.2 and later (OpenSSL 3's default security level
// refuses older versions anyway), no compression, no certificate check. Fails only when
// OpenSSL cannot build a context (out of memory, broken installation).
Result<std::unique_ptr<asio::ssl::context>> make_client_tls_context();

// The TLS handshake on `stream`, whose TCP socket is connected and has just had "220" to
// STARTTLS. `server_name` goes out as SNI (RFC 6066 §3) unless it is an IP literal.
// Completes within `timeout`; a failure says why in words (the remote's alert, a timeout),
// and the stream must then be closed: RFC 3207 §4.1 leaves no way back to plaintext on it.
asio::awaitable<Result<TlsSessionInfo>> tls_handshake_client(TlsClientStream& stream,
                                                            const std::string& server_name,
                                                            std::chrono::milliseconds timeout);

}  // namespace sluice::delivery
