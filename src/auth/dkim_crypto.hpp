// auth/dkim_crypto.hpp: the cryptography DKIM needs, over OpenSSL 3: SHA-256, RSA PKCS#1 v1.5
// and Ed25519 signatures, public keys from key records, private keys from key files, and new
// keys for `sluice dkim keygen`.
// Owns: key formats — p= is a SubjectPublicKeyInfo (or a bare RSAPublicKey, which some
// publishers use) for RSA (RFC 6376 §3.6.1) and the raw 32-byte key for Ed25519 (RFC 8463
// §4); key files are PEM (PKCS#8 or traditional RSA), or dkimpy's base64 Ed25519 seed. Ed25519
// signs the SHA-256 digest of the header data, not the data itself (RFC 8463 §3).
// Not: what is hashed (dkim_verifier, dkim_signer), policy such as minimum key sizes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth/dkim_signature.hpp"
#include "base/result.hpp"

namespace sluice::auth {

std::string dkim_sha256(std::string_view data);

// A public or private key; copying shares the immutable OpenSSL key.
class DkimKey {
 public:
  // From a key record's type and decoded p=.
  static Result<DkimKey> from_public(DkimKeyType type, std::string_view der);
  // From a key file's contents.
  static Result<DkimKey> from_private_file_text(std::string_view text);
  // A new key: RSA of `rsa_bits`, or Ed25519.
  static Result<DkimKey> generate(DkimKeyType type, int rsa_bits = 2048);

  DkimKeyType type() const { return type_; }
  int bits() const;  // RSA modulus size; 256 for Ed25519

  // `header_data` is the canonicalized header data (§3.7); the digest is computed here.
  bool verify(std::string_view header_data, std::string_view signature) const;
  Result<std::string> sign(std::string_view header_data) const;

  // PKCS#8 PEM of the private key, and the p= value (base64) of its public half.
  Result<std::string> private_pem() const;
  Result<std::string> public_record_value() const;

 private:
  DkimKey(DkimKeyType type, std::shared_ptr<void> pkey) : type_(type), pkey_(std::move(pkey)) {}
  DkimKeyType type_;
  std::shared_ptr<void> pkey_;  // EVP_PKEY, kept opaque so OpenSSL stays out of this header
};

}  // namespace sluice::auth
