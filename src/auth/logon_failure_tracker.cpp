// auth/logon_failure_tracker.cpp: see logon_failure_tracker.hpp.
#include "auth/logon_failure_tracker.hpp"

#include <algorithm>

namespace sluice::auth {

LogonFailureTracker::LogonFailureTracker(LogonFailureLimits limits) : limits_(limits) {}

bool LogonFailureTracker::expired(const Entry& e, SystemTime now) const {
  // Nothing left to remember: no tarpit running and no failure inside the window.
  return now >= e.blocked_until && (e.failures == 0 || now - e.first_failure >= limits_.window);
}

bool LogonFailureTracker::blocked(std::string_view client, SystemTime now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(std::string(client));
  if (it == entries_.end()) return false;
  if (now < it->second.blocked_until) return true;
  if (expired(it->second, now)) entries_.erase(it);
  return false;
}

bool LogonFailureTracker::failure(std::string_view client, SystemTime now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(std::string(client));
  if (it == entries_.end()) {
    if (entries_.size() >= limits_.max_entries) make_room(now);
    it = entries_.emplace(std::string(client), Entry{}).first;
  }
  Entry& e = it->second;
  if (e.failures > 0 && now >= e.blocked_until && now - e.first_failure >= limits_.window) {
    e = Entry{};  // the old window has passed: start counting again
  }
  if (e.failures == 0) e.first_failure = now;
  ++e.failures;
  e.last_failure = now;
  if (limits_.max_failures > 0 && e.failures >= limits_.max_failures) {
    // The tarpit runs from the failure that tripped it; failures while blocked extend it.
    e.blocked_until = now + limits_.tarpit;
    // After the tarpit the client starts from zero: a fresh window, max_failures attempts.
    e.failures = 0;
    return true;
  }
  return false;
}

void LogonFailureTracker::success(std::string_view client) {
  std::lock_guard lock(mutex_);
  entries_.erase(std::string(client));
}

size_t LogonFailureTracker::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void LogonFailureTracker::make_room(SystemTime now) {
  std::erase_if(entries_, [&](const auto& kv) { return expired(kv.second, now); });
  if (entries_.size() < limits_.max_entries || entries_.empty()) return;
  auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
    return a.second.last_failure < b.second.last_failure;
  });
  entries_.erase(oldest);
}

}  // namespace sluice::auth
