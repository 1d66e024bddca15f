// auth/password_mechanisms.cpp: see password_mechanisms.hpp.
#include "auth/password_mechanisms.hpp"

#include "auth/user_store.hpp"

namespace sluice::auth {
namespace {

// The canonical login on success: the stored address if the user exists.
std::string canonical(const UserStore& users, const std::string& username) {
  const User* user = users.find(username);
  return user ? user->address : username;
}

}  // namespace

Step PlainMechanism::start(std::optional<std::string_view> initial_response) {
  if (state_ != State::initial) return Step::failure("exchange already started");
  if (!initial_response) {
    state_ = State::awaiting_message;
    return Step::challenge("");  // RFC 4616 §2: an empty challenge asks for the message
  }
  state_ = State::awaiting_message;
  return step(*initial_response);
}

Step PlainMechanism::step(std::string_view message) {
  if (state_ != State::awaiting_message) {
    state_ = State::done;
    return Step::failure("unexpected response");
  }
  state_ = State::done;
  const size_t first = message.find('\0');
  const size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos) {
    return Step::failure("PLAIN message is not authzid NUL authcid NUL password");
  }
  const std::string_view authzid = message.substr(0, first);
  const std::string_view authcid = message.substr(first + 1, second - first - 1);
  const std::string_view password = message.substr(second + 1);
  if (authcid.empty() || password.empty()) return Step::failure("PLAIN with an empty user name or password");
  if (authcid.size() > kMaxSaslField || authzid.size() > kMaxSaslField || password.size() > kMaxSaslField) {
    return Step::failure("PLAIN field too long");
  }
  if (!authzid.empty() &&
      UserStore::normalize_login(authzid) != UserStore::normalize_login(authcid)) {
    return Step::failure("PLAIN authorization identity differs from the user", std::string(authcid));
  }
  username_ = std::string(authcid);
  state_ = State::awaiting_verdict;
  return Step::verify(username_, std::string(password));
}

Step PlainMechanism::finish(bool verified) {
  if (state_ != State::awaiting_verdict) return Step::failure("no verification pending");
  state_ = State::done;
  if (!verified) return Step::failure("invalid credentials", username_);
  return Step::success(canonical(users_, username_));
}

Step LoginMechanism::start(std::optional<std::string_view> initial_response) {
  if (state_ != State::initial) return Step::failure("exchange already started");
  if (!initial_response) {
    state_ = State::awaiting_username;
    return Step::challenge("Username:");
  }
  return take_username(*initial_response);
}

Step LoginMechanism::take_username(std::string_view response) {
  if (response.empty() || response.size() > kMaxSaslField ||
      response.find('\0') != std::string_view::npos) {
    state_ = State::done;
    return Step::failure("LOGIN with an empty or malformed user name");
  }
  username_ = std::string(response);
  state_ = State::awaiting_password;
  return Step::challenge("Password:");
}

Step LoginMechanism::step(std::string_view response) {
  switch (state_) {
    case State::awaiting_username:
      return take_username(response);
    case State::awaiting_password:
      if (response.empty() || response.size() > kMaxSaslField) {
        state_ = State::done;
        return Step::failure("LOGIN with an empty or overlong password", username_);
      }
      state_ = State::awaiting_verdict;
      return Step::verify(username_, std::string(response));
    default:
      state_ = State::done;
      return Step::failure("unexpected response");
  }
}

Step LoginMechanism::finish(bool verified) {
  if (state_ != State::awaiting_verdict) return Step::failure("no verification pending");
  state_ = State::done;
  if (!verified) return Step::failure("invalid credentials", username_);
  return Step::success(canonical(users_, username_));
}

}  // namespace sluice::auth
