// auth/logon_failure_tracker.hpp: counts failed AUTH attempts per client address and shuts
// out an address that fails too often (Exchange's MaxLogonFailures with a tarpit): after
// `max_failures` failures within `window`, the client is refused (421 4.7.0, the session's
// call) until `tarpit` has passed since the last failure that counted.
// Owns: the counting, the expiry and the memory bound. Not: the replies, or where the address
// comes from (the PROXY protocol may have replaced the peer's).
//
// Shared by every event loop of the daemon, so it takes a mutex: it is consulted only on AUTH
// and held for a map lookup, far from the per-line hot path of a session. Memory is bounded:
// at `max_entries` addresses, expired entries are swept, and if none has expired the entry
// whose last failure is oldest makes room (an attacker spraying addresses can only push out
// other stale counters, never grow memory).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.hpp"

namespace sluice::auth {

struct LogonFailureLimits {
  unsigned max_failures = 3;  // Exchange MaxLogonFailures default
  std::chrono::seconds window{std::chrono::minutes(5)};
  std::chrono::seconds tarpit{std::chrono::minutes(5)};
  size_t max_entries = 100000;
};

class LogonFailureTracker {
 public:
  explicit LogonFailureTracker(LogonFailureLimits limits = {});

  // Whether `client` (an IP address in text form) is currently refused.
  bool blocked(std::string_view client, SystemTime now);
  // A failed authentication from `client`. Returns true if this failure blocks it.
  bool failure(std::string_view client, SystemTime now);
  // A successful authentication: forget the client's failures.
  void success(std::string_view client);

  size_t size() const;  // addresses tracked, for tests and metrics

 private:
  struct Entry {
    unsigned failures = 0;
    SystemTime first_failure{};  // start of the current window
    SystemTime last_failure{};
    SystemTime blocked_until{};  // epoch = not blocked
  };
  bool expired(const Entry& e, SystemTime now) const;
  void make_room(SystemTime now);

  const LogonFailureLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace sluice::auth
