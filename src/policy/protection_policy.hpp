// policy/protection_policy.hpp: the SessionPolicy of a receive connector with inbound
// protection — it asks the connector's relay control first, then applies rate limits,
// allowlists, DNS blocklists, reverse DNS rules and greylisting, waiting for DNS and the
// greylist store through the session's asynchronous seam (Verdict::pending).
// Owns: the order of the checks and who is exempt:
//   connect  connection rate (421 4.7.0) → static allowlist → DNSBL/DNSWL queries, all at
//            once (the greeting waits for them, as postscreen does) → reverse DNS / FCrDNS
//   MAIL     relay control's check → message rate per address, sender, login (451 4.7.1)
//   RCPT     relay control's check → postmaster always passes (RFC 5321 §4.5.1) → blocklist
//            listings with action "rcpt" (not for authenticated clients) → recipients per
//            message (452 4.5.3) → greylisting (not for authenticated clients, relay
//            connectors, allowlisted clients)
//   DATA     listings with action "record" (and every other listing of an accepted client)
//            are written into the message as X-Sluice-DNSBL fields, for filters and people
// Not: the lookups and counters themselves (dnsbl, greylist, rate_limits), relay and
// recipient decisions (the inner policy, relay_control), max_connections (net/).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config/protection.hpp"
#include "dns/resolver.hpp"
#include "policy/dnsbl.hpp"
#include "policy/greylist.hpp"
#include "policy/rate_limits.hpp"
#include "smtp/session_policy.hpp"

namespace sluice::policy {

// Which protection refused (the label of the refusal counter in /metrics).
enum class Refusal { dnsbl, reverse_dns, greylist, connection_rate, message_rate, recipients };
const char* to_string(Refusal r);  // "dnsbl", "reverse_dns", "greylist", "connection_rate", ...

// Shared by every session on every loop; each pointer may be null (that protection is off).
struct ProtectionServices {
  const config::Protection& config;
  DnsblChecker* dnsbl = nullptr;
  dns::Resolver* resolver = nullptr;  // reverse DNS rules (require_reverse_dns/fcrdns)
  Greylist* greylist = nullptr;
  RateLimits* rates = nullptr;
  // Called once per refusal of ours (not the inner policy's), on any thread: metrics.
  std::function<void(const std::string& connector, Refusal why)> on_refusal;
};

class ProtectionPolicy final : public smtp::SessionPolicy {
 public:
  // `inner` answers synchronously (relay control); its check_*() run before ours.
  ProtectionPolicy(std::unique_ptr<smtp::SessionPolicy> inner, const config::ReceiveConnector& connector,
                   ProtectionServices services);

  std::optional<Reply> check_connect(const smtp::ClientInfo& c) override { return inner_->check_connect(c); }
  std::optional<Reply> check_helo(std::string_view h) override { return inner_->check_helo(h); }
  std::optional<Reply> check_mail_from(const smtp::MailFromArgs& a) override { return inner_->check_mail_from(a); }
  std::optional<Reply> check_rcpt(const smtp::RcptToArgs& a, const smtp::Envelope& e) override {
    return inner_->check_rcpt(a, e);
  }
  std::string new_queue_id() override { return inner_->new_queue_id(); }

  smtp::Verdict decide_connect(const smtp::SessionFacts& s) override;
  smtp::Verdict decide_mail_from(const smtp::SessionFacts& s, const smtp::MailFromArgs& args) override;
  smtp::Verdict decide_rcpt(const smtp::SessionFacts& s, const smtp::RcptToArgs& args,
                            const smtp::Envelope& envelope) override;
  smtp::Verdict decide_message(const smtp::SessionFacts& s, smtp::Message& message) override;
  void await_verdict(std::function<void(smtp::Verdict)> done) override;

  // What the connect-time lookups found (for tests and logs).
  const DnsblResult& dnsbl_result() const { return dnsbl_result_; }
  bool allowlisted() const { return allowlisted_; }

 private:
  // Runs `start`, which settles a verdict through the function it is given, now or later.
  // Settled inside the call: that verdict; else pending, and await_verdict() delivers it.
  smtp::Verdict run_async(const std::function<void(std::function<void(smtp::Verdict)>)>& start);
  void check_reverse_dns(const std::string& ip, std::function<void(smtp::Verdict)> settle);
  bool greylisting_applies(const smtp::SessionFacts& s) const;
  // A refusal of ours: counts it, then returns it.
  smtp::Verdict refuse(Refusal why, Reply reply) const;

  struct Slot {
    std::mutex mu;
    bool returned = false;  // run_async has returned pending
    std::optional<smtp::Verdict> ready;
    std::function<void(smtp::Verdict)> waiter;
  };

  std::unique_ptr<smtp::SessionPolicy> inner_;
  const config::ReceiveConnector& connector_;
  ProtectionServices services_;
  const config::RateLimitSettings* rate_limits_;
  bool internet_;
  std::string client_ip_;
  bool allowlisted_ = false;
  DnsblResult dnsbl_result_;
  std::shared_ptr<Slot> slot_;
};

}  // namespace sluice::policy
