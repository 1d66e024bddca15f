// config/tls_settings.hpp: the TLS words of the configuration that the server side uses — a
// receive connector's certificates and its lowest protocol version — and the check of a
// stored password hash's form.
// Owns: these values and their text forms. Not: loading certificates or keys, SNI matching,
// OpenSSL contexts (net/), hashing or verifying passwords (auth/): the loader never opens
// the files it names (they are relative to the daemon's working directory).
// Follows RFC 8996 (TLS 1.0 and 1.1 deprecated), RFC 6066 §3 (SNI), RFC 9106 and the
// PHC string format libsodium writes for Argon2id ("$argon2id$v=19$m=...,t=...,p=...$salt$hash").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

// A certificate chain and its private key, both PEM files.
struct TlsCertificate {
  std::string certificate;  // leaf first, then intermediates
  std::string key;
  bool operator==(const TlsCertificate&) const = default;
};

enum class TlsVersion { v1_0, v1_1, v1_2, v1_3 };

std::string_view to_string(TlsVersion v);  // "1.2"
std::optional<TlsVersion> parse_tls_version(std::string_view text);  // "1.0".."1.3"

// "" if `hash` has the form of an Argon2id hash string (as `sluice user passwd` and
// libsodium's crypto_pwhash_str write it), else why not. Only the form: whether it
// verifies is auth's business.
std::string check_password_hash(std::string_view hash);

}  // namespace sluice::config
