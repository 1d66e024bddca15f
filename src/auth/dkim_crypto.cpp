// auth/dkim_crypto.cpp: see dkim_crypto.hpp.
#include "auth/dkim_crypto.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth/base64.hpp"

namespace sluice::auth {
namespace {

EVP_PKEY* raw(const std::shared_ptr<void>& p) { return static_cast<EVP_PKEY*>(p.get()); }
std::shared_ptr<void> own(EVP_PKEY* k) { return std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); }); }

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::string dkim_sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

Result<DkimKey> DkimKey::from_public(DkimKeyType type, std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  if (type == DkimKeyType::ed25519) {
    if (der.size() != 32) return fail(ErrorClass::permanent, "Ed25519 key is not 32 bytes");
    EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, p, der.size());
    if (!k) return fail(ErrorClass::permanent, "Ed25519 key is unusable");
    return DkimKey(type, own(k));
  }
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (!k) {
    p = reinterpret_cast<const unsigned char*>(der.data());
    k = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
  }
  if (!k) return fail(ErrorClass::permanent, "RSA public key in p= cannot be decoded");
  if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
    EVP_PKEY_free(k);
    return fail(ErrorClass::permanent, "p= is not an RSA key");
  }
  return DkimKey(type, own(k));
}

Result<DkimKey> DkimKey::from_private_file_text(std::string_view text) {
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (k) {
    int id = EVP_PKEY_get_base_id(k);
    if (id == EVP_PKEY_RSA) return DkimKey(DkimKeyType::rsa, own(k));
    if (id == EVP_PKEY_ED25519) return DkimKey(DkimKeyType::ed25519, own(k));
    EVP_PKEY_free(k);
    return fail(ErrorClass::config, "the key is neither RSA nor Ed25519");
  }
  // dkimpy's Ed25519 key file: the 32-byte seed in base64 on one line.
  std::string_view t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.remove_suffix(1);
  if (auto seed = base64_decode(t); seed && seed->size() == 32) {
    EVP_PKEY* e = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(seed->data()), 32);
    if (e) return DkimKey(DkimKeyType::ed25519, own(e));
  }
  return fail(ErrorClass::config, "not a PEM private key (PKCS#8 or RSA) nor a base64 Ed25519 seed");
}

Result<DkimKey> DkimKey::generate(DkimKeyType type, int rsa_bits) {
  EVP_PKEY* k = type == DkimKeyType::rsa ? EVP_RSA_gen(static_cast<unsigned>(rsa_bits))
                                         : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!k) return fail(ErrorClass::io, "key generation failed");
  return DkimKey(type, own(k));
}

int DkimKey::bits() const { return EVP_PKEY_get_bits(raw(pkey_)); }

bool DkimKey::verify(std::string_view header_data, std::string_view signature) const {
  MdCtx md;
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (type_ == DkimKeyType::ed25519) {
    const std::string digest = dkim_sha256(header_data);
    if (EVP_DigestVerifyInit(md.ctx, nullptr, nullptr, nullptr, raw(pkey_)) != 1) return false;
    return EVP_DigestVerify(md.ctx, sig, signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                            digest.size()) == 1;
  }
  if (EVP_DigestVerifyInit(md.ctx, nullptr, EVP_sha256(), nullptr, raw(pkey_)) != 1) return false;
  return EVP_DigestVerify(md.ctx, sig, signature.size(), reinterpret_cast<const unsigned char*>(header_data.data()),
                          header_data.size()) == 1;
}

Result<std::string> DkimKey::sign(std::string_view header_data) const {
  MdCtx md;
  std::string digest;
  const EVP_MD* alg = EVP_sha256();
  std::string_view input = header_data;
  if (type_ == DkimKeyType::ed25519) {
    digest = dkim_sha256(header_data);
    input = digest;
    alg = nullptr;
  }
  if (EVP_DigestSignInit(md.ctx, nullptr, alg, nullptr, raw(pkey_)) != 1)
    return fail(ErrorClass::config, "the key cannot sign (is it a private key?)");
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(md.ctx, nullptr, &len, in, input.size()) != 1) return fail(ErrorClass::io, "signing failed");
  std::string out(len, '\0');
  if (EVP_DigestSign(md.ctx, reinterpret_cast<unsigned char*>(out.data()), &len, in, input.size()) != 1)
    return fail(ErrorClass::io, "signing failed");
  out.resize(len);
  return out;
}

Result<std::string> DkimKey::private_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  bool ok = PEM_write_bio_PrivateKey(bio, raw(pkey_), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out = ok ? std::string(data, static_cast<size_t>(n)) : std::string();
  BIO_free(bio);
  if (!ok) return fail(ErrorClass::config, "not a private key");
  return out;
}

Result<std::string> DkimKey::public_record_value() const {
  if (type_ == DkimKeyType::ed25519) {
    unsigned char pub[32];
    size_t len = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(raw(pkey_), pub, &len) != 1 || len != 32)
      return fail(ErrorClass::io, "cannot read the Ed25519 public key");
    return base64_encode(std::string_view(reinterpret_cast<char*>(pub), len));
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(raw(pkey_), &der);
  if (n <= 0) return fail(ErrorClass::io, "cannot encode the RSA public key");
  std::string out = base64_encode(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(n)));
  OPENSSL_free(der);
  return out;
}

}  // namespace sluice::auth
