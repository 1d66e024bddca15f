// policy/protection_policy.cpp: see protection_policy.hpp.
#include "policy/protection_policy.hpp"

#include <algorithm>

namespace sluice::policy {

using smtp::Verdict;

const char* to_string(Refusal r) {
  switch (r) {
    case Refusal::dnsbl: return "dnsbl";
    case Refusal::reverse_dns: return "reverse_dns";
    case Refusal::greylist: return "greylist";
    case Refusal::connection_rate: return "connection_rate";
    case Refusal::message_rate: return "message_rate";
    case Refusal::recipients: return "recipients";
  }
  return "unknown";
}

Verdict ProtectionPolicy::refuse(Refusal why, Reply reply) const {
  if (services_.on_refusal) services_.on_refusal(connector_.name, why);
  return Verdict::reject(std::move(reply));
}

ProtectionPolicy::ProtectionPolicy(std::unique_ptr<smtp::SessionPolicy> inner,
                                   const config::ReceiveConnector& connector, ProtectionServices services)
    : inner_(std::move(inner)),
      connector_(connector),
      services_(services),
      rate_limits_(services.config.rate_limit_for(connector.name)),
      internet_(connector.usage == config::ConnectorUsage::internet) {}

Verdict ProtectionPolicy::run_async(const std::function<void(std::function<void(Verdict)>)>& start) {
  auto slot = std::make_shared<Slot>();
  slot_ = slot;
  start([slot](Verdict v) {
    std::function<void(Verdict)> waiter;
    {
      std::lock_guard lock(slot->mu);
      if (!slot->waiter) {
        slot->ready = std::move(v);
        return;
      }
      waiter = std::move(slot->waiter);
    }
    waiter(std::move(v));
  });
  std::lock_guard lock(slot->mu);
  if (slot->ready) {
    Verdict v = std::move(*slot->ready);
    slot_.reset();
    return v;
  }
  slot->returned = true;
  return Verdict::pending();
}

void ProtectionPolicy::await_verdict(std::function<void(Verdict)> done) {
  std::shared_ptr<Slot> slot = std::exchange(slot_, nullptr);
  if (!slot) return SessionPolicy::await_verdict(std::move(done));
  std::optional<Verdict> ready;
  {
    std::lock_guard lock(slot->mu);
    if (slot->ready) {
      ready = std::move(slot->ready);
    } else {
      slot->waiter = std::move(done);
      return;
    }
  }
  done(std::move(*ready));
}

Verdict ProtectionPolicy::decide_connect(const smtp::SessionFacts& s) {
  client_ip_ = s.client.ip;
  if (auto refusal = inner_->check_connect(s.client)) return Verdict::reject(*refusal);
  if (rate_limits_ && services_.rates) {
    if (auto refusal = services_.rates->on_connect(*rate_limits_, client_ip_))
      return refuse(Refusal::connection_rate, *refusal);
  }
  if (auto ip = config::IpAddress::parse(client_ip_)) {
    const config::IpAddress a = ip->unmapped();
    const auto& allow = services_.config.settings.allowlist;
    if (std::any_of(allow.begin(), allow.end(), [&](const config::IpRange& r) { return r.contains(a); })) {
      allowlisted_ = true;
      return Verdict::accept();
    }
  }
  std::vector<AppliedZone> zones;
  if (services_.dnsbl) zones = services_.dnsbl->zones_for(connector_.name, internet_);
  const auto& settings = services_.config.settings;
  const bool reverse = internet_ && services_.resolver && (settings.require_reverse_dns || settings.require_fcrdns);
  if (zones.empty() && !reverse) return Verdict::accept();

  return run_async([this, zones = std::move(zones), reverse](std::function<void(Verdict)> settle) {
    auto after_dnsbl = [this, reverse, settle](DnsblResult result) {
      dnsbl_result_ = std::move(result);
      if (dnsbl_result_.allowed()) {
        allowlisted_ = true;
        return settle(Verdict::accept());
      }
      if (const DnsblListing* l = dnsbl_result_.blocked(config::DnsblAction::connect)) {
        return settle(refuse(Refusal::dnsbl, DnsblChecker::refusal(client_ip_, *l)));
      }
      if (!reverse) return settle(Verdict::accept());
      check_reverse_dns(client_ip_, [this, settle](Verdict v) {
        settle(v.rejected() ? refuse(Refusal::reverse_dns, v.reply()) : std::move(v));
      });
    };
    if (zones.empty()) return after_dnsbl(DnsblResult{});
    services_.dnsbl->check(client_ip_, zones, std::move(after_dnsbl));
  });
}

void ProtectionPolicy::check_reverse_dns(const std::string& ip, std::function<void(Verdict)> settle) {
  const bool fcrdns = services_.config.settings.require_fcrdns;
  dns::Resolver* resolver = services_.resolver;
  resolver->ptr(ip, [ip, fcrdns, resolver, settle](dns::Answer<std::string> names) {
    if (names.status == dns::Status::servfail || names.status == dns::Status::timeout) {
      return settle(Verdict::reject(
          Reply(450, "4.7.25", "Client host rejected: cannot find your reverse hostname, [" + ip + "] (try again later)")));
    }
    if (names.status != dns::Status::ok) {
      return settle(
          Verdict::reject(Reply(550, "5.7.25", "Client host rejected: cannot find your reverse hostname, [" + ip + "]")));
    }
    if (!fcrdns) return settle(Verdict::accept());
    // RFC 8601 §2.7.3 "iprev": a name of the PTR must resolve back to the address.
    const std::string name = names.records.front();
    const bool v6 = ip.find(':') != std::string::npos;
    auto compare = [ip, name, settle](dns::Answer<std::string> addresses) {
      if (addresses.status == dns::Status::ok &&
          std::find(addresses.records.begin(), addresses.records.end(), ip) != addresses.records.end())
        return settle(Verdict::accept());
      if (addresses.status == dns::Status::servfail || addresses.status == dns::Status::timeout)
        return settle(Verdict::reject(Reply(450, "4.7.25",
                                            "Client host rejected: cannot verify your hostname " + name + ", [" + ip +
                                                "] (try again later)")));
      settle(Verdict::reject(Reply(550, "5.7.25",
                                   "Client host rejected: hostname " + name + " does not resolve to [" + ip + "]")));
    };
    if (v6) resolver->aaaa(name, compare);
    else resolver->a(name, compare);
  });
}

Verdict ProtectionPolicy::decide_mail_from(const smtp::SessionFacts& s, const smtp::MailFromArgs& args) {
  if (auto refusal = inner_->check_mail_from(args)) return Verdict::reject(*refusal);
  if (rate_limits_ && services_.rates) {
    if (auto refusal = services_.rates->on_mail(*rate_limits_, s.client.ip, args.path.address(),
                                                std::string(s.auth_user)))
      return refuse(Refusal::message_rate, *refusal);
  }
  return Verdict::accept();
}

bool ProtectionPolicy::greylisting_applies(const smtp::SessionFacts& s) const {
  const auto& g = services_.config.greylist;
  if (!services_.greylist || !g.enabled) return false;
  if (!s.auth_user.empty() || allowlisted_) return false;
  if (connector_.usage == config::ConnectorUsage::relay || connector_.usage == config::ConnectorUsage::client)
    return false;
  if (g.connectors.empty()) return internet_;
  return std::find(g.connectors.begin(), g.connectors.end(), connector_.name) != g.connectors.end();
}

Verdict ProtectionPolicy::decide_rcpt(const smtp::SessionFacts& s, const smtp::RcptToArgs& args,
                                      const smtp::Envelope& envelope) {
  if (auto refusal = inner_->check_rcpt(args, envelope)) return Verdict::reject(*refusal);
  if (args.path.postmaster_only) return Verdict::accept();  // RFC 5321 §4.5.1
  if (s.auth_user.empty()) {
    if (const DnsblListing* l = dnsbl_result_.blocked(config::DnsblAction::rcpt))
      return refuse(Refusal::dnsbl, DnsblChecker::refusal(s.client.ip, *l));
  }
  if (rate_limits_) {
    if (auto refusal = RateLimits::on_rcpt(*rate_limits_, envelope.recipients.size()))
      return refuse(Refusal::recipients, *refusal);
  }
  if (!greylisting_applies(s)) return Verdict::accept();
  const std::string ip(s.client.ip);
  const std::string sender = envelope.mail_from;
  const std::string recipient = args.path.address();
  return run_async([this, ip, sender, recipient](std::function<void(Verdict)> settle) {
    services_.greylist->check(ip, sender, recipient, [this, settle](std::optional<Reply> refusal) {
      settle(refusal ? refuse(Refusal::greylist, std::move(*refusal)) : Verdict::accept());
    });
  });
}

Verdict ProtectionPolicy::decide_message(const smtp::SessionFacts& s, smtp::Message& message) {
  // Listings that did not refuse the client are recorded where filters and people look:
  // at the top of the message, above our Received field.
  std::string fields;
  for (const DnsblListing& l : dnsbl_result_.listings) {
    fields += "X-Sluice-DNSBL: [" + std::string(s.client.ip) + "] " + (l.allow ? "allowed by " : "listed in ") +
              l.zone + " (" + l.code + " " + l.meaning + ")\r\n";
  }
  message.content.insert(0, fields);
  return Verdict::accept();
}

}  // namespace sluice::policy
