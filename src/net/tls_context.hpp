// net/tls_context.hpp: the server side TLS of one receive connector — an OpenSSL SSL_CTX per
// configured certificate, the SNI choice among them, the lowest protocol version, reload on
// demand (SIGHUP) without touching sessions in progress, the expiry warning, and the
// self-signed certificate the daemon makes on first start when a connector has none.
// Owns: loading PEM chains and keys, OpenSSL context options, certificate names and dates.
// Not: the handshake and the byte streams (session_stream.hpp, smtp_server.cpp), which
// connectors offer TLS (config/), the STARTTLS verb (smtp/server_session).
// RFC 8446 / RFC 5246 (TLS 1.3 / 1.2), RFC 8996 (TLS 1.0 and 1.1 deprecated: 1.2 is the
// default minimum), RFC 6066 §3 (server_name), RFC 6125 §6.4 (DNS-ID matching, one
// left-most wildcard label), RFC 5280 §4.2.1.6 (subjectAltName).
// Kept free of Asio: included by the daemon's wiring too.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "config/config.hpp"

struct ssl_st;

namespace sluice::net {

// A certificate that expires within this much time is reported at load.
inline constexpr std::chrono::hours kExpiryWarning{24 * 30};

// One new connection's TLS state: `ssl` is owned by whoever takes it (asio's ssl::stream frees
// it); `keep` holds the certificates the SNI choice may switch to until the session ends.
struct TlsConnection {
  ssl_st* ssl = nullptr;
  std::shared_ptr<const void> keep;
};

class ServerTlsContext {
 public:
  // Loads every certificate (the first is the default when SNI matches none or is absent).
  // ErrorClass::config "<connector>: certificate <file>: <reason>". `warnings` gets one line
  // per certificate that expires within kExpiryWarning (or has expired).
  static Result<std::unique_ptr<ServerTlsContext>> load(const config::ReceiveConnector& connector, SystemTime now,
                                                        std::vector<std::string>& warnings);

  ~ServerTlsContext();
  ServerTlsContext(const ServerTlsContext&) = delete;
  ServerTlsContext& operator=(const ServerTlsContext&) = delete;

  // A fresh SSL in server mode for one connection. Thread-safe.
  TlsConnection new_connection() const;

  // Reads the same files again. On success new connections use them; sessions in progress
  // keep what they negotiated. On failure the old certificates stay. Thread-safe.
  Result<void> reload(SystemTime now, std::vector<std::string>& warnings);

  // The names of the default certificate (subjectAltName DNS names, else the CN).
  std::vector<std::string> default_names() const;

 private:
  struct Snapshot;
  ServerTlsContext(std::string connector, std::vector<config::TlsCertificate> files, config::TlsVersion min);
  static Result<std::shared_ptr<const Snapshot>> build(const std::string& connector,
                                                       const std::vector<config::TlsCertificate>& files,
                                                       config::TlsVersion min, SystemTime now,
                                                       std::vector<std::string>& warnings);

  std::string connector_;
  std::vector<config::TlsCertificate> files_;
  config::TlsVersion min_version_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
};

// Whether `name` (a DNS name from SNI) matches the certificate name `pattern` ("*.example.org"
// matches one label, RFC 6125 §6.4.3). Case-insensitive.
bool certificate_name_matches(std::string_view pattern, std::string_view name);

// "" if the certificate (first PEM block of `certificate_file`) is valid for more than
// kExpiryWarning after `now`; else a warning: "certificate <file> (CN=...) expires in 12
// days (2025-07-13)" or "... expired 3 days ago (...)". Unreadable files give their error.
std::string certificate_expiry_warning(const std::string& certificate_file, SystemTime now);

// <dir>/selfsigned.crt and <dir>/selfsigned.key for `hostname` (P-256 key, SHA-256
// signature, CN and subjectAltName DNS = hostname, valid one year, key file mode 0600),
// created when missing, unreadable or expiring within kExpiryWarning; kept otherwise.
Result<config::TlsCertificate> ensure_self_signed_certificate(const std::filesystem::path& dir,
                                                              const std::string& hostname, SystemTime now);

// `make run`: every receive connector without a certificate gets the self-signed one of
// <data_dir>/tls (made if needed), so the default setup offers STARTTLS. Returns how many
// connectors were given it.
Result<size_t> use_self_signed_where_missing(config::Config& config, SystemTime now);

}  // namespace sluice::net
