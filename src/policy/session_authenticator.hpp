// policy/session_authenticator.hpp: the smtp::Authenticator of one receive connector, built on
// auth/: the SASL mechanisms (auth::make_mechanism), the user store, and the connector's
// logon failure tracker (max_logon_failures within logon_failure_window, then the tarpit).
// Owns: the adaptation — base64 of SASL data on the wire (RFC 4954 §4: "=" is an empty
// initial response, a malformed response is 501 5.5.2), which logins may use which sender
// addresses. Not: the mechanisms or hashing (auth/), the AUTH verb and its replies (the
// session), running the slow password check off the event loop (net/).
// One object serves every session of its connector on every loop: UserStore is read-only
// here and LogonFailureTracker locks, so the calls are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/logon_failure_tracker.hpp"
#include "auth/user_store.hpp"
#include "base/clock.hpp"
#include "config/config.hpp"
#include "smtp/session_policy.hpp"

namespace sluice::policy {

class SessionAuthenticator final : public smtp::Authenticator {
 public:
  // `users` and `clock` must outlive this object.
  SessionAuthenticator(const auth::UserStore& users, auth::LogonFailureLimits limits, const Clock& clock);

  // The limits a receive connector configures (max_logon_failures, logon_failure_window, tarpit).
  static auth::LogonFailureLimits limits_of(const config::ReceiveConnector& connector);

  std::vector<std::string> mechanisms() const override;
  std::unique_ptr<smtp::SaslExchange> begin(std::string_view mechanism) override;
  bool verify_password(std::string_view username, std::string_view password) const override;
  bool blocked(std::string_view client_ip) override;
  bool failure(std::string_view client_ip) override;
  void success(std::string_view client_ip) override;
  bool may_send_as(std::string_view login, std::string_view address) const override;

 private:
  const auth::UserStore& users_;
  auth::LogonFailureTracker tracker_;
  const Clock& clock_;
};

}  // namespace sluice::policy
