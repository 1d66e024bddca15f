// auth/scram_mechanism.cpp: see scram_mechanism.hpp. Grammar of RFC 5802 §7:
//   client-first = gs2-header client-first-bare
//   gs2-header   = gs2-cbind-flag "," [ "a=" saslname ] ","
//   client-first-bare = [reserved-mext ","] "n=" saslname "," "r=" c-nonce ["," extensions]
//   server-first = "r=" c-nonce s-nonce "," "s=" salt "," "i=" iteration-count
//   client-final = "c=" base64(gs2-header) "," "r=" nonce ["," extensions] "," "p=" proof
//   server-final = "v=" base64(ServerSignature)
#include "auth/scram_mechanism.hpp"

#include <sodium.h>

#include <vector>

#include "auth/base64.hpp"
#include "auth/password_hash.hpp"
#include "auth/scram_credentials.hpp"
#include "auth/user_store.hpp"

namespace sluice::auth {
namespace {

constexpr size_t kMaxMessage = 4096;

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    const size_t end = s.find(',', at);
    out.push_back(s.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) return out;
    at = end + 1;
  }
}

// saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed (RFC 5802 §5.1).
std::optional<std::string> unescape_saslname(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    const std::string_view code = s.substr(i + 1, 2);
    if (code == "2C") out += ',';
    else if (code == "3D") out += '=';
    else return std::nullopt;
    i += 2;
  }
  return out;
}

// printable = %x21-2B / %x2D-7E: no ',' and no spaces or controls.
bool printable_nonce(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

}  // namespace

ScramSha256Mechanism::ScramSha256Mechanism(const UserStore& users, NonceSource nonce)
    : users_(users), nonce_source_(std::move(nonce)) {}

std::string ScramSha256Mechanism::random_nonce() {
  SLUICE_ASSERT(ensure_sodium());
  std::string raw(18, '\0');
  randombytes_buf(raw.data(), raw.size());
  return base64_encode(raw);
}

Step ScramSha256Mechanism::fail(std::string why) {
  state_ = State::done;
  return Step::failure(std::move(why), username_);
}

Step ScramSha256Mechanism::start(std::optional<std::string_view> initial_response) {
  if (state_ != State::initial) return fail("exchange already started");
  state_ = State::awaiting_client_first;
  if (!initial_response) return Step::challenge("");
  return client_first(*initial_response);
}

Step ScramSha256Mechanism::step(std::string_view response) {
  switch (state_) {
    case State::awaiting_client_first:
      return client_first(response);
    case State::awaiting_client_final:
      return client_final(response);
    case State::awaiting_ack:
      // The client has checked our signature; anything but an empty response is an error.
      if (!response.empty()) return fail("unexpected data after the server-final message");
      state_ = State::done;
      return Step::success(canonical_login_);
    default:
      return fail("unexpected response");
  }
}

Step ScramSha256Mechanism::client_first(std::string_view message) {
  if (message.size() > kMaxMessage) return fail("SCRAM client-first message too long");
  const auto parts = split_commas(message);
  if (parts.size() < 4) return fail("malformed SCRAM client-first message");

  // gs2-header
  const std::string_view cbind = parts[0];
  if (cbind.substr(0, 2) == "p=") return fail("SCRAM channel binding requested but not supported");
  if (cbind != "n" && cbind != "y") return fail("malformed SCRAM channel binding flag");
  std::optional<std::string> authzid;
  if (!parts[1].empty()) {
    if (parts[1].substr(0, 2) != "a=") return fail("malformed SCRAM authorization identity");
    authzid = unescape_saslname(parts[1].substr(2));
    if (!authzid) return fail("malformed SCRAM authorization identity");
  }
  gs2_header_ = std::string(parts[0]) + "," + std::string(parts[1]) + ",";
  client_first_bare_ = std::string(message.substr(gs2_header_.size()));

  // client-first-bare
  if (parts[2].substr(0, 2) == "m=") return fail("SCRAM mandatory extension not supported");
  if (parts[2].substr(0, 2) != "n=") return fail("SCRAM client-first without a user name");
  auto username = unescape_saslname(parts[2].substr(2));
  if (!username || username->empty()) return fail("malformed SCRAM user name");
  username_ = std::move(*username);
  if (authzid && !authzid->empty() &&
      UserStore::normalize_login(*authzid) != UserStore::normalize_login(username_)) {
    return fail("SCRAM authorization identity differs from the user");
  }
  if (parts[3].substr(0, 2) != "r=" || !printable_nonce(parts[3].substr(2))) {
    return fail("malformed SCRAM client nonce");
  }

  const std::string server_nonce = nonce_source_();
  SLUICE_ASSERT(printable_nonce(server_nonce));
  nonce_ = std::string(parts[3].substr(2)) + server_nonce;

  std::string salt;
  uint32_t iterations = kScramDefaultIterations;
  const User* user = users_.find(username_);
  if (user && user->scram) {
    salt = user->scram->salt;
    iterations = user->scram->iterations;
    stored_key_ = user->scram->stored_key;
    server_key_ = user->scram->server_key;
    canonical_login_ = user->address;
  } else {
    salt = users_.decoy_salt(username_);  // fail at the proof, after a normal-looking exchange
  }
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(salt) + ",i=" + std::to_string(iterations);
  state_ = State::awaiting_client_final;
  return Step::challenge(server_first_);
}

Step ScramSha256Mechanism::client_final(std::string_view message) {
  if (message.size() > kMaxMessage) return fail("SCRAM client-final message too long");
  const size_t proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) return fail("SCRAM client-final without a proof");
  const std::string_view without_proof = message.substr(0, proof_at);
  const auto parts = split_commas(without_proof);
  if (parts.size() < 2 || parts[0].substr(0, 2) != "c=" || parts[1].substr(0, 2) != "r=") {
    return fail("malformed SCRAM client-final message");
  }
  auto binding = base64_decode(parts[0].substr(2));
  if (!binding || *binding != gs2_header_) return fail("SCRAM channel binding data does not match");
  if (parts[1].substr(2) != nonce_) return fail("SCRAM nonce does not match");
  auto proof = base64_decode(message.substr(proof_at + 3));
  if (!proof || proof->size() != 32) return fail("malformed SCRAM proof");

  if (canonical_login_.empty()) return fail("invalid credentials");  // unknown user, or no SCRAM keys
  // RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) must
  // be StoredKey.
  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const std::string client_signature = hmac_sha256(stored_key_, auth_message);
  std::string client_key = *proof;
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] = static_cast<char>(client_key[i] ^ client_signature[i]);
  if (!constant_time_equal(sha256(client_key), stored_key_)) return fail("invalid credentials");

  state_ = State::awaiting_ack;
  return Step::challenge("v=" + base64_encode(hmac_sha256(server_key_, auth_message)));
}

}  // namespace sluice::auth
