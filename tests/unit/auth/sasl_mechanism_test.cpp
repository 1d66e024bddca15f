// Tests for the SASL server mechanisms: PLAIN, LOGIN and SCRAM-SHA-256 exchanges against a
// UserStore with known passwords, the RFC 7677 §3 example exchange byte for byte, and
// malformed or hostile input (which must fail, never crash or succeed).
#include "auth/sasl_mechanism.hpp"

#include <gtest/gtest.h>

#include "auth/base64.hpp"
#include "auth/password_mechanisms.hpp"
#include "auth/scram_credentials.hpp"
#include "auth/scram_mechanism.hpp"
#include "auth/user_store.hpp"

namespace sluice::auth {
namespace {

using namespace std::string_literals;

class SaslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(users_.add("alice@example.org", "wonderland", minimal_hash_params()));
  }
  // What the session does with a need_verification step.
  Step verify_and_finish(SaslMechanism& m, const Step& s) {
    EXPECT_EQ(s.kind, StepKind::need_verification);
    return m.finish(users_.verify(s.username, s.password));
  }
  UserStore users_;
};

TEST_F(SaslTest, FactoryKnowsTheOfferedMechanismsOnly) {
  for (std::string_view name : supported_mechanisms()) {
    auto m = make_mechanism(name, users_);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ(m->name(), name);
  }
  EXPECT_NE(make_mechanism("plain", users_), nullptr);
  EXPECT_EQ(make_mechanism("CRAM-MD5", users_), nullptr);
  EXPECT_EQ(make_mechanism("SCRAM-SHA-256-PLUS", users_), nullptr);
  EXPECT_EQ(make_mechanism("", users_), nullptr);
  EXPECT_EQ(supported_mechanisms(), (std::vector<std::string_view>{"SCRAM-SHA-256", "PLAIN", "LOGIN"}));
}

TEST_F(SaslTest, PlainWithInitialResponse) {
  auto m = make_mechanism("PLAIN", users_);
  Step s = m->start("\0alice@example.org\0wonderland"s);
  EXPECT_EQ(s.username, "alice@example.org");
  EXPECT_EQ(s.password, "wonderland");
  Step done = verify_and_finish(*m, s);
  EXPECT_EQ(done.kind, StepKind::success);
  EXPECT_EQ(done.username, "alice@example.org");
}

TEST_F(SaslTest, PlainAfterEmptyChallengeWithAuthzidEqualToUserAndDomainCase) {
  auto m = make_mechanism("PLAIN", users_);
  Step c = m->start(std::nullopt);
  EXPECT_EQ(c.kind, StepKind::challenge);
  EXPECT_EQ(c.data, "");
  Step s = m->step("alice@Example.ORG\0alice@EXAMPLE.org\0wonderland"s);
  Step done = verify_and_finish(*m, s);
  EXPECT_EQ(done.kind, StepKind::success);
  EXPECT_EQ(done.username, "alice@example.org") << "the stored login, not the spelling typed";
}

TEST_F(SaslTest, PlainWrongPasswordAndUnknownUserFail) {
  for (std::string msg : {"\0alice@example.org\0wonderlan"s, "\0bob@example.org\0wonderland"s}) {
    auto m = make_mechanism("PLAIN", users_);
    Step done = verify_and_finish(*m, m->start(msg));
    EXPECT_EQ(done.kind, StepKind::failure);
    EXPECT_EQ(done.data.find("wonderlan"), std::string::npos) << "no password in the reason";
  }
}

TEST_F(SaslTest, PlainMalformedMessagesFailWithoutVerification) {
  const std::string bad[] = {
      ""s,                                         // the "=" empty initial response
      "alice@example.org wonderland"s,             // no NULs
      "\0alice@example.org"s,                      // one NUL
      "\0alice@example.org\0wonder\0land"s,        // three NULs
      "\0\0wonderland"s,                           // empty authcid
      "\0alice@example.org\0"s,                    // empty password
      "bob@example.org\0alice@example.org\0wonderland"s,  // acting as someone else
      "\0"s + std::string(2000, 'a') + "\0pw"s,    // oversized
  };
  for (const std::string& msg : bad) {
    auto m = make_mechanism("PLAIN", users_);
    Step s = m->start(msg);
    EXPECT_EQ(s.kind, StepKind::failure) << testing::PrintToString(msg);
    EXPECT_EQ(m->finish(true).kind, StepKind::failure) << "finish without a pending verification";
  }
}

TEST_F(SaslTest, LoginWithoutAndWithInitialResponse) {
  {
    auto m = make_mechanism("LOGIN", users_);
    Step c1 = m->start(std::nullopt);
    EXPECT_EQ(c1.kind, StepKind::challenge);
    EXPECT_EQ(c1.data, "Username:");
    Step c2 = m->step("alice@example.org");
    EXPECT_EQ(c2.kind, StepKind::challenge);
    EXPECT_EQ(c2.data, "Password:");
    EXPECT_EQ(verify_and_finish(*m, m->step("wonderland")).kind, StepKind::success);
  }
  {
    auto m = make_mechanism("LOGIN", users_);
    Step c = m->start("alice@example.org");
    EXPECT_EQ(c.data, "Password:");
    Step done = verify_and_finish(*m, m->step("wrong"));
    EXPECT_EQ(done.kind, StepKind::failure);
    EXPECT_EQ(done.username, "alice@example.org");
  }
}

TEST_F(SaslTest, LoginMalformedAndOutOfOrder) {
  auto m = make_mechanism("LOGIN", users_);
  m->start(std::nullopt);
  EXPECT_EQ(m->step("").kind, StepKind::failure);
  EXPECT_EQ(m->step("alice@example.org").kind, StepKind::failure) << "after a failure, nothing more";

  auto m2 = make_mechanism("LOGIN", users_);
  m2->start("alice@example.org");
  EXPECT_EQ(m2->step("").kind, StepKind::failure) << "empty password";

  auto m3 = make_mechanism("LOGIN", users_);
  EXPECT_EQ(m3->start(""s).kind, StepKind::failure) << "empty user name as initial response";
  EXPECT_EQ(m3->start(std::nullopt).kind, StepKind::failure) << "started twice";
}

// RFC 7677 §3, the example exchange: user "user", password "pencil".
constexpr std::string_view kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

class ScramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    User u;
    u.address = "user";
    u.password_hash = "unused";
    u.scram = make_scram_credentials("pencil", *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
    users_.insert(u);
  }
  ScramSha256Mechanism mechanism() {
    return ScramSha256Mechanism(users_, [] { return std::string(kServerNonce); });
  }
  UserStore users_;
};

TEST_F(ScramTest, Rfc7677ExampleExchange) {
  auto m = mechanism();
  Step first = m.start(kClientFirst);
  ASSERT_EQ(first.kind, StepKind::challenge) << first.data;
  EXPECT_EQ(first.data, kServerFirst);
  Step final = m.step(kClientFinal);
  ASSERT_EQ(final.kind, StepKind::challenge) << final.data;
  EXPECT_EQ(final.data, kServerFinal);
  Step done = m.step("");
  EXPECT_EQ(done.kind, StepKind::success);
  EXPECT_EQ(done.username, "user");
}

TEST_F(ScramTest, ClientFirstAfterAnEmptyChallenge) {
  auto m = mechanism();
  Step c = m.start(std::nullopt);
  EXPECT_EQ(c.kind, StepKind::challenge);
  EXPECT_EQ(c.data, "");
  EXPECT_EQ(m.step(kClientFirst).data, kServerFirst);
  EXPECT_EQ(m.step(kClientFinal).data, kServerFinal);
  EXPECT_EQ(m.step("").kind, StepKind::success);
}

TEST_F(ScramTest, TamperedProofNonceOrBindingFails) {
  std::string proof_flipped(kClientFinal);
  proof_flipped[proof_flipped.size() - 3] = proof_flipped[proof_flipped.size() - 3] == 'V' ? 'W' : 'V';
  std::string nonce_changed(kClientFinal);
  nonce_changed[10] = 'X';
  const std::string finals[] = {
      proof_flipped,
      nonce_changed,
      "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",  // no proof
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA",  // short proof
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=not base64!",
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      "",
  };
  for (const std::string& f : finals) {
    auto m = mechanism();
    ASSERT_EQ(m.start(kClientFirst).kind, StepKind::challenge);
    Step s = m.step(f);
    EXPECT_EQ(s.kind, StepKind::failure) << f;
    EXPECT_EQ(m.step("").kind, StepKind::failure) << "no success after a failure";
  }
}

TEST_F(ScramTest, WrongPasswordFails) {
  // A client proof computed for "pencil2" with the same nonces.
  const auto creds = make_scram_credentials("pencil2", *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  const std::string salted = pbkdf2_sha256("pencil2", creds.salt, 4096);
  const std::string client_key = hmac_sha256(salted, "Client Key");
  const std::string without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const std::string auth_message =
      std::string(kClientFirst.substr(3)) + "," + std::string(kServerFirst) + "," + without_proof;
  std::string proof = client_key;
  const std::string sig = hmac_sha256(creds.stored_key, auth_message);
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ sig[i]);
  auto m = mechanism();
  m.start(kClientFirst);
  Step s = m.step(without_proof + ",p=" + base64_encode(proof));
  EXPECT_EQ(s.kind, StepKind::failure);
  EXPECT_EQ(s.data, "invalid credentials");
}

TEST_F(ScramTest, ChannelBindingRequestedIsRefusedButYIsAccepted) {
  auto m = mechanism();
  Step s = m.start("p=tls-unique,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(s.kind, StepKind::failure);
  EXPECT_NE(s.data.find("channel binding"), std::string::npos) << s.data;

  // "y": the client could bind but we offer no -PLUS; c= must then echo "y,,".
  auto y = mechanism();
  Step first = y.start("y,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_EQ(first.kind, StepKind::challenge);
  EXPECT_EQ(y.step(kClientFinal).kind, StepKind::failure) << "c=biws is \"n,,\", not \"y,,\"";
}

TEST_F(ScramTest, MalformedClientFirstMessages) {
  for (std::string_view bad : {"", "n,,", "n,,n=user", "x,,n=user,r=abc", "n,,m=ext,n=user,r=abc",
                               "n,,r=abc,n=user", "n,,n=,r=abc", "n,,n=us=er,r=abc", "n,,n=user,r=",
                               "n,,n=user,r=a b", "n,a=other,n=user,r=abc", "n,b=user,n=user,r=abc",
                               "n,,n=user,x=abc"}) {
    auto m = mechanism();
    EXPECT_EQ(m.start(bad).kind, StepKind::failure) << bad;
  }
  auto m = mechanism();
  EXPECT_EQ(m.start("n,a=user,n=user,r=rOprNGfwEbeRWgbNEkqO").kind, StepKind::challenge)
      << "authzid equal to the user is allowed";
  auto big = mechanism();
  EXPECT_EQ(big.start("n,,n=user,r=" + std::string(5000, 'a')).kind, StepKind::failure);
}

TEST_F(ScramTest, EscapedUserNamesAreUnescaped) {
  User u;
  u.address = "a,b=c";
  u.scram = make_scram_credentials("pw", "saltsaltsalt", 4096);
  users_.insert(u);
  auto m = mechanism();
  Step s = m.start("n,,n=a=2Cb=3Dc,r=abc");
  ASSERT_EQ(s.kind, StepKind::challenge);
  EXPECT_NE(s.data.find(",s=" + base64_encode("saltsaltsalt") + ","), std::string::npos) << s.data;
}

TEST_F(ScramTest, UnknownUserLooksNormalUntilTheProof) {
  auto m = mechanism();
  Step first = m.start("n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_EQ(first.kind, StepKind::challenge);
  EXPECT_EQ(first.data.rfind("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=", 0), 0u);
  EXPECT_NE(first.data.find(",i=4096"), std::string::npos);
  auto again = mechanism();
  EXPECT_EQ(again.start("n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO").data, first.data) << "a stable decoy salt";
  Step final = m.step("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_EQ(final.kind, StepKind::failure);
}

TEST_F(ScramTest, DataAfterServerFinalFails) {
  auto m = mechanism();
  m.start(kClientFirst);
  ASSERT_EQ(m.step(kClientFinal).kind, StepKind::challenge);
  EXPECT_EQ(m.step("v=whatever").kind, StepKind::failure);
}

TEST_F(SaslTest, ScramWithAStoreUserAndRandomNonce) {
  // A full exchange with the client side computed here, against credentials made by add().
  const User* alice = users_.find("alice@example.org");
  ASSERT_TRUE(alice && alice->scram);
  auto m = make_mechanism("SCRAM-SHA-256", users_);
  const std::string client_first_bare = "n=alice@example.org,r=clientnonce";
  Step first = m->start("n,," + client_first_bare);
  ASSERT_EQ(first.kind, StepKind::challenge);
  const std::string nonce = first.data.substr(2, first.data.find(',') - 2);
  EXPECT_EQ(nonce.rfind("clientnonce", 0), 0u);
  EXPECT_GT(nonce.size(), std::string("clientnonce").size() + 16);
  const std::string salted = pbkdf2_sha256("wonderland", alice->scram->salt, alice->scram->iterations);
  const std::string client_key = hmac_sha256(salted, "Client Key");
  const std::string without_proof = "c=biws,r=" + nonce;
  const std::string auth_message = client_first_bare + "," + first.data + "," + without_proof;
  const std::string sig = hmac_sha256(sha256(client_key), auth_message);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ sig[i]);
  Step final = m->step(without_proof + ",p=" + base64_encode(proof));
  ASSERT_EQ(final.kind, StepKind::challenge) << final.data;
  const std::string server_key = hmac_sha256(salted, "Server Key");
  EXPECT_EQ(final.data, "v=" + base64_encode(hmac_sha256(server_key, auth_message)));
  Step done = m->step("");
  EXPECT_EQ(done.kind, StepKind::success);
  EXPECT_EQ(done.username, "alice@example.org");
}

}  // namespace
}  // namespace sluice::auth
