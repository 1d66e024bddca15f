// policy/rate_limits.hpp: rate limits of a receive connector — new connections per minute
// per client address, messages per minute per client address, per envelope sender and per
// authenticated user (Exchange's MessageRateLimit with MessageRateSource IP/User), and
// recipients per message — with replies that name the limit that was reached.
// Owns: the counting (one-minute windows per key, shared by every event loop under one
// mutex: a few map operations per connection or message, far from the hot path of a
// session's bytes), the replies (421 4.7.0 at connect, 451 4.7.1 at MAIL, 452 4.5.3 at RCPT,
// RFC 5321 §4.5.3.1.10, RFC 3463 §3.8). Not: max_connections / max_connections_per_ip (net/
// connection_limits), which connector a client is on (net/).
// A message is counted when its MAIL is accepted by the rate limits, whether or not it is
// delivered later: a client that floods with transactions it abandons is still a flood.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "base/reply.hpp"
#include "config/protection.hpp"

namespace sluice::policy {

// Counts events per key in fixed one-minute windows (a window starts at its first event).
class RateCounter {
 public:
  explicit RateCounter(const Clock& clock) : clock_(clock) {}
  // Counts one event for `key` and says whether it is within `per_minute`. 0 = no limit
  // (nothing counted). A refused event is not counted.
  bool allow(const std::string& key, unsigned per_minute);
  size_t keys() const;

 private:
  struct Window {
    int64_t start_us = 0;
    unsigned count = 0;
  };
  // Windows that ended are dropped now and then so that the map does not grow forever.
  void prune(int64_t now_us);

  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Window> windows_;
  int64_t last_prune_us_ = 0;
};

class RateLimits {
 public:
  explicit RateLimits(const Clock& clock) : counter_(clock) {}

  // A new connection from `ip` on the connector of `limits`.
  std::optional<Reply> on_connect(const config::RateLimitSettings& limits, const std::string& ip);
  // A MAIL: counts against the client address, the sender (unless null) and the login.
  std::optional<Reply> on_mail(const config::RateLimitSettings& limits, const std::string& ip,
                               const std::string& sender, const std::string& auth_user);
  // A RCPT after `accepted` recipients of this message.
  static std::optional<Reply> on_rcpt(const config::RateLimitSettings& limits, size_t accepted);

 private:
  RateCounter counter_;
};

}  // namespace sluice::policy
