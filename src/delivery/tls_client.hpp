// delivery/tls_client.hpp: the client side of TLS for outbound SMTP — the OpenSSL context
// our connections share, the handshake after STARTTLS (RFC 3207 §4) and the check of the
// server's certificate (chain and name) that a send connector's `tls = "verify"` enforces.
// Owns: protocol versions and options of outbound TLS, SNI, trust stores (the system's, or a
// connector's ca_file), the verification result and its wording, what is reported about the
// negotiated session. Not: when STARTTLS is sent or what a failed check means for the mail
// (the client session and smtp_delivery decide), server-side TLS (net/).
// Policy: the chain and name are always checked and reported (tracking shows "verified" or
// why not), but only `verify` refuses an unverified server: opportunistic TLS toward MX hosts
// (RFC 7435 §1.3) prefers any encryption to none. The name checked is the one the admin
// wrote (smart host) or the MX record gave (RFC 7817 §3 / RFC 6125 §6: DNS-ID in
// subjectAltName, CN only when there is none; a literal "[ip]" is checked as an iPAddress).
// Includes Asio's SSL headers: keep it out of widely included headers.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "base/result.hpp"

typedef struct x509_store_st X509_STORE;

namespace sluice::delivery {

using TlsClientStream = asio::ssl::stream<asio::ip::tcp::socket>;

// What the handshake negotiated, for the protocol log, the tracking log and the queue views.
struct TlsSessionInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::string peer_subject;  // the certificate's subject, "" when none was sent
  // "" when the chain reached a trusted root and the name matched; otherwise exactly what
  // failed: "certificate verify failed: self-signed certificate", "certificate name
  // mismatch: mx.example.net is not among the certificate's names (other.example)".
  std::string verify_error;

  bool verified() const { return verify_error.empty(); }
  std::string summary() const { return version + " " + cipher; }
  // For the tracking log's tls-verified: "verified" or "unverified: <verify_error>".
  std::string verification() const { return verified() ? "verified" : "unverified: " + verify_error; }
};

// A trust store read from a PEM file of CA certificates (a send connector's ca_file). Shared
// by the connections of a batch; read again for each batch, so a replaced file needs no reload.
class CaStore {
 public:
  // Fails (ErrorClass::config) when the file cannot be read or holds no certificate.
  static Result<std::shared_ptr<const CaStore>> load(const std::string& path);
  ~CaStore();
  CaStore(const CaStore&) = delete;
  CaStore& operator=(const CaStore&) = delete;

  X509_STORE* get() const { return store_; }

 private:
  explicit CaStore(X509_STORE* store) : store_(store) {}
  X509_STORE* store_;
};

// Who the server is expected to be.
struct TlsPeerIdentity {
  std::string host_name;  // checked against the certificate's DNS names; "" for "[ip]" targets
  std::string ip;         // checked against its IP addresses when host_name is ""
  const CaStore* trust = nullptr;  // null: the context's store (the system's CAs)
};

// A client context for outbound SMTP: TLS 1.2 and later (OpenSSL 3's default security level
// refuses older versions anyway), no compression, the system's CA store for the check. The
// handshake itself never stops at an untrusted certificate (see the policy above). Fails only
// when OpenSSL cannot build a context (out of memory, broken installation).
Result<std::unique_ptr<asio::ssl::context>> make_client_tls_context();

// The TLS handshake on `stream`, whose TCP socket is connected and has just had "220" to
// STARTTLS. `server_name` goes out as SNI (RFC 6066 §3) unless it is an IP literal.
// Completes within `timeout`; a failure says why in words (the remote's alert, a timeout),
// and the stream must then be closed: RFC 3207 §4.1 leaves no way back to plaintext on it.
// On success the certificate has been checked against `expected` (when `expected` names
// nobody, against `server_name`): see TlsSessionInfo::verify_error.
asio::awaitable<Result<TlsSessionInfo>> tls_handshake_client(TlsClientStream& stream,
                                                            const std::string& server_name,
                                                            std::chrono::milliseconds timeout,
                                                            const TlsPeerIdentity& expected = {});

}  // namespace sluice::delivery
