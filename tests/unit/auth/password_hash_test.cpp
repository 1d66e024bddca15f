// Tests for auth/password_hash: Argon2id PHC strings round trip, wrong passwords and malformed
// hashes never verify. Cheap parameters keep the suite fast; one test checks the defaults.
#include "auth/password_hash.hpp"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

TEST(PasswordHash, RoundTripAndWrongPassword) {
  auto hash = hash_password("correct horse", minimal_hash_params());
  ASSERT_TRUE(hash) << hash.error().message();
  EXPECT_TRUE(looks_like_argon2id(*hash)) << *hash;
  EXPECT_TRUE(verify_password(*hash, "correct horse"));
  EXPECT_FALSE(verify_password(*hash, "correct horse "));
  EXPECT_FALSE(verify_password(*hash, "Correct horse"));
  EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(PasswordHash, SaltIsFreshEachTime) {
  auto a = hash_password("pw", minimal_hash_params());
  auto b = hash_password("pw", minimal_hash_params());
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password(*b, "pw"));
}

TEST(PasswordHash, DefaultParametersAreInteractiveArgon2id) {
  auto hash = hash_password("pw");
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=65536,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(verify_password(*hash, "pw"));
}

TEST(PasswordHash, PasswordsWithNulAndNonAsciiBytes) {
  const std::string pw("a\0b\xc3\xa9", 5);
  auto hash = hash_password(pw, minimal_hash_params());
  ASSERT_TRUE(hash);
  EXPECT_TRUE(verify_password(*hash, pw));
  EXPECT_FALSE(verify_password(*hash, "a"));
}

TEST(PasswordHash, MalformedHashesNeverVerify) {
  auto hash = hash_password("pw", minimal_hash_params());
  ASSERT_TRUE(hash);
  std::string tampered = *hash;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {std::string(), std::string("pw"), std::string("$argon2id$"),
                                 hash->substr(0, hash->size() - 5), tampered,
                                 std::string(500, '$')}) {
    EXPECT_FALSE(verify_password(bad, "pw")) << bad;
  }
  EXPECT_FALSE(looks_like_argon2id("$2y$10$abcdefghijklmnopqrstuu"));
  EXPECT_FALSE(looks_like_argon2id("$argon2i$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA"));
}

TEST(PasswordHash, ParametersBelowTheMinimumAreRefused) {
  EXPECT_FALSE(hash_password("pw", HashParams{0, 8192}));
  EXPECT_FALSE(hash_password("pw", HashParams{1, 1024}));
}

}  // namespace
}  // namespace sluice::auth
