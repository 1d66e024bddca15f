// policy/session_authenticator.cpp: see session_authenticator.hpp.
#include "policy/session_authenticator.hpp"

#include "auth/base64.hpp"
#include "auth/sasl_mechanism.hpp"

namespace sluice::policy {
namespace {

smtp::SaslStep convert(auth::Step step) {
  smtp::SaslStep s;
  switch (step.kind) {
    case auth::StepKind::challenge:
      s.kind = smtp::SaslStepKind::challenge;
      s.data = auth::base64_encode(step.data);
      return s;
    case auth::StepKind::success:
      s.kind = smtp::SaslStepKind::success;
      s.username = std::move(step.username);
      return s;
    case auth::StepKind::failure:
      s.kind = smtp::SaslStepKind::failure;
      s.data = std::move(step.data);
      s.username = std::move(step.username);
      return s;
    case auth::StepKind::need_verification:
      s.kind = smtp::SaslStepKind::need_verification;
      s.username = std::move(step.username);
      s.password = std::move(step.password);
      return s;
  }
  return s;
}

// The session's lines are base64; the mechanisms take raw bytes.
class Exchange final : public smtp::SaslExchange {
 public:
  explicit Exchange(std::unique_ptr<auth::SaslMechanism> mechanism) : mechanism_(std::move(mechanism)) {}

  smtp::SaslStep start(std::optional<std::string_view> initial_response) override {
    if (!initial_response) return convert(mechanism_->start(std::nullopt));
    auto decoded = decode(*initial_response);
    if (!decoded) return malformed(decoded.error());
    return convert(mechanism_->start(std::string_view(*decoded)));
  }

  smtp::SaslStep step(std::string_view response) override {
    auto decoded = decode(response);
    if (!decoded) return malformed(decoded.error());
    return convert(mechanism_->step(*decoded));
  }

  smtp::SaslStep finish(bool verified) override { return convert(mechanism_->finish(verified)); }

 private:
  // RFC 4954 §4: "=" is an empty initial response; elsewhere "" is the empty response.
  static Result<std::string> decode(std::string_view text) {
    if (text == "=") return std::string();
    return auth::base64_decode(text);
  }
  static smtp::SaslStep malformed(const Error& e) {
    smtp::SaslStep s;
    s.kind = smtp::SaslStepKind::failure;
    s.data = "malformed base64";
    s.reply = e.reply ? *e.reply : Reply(501, "5.5.2", "Cannot decode response");
    return s;
  }

  std::unique_ptr<auth::SaslMechanism> mechanism_;
};

}  // namespace

SessionAuthenticator::SessionAuthenticator(const auth::UserStore& users, auth::LogonFailureLimits limits,
                                           const Clock& clock)
    : users_(users), tracker_(limits), clock_(clock) {}

auth::LogonFailureLimits SessionAuthenticator::limits_of(const config::ReceiveConnector& connector) {
  auth::LogonFailureLimits l;
  l.max_failures = connector.max_logon_failures;
  l.window = connector.logon_failure_window;
  l.tarpit = connector.tarpit;
  return l;
}

std::vector<std::string> SessionAuthenticator::mechanisms() const {
  std::vector<std::string> out;
  for (std::string_view m : auth::supported_mechanisms()) out.emplace_back(m);
  return out;
}

std::unique_ptr<smtp::SaslExchange> SessionAuthenticator::begin(std::string_view mechanism) {
  auto m = auth::make_mechanism(mechanism, users_);
  if (!m) return nullptr;
  return std::make_unique<Exchange>(std::move(m));
}

bool SessionAuthenticator::verify_password(std::string_view username, std::string_view password) const {
  return users_.verify(username, password);
}

bool SessionAuthenticator::blocked(std::string_view client_ip) { return tracker_.blocked(client_ip, clock_.now()); }

bool SessionAuthenticator::failure(std::string_view client_ip) { return tracker_.failure(client_ip, clock_.now()); }

void SessionAuthenticator::success(std::string_view client_ip) { tracker_.success(client_ip); }

bool SessionAuthenticator::may_send_as(std::string_view login, std::string_view address) const {
  const auth::User* user = users_.find(login);
  if (!user) return false;
  // Addresses compare as logins do: the domain case-insensitively, the local part exactly.
  const std::string wanted = auth::UserStore::normalize_login(address);
  if (wanted == user->address) return true;
  for (const std::string& a : user->sender_addresses) {
    if (auth::UserStore::normalize_login(a) == wanted) return true;
  }
  return false;
}

}  // namespace sluice::policy
