// auth/scram_credentials.cpp: see scram_credentials.hpp. RFC 5802 §3:
//   SaltedPassword = Hi(password, salt, i)   (PBKDF2 with HMAC-SHA-256)
//   ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey)
//   ServerKey = HMAC(SaltedPassword, "Server Key")
#include "auth/scram_credentials.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <charconv>
#include <vector>

#include "auth/base64.hpp"
#include "auth/password_hash.hpp"

namespace sluice::auth {
namespace {

constexpr std::string_view kPrefix = "SCRAM-SHA-256$";

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(),
       reinterpret_cast<unsigned char*>(out.data()), &length);
  SLUICE_ASSERT(length == SHA256_DIGEST_LENGTH);
  return out;
}

std::string pbkdf2_sha256(std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  const int rc = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                                   static_cast<int>(salt.size()), static_cast<int>(iterations),
                                   EVP_sha256(), static_cast<int>(out.size()),
                                   reinterpret_cast<unsigned char*>(out.data()));
  SLUICE_ASSERT(rc == 1);  // fails only on invalid arguments, which callers never pass
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

ScramCredentials make_scram_credentials(std::string_view password, uint32_t iterations) {
  SLUICE_ASSERT(ensure_sodium());
  std::string salt(kScramSaltBytes, '\0');
  randombytes_buf(salt.data(), salt.size());
  return make_scram_credentials(password, salt, iterations);
}

ScramCredentials make_scram_credentials(std::string_view password, std::string_view salt,
                                        uint32_t iterations) {
  SLUICE_ASSERT(iterations > 0 && iterations <= 0x7fffffff);
  const std::string salted = pbkdf2_sha256(password, salt, iterations);
  ScramCredentials c;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key = sha256(hmac_sha256(salted, "Client Key"));
  c.server_key = hmac_sha256(salted, "Server Key");
  return c;
}

std::string format_scram_credentials(const ScramCredentials& c) {
  return std::string(kPrefix) + std::to_string(c.iterations) + "$" + base64_encode(c.salt) + "$" +
         base64_encode(c.stored_key) + "$" + base64_encode(c.server_key);
}

Result<ScramCredentials> parse_scram_credentials(std::string_view text) {
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    return fail(ErrorClass::config, "SCRAM data does not start with \"SCRAM-SHA-256$\"");
  }
  text.remove_prefix(kPrefix.size());
  std::vector<std::string_view> fields;
  for (size_t at = 0;;) {
    const size_t end = text.find('$', at);
    fields.push_back(text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  if (fields.size() != 4) return fail(ErrorClass::config, "SCRAM data needs iterations$salt$StoredKey$ServerKey");
  ScramCredentials c;
  const auto [ptr, ec] = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), c.iterations);
  if (ec != std::errc{} || ptr != fields[0].data() + fields[0].size() || c.iterations == 0 ||
      c.iterations > 0x7fffffff) {
    return fail(ErrorClass::config, "SCRAM iteration count is not a positive number");
  }
  auto salt = base64_decode(fields[1]);
  auto stored = base64_decode(fields[2]);
  auto server = base64_decode(fields[3]);
  if (!salt || !stored || !server || salt->empty()) {
    return fail(ErrorClass::config, "SCRAM salt or keys are not valid base64");
  }
  if (stored->size() != SHA256_DIGEST_LENGTH || server->size() != SHA256_DIGEST_LENGTH) {
    return fail(ErrorClass::config, "SCRAM keys are not 32 bytes (SHA-256)");
  }
  c.salt = std::move(*salt);
  c.stored_key = std::move(*stored);
  c.server_key = std::move(*server);
  return c;
}

}  // namespace sluice::auth
