// policy/rate_limits.cpp: see rate_limits.hpp.
#include "policy/rate_limits.hpp"

namespace sluice::policy {

namespace {

constexpr int64_t kMinuteUs = 60LL * 1000000;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

bool RateCounter::allow(const std::string& key, unsigned per_minute) {
  if (per_minute == 0) return true;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.now().time_since_epoch()).count();
  std::lock_guard lock(mu_);
  prune(now);
  Window& w = windows_[key];
  if (w.count == 0 || now - w.start_us >= kMinuteUs) {
    w.start_us = now;
    w.count = 0;
  }
  if (w.count >= per_minute) return false;
  ++w.count;
  return true;
}

size_t RateCounter::keys() const {
  std::lock_guard lock(mu_);
  return windows_.size();
}

void RateCounter::prune(int64_t now_us) {
  if (now_us - last_prune_us_ < kMinuteUs) return;
  last_prune_us_ = now_us;
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (now_us - it->second.start_us >= kMinuteUs) {
      it = windows_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<Reply> RateLimits::on_connect(const config::RateLimitSettings& limits, const std::string& ip) {
  const unsigned n = limits.connections_per_minute_per_ip;
  if (counter_.allow(limits.connector + "|conn|" + ip, n)) return std::nullopt;
  return Reply(421, "4.7.0",
               "Too many connections from [" + ip + "]: connection rate limit of " + std::to_string(n) +
                   " per minute reached on connector " + limits.connector + ", try again later");
}

std::optional<Reply> RateLimits::on_mail(const config::RateLimitSettings& limits, const std::string& ip,
                                         const std::string& sender, const std::string& auth_user) {
  auto refuse = [&](const std::string& who, unsigned n) {
    return Reply(451, "4.7.1",
                 "Message rate limit of " + std::to_string(n) + " per minute reached for " + who +
                     " on connector " + limits.connector + ", try again later");
  };
  // Checked in this order; a later key is counted only when the earlier ones passed.
  if (!counter_.allow(limits.connector + "|ip|" + ip, limits.messages_per_minute_per_ip))
    return refuse("client [" + ip + "]", limits.messages_per_minute_per_ip);
  if (!sender.empty() &&
      !counter_.allow(limits.connector + "|sender|" + lower(sender), limits.messages_per_minute_per_sender))
    return refuse("sender <" + sender + ">", limits.messages_per_minute_per_sender);
  if (!auth_user.empty() &&
      !counter_.allow(limits.connector + "|user|" + lower(auth_user), limits.messages_per_minute_per_user))
    return refuse("user " + auth_user, limits.messages_per_minute_per_user);
  return std::nullopt;
}

std::optional<Reply> RateLimits::on_rcpt(const config::RateLimitSettings& limits, size_t accepted) {
  const unsigned n = limits.recipients_per_message;
  if (n == 0 || accepted < n) return std::nullopt;
  return Reply(452, "4.5.3",
               "Too many recipients: limit of " + std::to_string(n) + " per message on connector " +
                   limits.connector);
}

}  // namespace sluice::policy
