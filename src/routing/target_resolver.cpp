// routing/target_resolver.cpp: MX and smart-host target resolution (see the header).
// Owns: the state of one resolution while its queries are in flight. Every dns::Resolver
// callback runs on the resolver's loop, so that state needs no lock; it lives in a
// shared_ptr held by the pending callbacks and dies with the last of them.
// RFC 5321 §5.1 (MX order, implicit MX, each address of a host tried), RFC 7505 (null MX),
// RFC 8305 §4 (address family interleaving).
#include "routing/target_resolver.hpp"

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <utility>

namespace sluice::routing {

namespace {

// MX sets larger than this are cut (after ordering): nobody needs a 21st MX host, and a
// hostile zone should not make us send hundreds of queries.
constexpr size_t kMaxMxHosts = 20;

// One host whose addresses are looked up: AAAA and A answers arrive in any order.
struct HostLookup {
  std::string name;
  uint16_t preference = 0;
  uint16_t port = 25;
  std::string literal_ip;  // set for "[ip]" smart hosts: no lookup
  dns::Answer<std::string> v6;
  dns::Answer<std::string> v4;
};

enum class Kind { mx, implicit_mx, smart_hosts };

struct Resolution {
  Kind kind = Kind::mx;
  std::string domain;  // the recipient domain (MX kinds)
  unsigned max_targets = 1;
  TargetResolver::Done done;
  std::vector<HostLookup> hosts;
  size_t pending = 0;
};

bool transient(dns::Status s) {
  return s == dns::Status::servfail || s == dns::Status::timeout || s == dns::Status::error;
}

void finish(Resolution& r, TargetList list) {
  auto done = std::move(r.done);
  r.done = nullptr;
  if (done) done(std::move(list));
}

TargetList failure(Error e) {
  TargetList list;
  list.error = std::move(e);
  return list;
}

// The words for a host that gave no address: "mx1.example.net (NXDOMAIN for mx1.example.net)".
std::string why_no_address(const HostLookup& h) {
  const dns::Answer<std::string>& worse = transient(h.v6.status) && !transient(h.v4.status) ? h.v6 : h.v4;
  return h.name + " (" + (worse.detail.empty() ? std::string(dns::to_string(worse.status)) : worse.detail) + ")";
}

// Every answer is in: the targets in order, or why there are none.
TargetList assemble(const Resolution& r) {
  TargetList list;
  std::set<std::string> seen;  // one address under two MX names is tried once
  for (const HostLookup& h : r.hosts) {
    std::vector<std::string> v6, v4;
    if (!h.literal_ip.empty()) {
      v4.push_back(h.literal_ip);
    } else {
      if (h.v6.status == dns::Status::ok) v6 = h.v6.records;
      if (h.v4.status == dns::Status::ok) v4 = h.v4.records;
    }
    // Interleaved, IPv6 first (RFC 8305 §4): a host whose IPv6 is unreachable costs one
    // attempt before its IPv4 is tried, not all of its IPv6 addresses.
    for (size_t i = 0; i < std::max(v6.size(), v4.size()); ++i) {
      for (const std::vector<std::string>* family : {&v6, &v4}) {
        if (i >= family->size()) continue;
        const std::string& ip = (*family)[i];
        if (list.targets.size() >= r.max_targets) return list;
        if (!seen.insert(ip).second) continue;
        list.targets.push_back(Target{h.name, ip, h.port, h.preference});
      }
    }
  }
  if (!list.targets.empty()) return list;

  // No address at all. A transient failure anywhere means the answer may differ later.
  for (const HostLookup& h : r.hosts) {
    if (!h.literal_ip.empty()) continue;
    for (const dns::Answer<std::string>* a : {&h.v6, &h.v4}) {
      if (transient(a->status)) return failure(dns_failure(a->status, a->detail, h.name));
    }
  }
  std::string hosts;
  for (const HostLookup& h : r.hosts) hosts += (hosts.empty() ? "" : ", ") + why_no_address(h);
  switch (r.kind) {
    case Kind::implicit_mx: {
      Reply reply(550, "5.1.2", "Domain " + r.domain + " has no MX, A or AAAA record");
      return failure(Error{ErrorClass::permanent, reply.text(), reply});
    }
    case Kind::mx: {
      // RFC 5321 §5.1: MX records that all name hosts without addresses are an error of the
      // recipient's zone; Postfix bounces them too ("Host or domain name not found").
      Reply reply(550, "5.4.4", "No MX host of " + r.domain + " has an address: " + hosts);
      return failure(Error{ErrorClass::permanent, reply.text(), reply});
    }
    case Kind::smart_hosts: {
      // Our own configuration is wrong (or its DNS is): the recipients are not at fault, so
      // the mail waits for the admin instead of bouncing.
      Reply reply(451, "4.4.3", "No smart host has an address: " + hosts);
      return failure(Error{ErrorClass::transient, "the smart hosts of this send connector do not resolve; check smart_hosts and DNS", reply});
    }
  }
  return list;
}

void one_done(const std::shared_ptr<Resolution>& r) {
  if (--r->pending == 0) finish(*r, assemble(*r));
}

void look_up_addresses(dns::Resolver& resolver, std::shared_ptr<Resolution> r) {
  // Counted before any query is issued, plus one for this loop itself, so a resolver that
  // answered inside the call could not finish the resolution half-built.
  r->pending = 1;
  for (size_t i = 0; i < r->hosts.size(); ++i) {
    if (!r->hosts[i].literal_ip.empty()) continue;
    r->pending += 2;
    const std::string name = r->hosts[i].name;
    resolver.aaaa(name, [r, i](dns::Answer<std::string> a) {
      r->hosts[i].v6 = std::move(a);
      one_done(r);
    });
    resolver.a(name, [r, i](dns::Answer<std::string> a) {
      r->hosts[i].v4 = std::move(a);
      one_done(r);
    });
  }
  one_done(r);
}

// Sorts by preference and shuffles each run of equal preferences (RFC 5321 §5.1: "the
// sender-SMTP MUST randomize them to spread the load").
void order_mx(std::vector<dns::MxRecord>& mx, const TargetResolver::Random& random) {
  std::stable_sort(mx.begin(), mx.end(), [](const auto& a, const auto& b) { return a.preference < b.preference; });
  for (size_t begin = 0; begin < mx.size();) {
    size_t end = begin + 1;
    while (end < mx.size() && mx[end].preference == mx[begin].preference) ++end;
    for (size_t i = end - 1; i > begin; --i) {  // Fisher-Yates over [begin, end)
      const size_t j = begin + random() % (i - begin + 1);
      std::swap(mx[i], mx[j]);
    }
    begin = end;
  }
}

}  // namespace

Error dns_failure(dns::Status status, std::string_view detail, std::string_view name) {
  std::string words(detail);
  if (words.empty()) words = std::string(dns::to_string(status)) + " for " + std::string(name);
  switch (status) {
    case dns::Status::nxdomain: {
      Reply reply(550, "5.1.2", "Domain not found: " + words);
      return Error{ErrorClass::permanent, reply.text(), reply};
    }
    case dns::Status::nodata: {
      Reply reply(550, "5.1.2", "No mail host: " + words);
      return Error{ErrorClass::permanent, reply.text(), reply};
    }
    case dns::Status::ok:
    case dns::Status::servfail:
    case dns::Status::timeout:
    case dns::Status::error:
      break;
  }
  Reply reply(451, "4.4.3", "DNS query failed: " + words);
  return Error{ErrorClass::transient, reply.text(), reply};
}

TargetResolver::TargetResolver(dns::Resolver& resolver, Random random, std::vector<std::string> local_names)
    : resolver_(resolver), random_(std::move(random)), local_names_(std::move(local_names)) {
  for (std::string& n : local_names_) n = normalize_domain(n);
}

void TargetResolver::resolve(const NextHop& hop, Done done) {
  if (hop.unreachable()) {
    Reply reply(451, "4.4.0", "No route to " + hop.domain + ": " + hop.unreachable_reason);
    done(failure(Error{ErrorClass::transient, hop.unreachable_reason, reply}));
    return;
  }
  const config::SendConnector& c = *hop.connector;
  if (hop.smart_host) {
    resolve_smart_hosts(c.smart_hosts, c.port, c.max_hosts_per_attempt, std::move(done));
  } else {
    resolve_mx(hop.domain, c.port, c.max_hosts_per_attempt, std::move(done));
  }
}

void TargetResolver::resolve_mx(std::string domain, uint16_t port, unsigned max_targets, Done done) {
  domain = normalize_domain(domain);
  if (domain.empty()) {
    Reply reply(550, "5.1.2", "Empty recipient domain");
    done(failure(Error{ErrorClass::permanent, reply.text(), reply}));
    return;
  }
  if (domain.front() == '[') {
    // An address literal names the host itself: no MX, no lookup (RFC 5321 §5.1 last para).
    TargetList list;
    const std::string ip = address_literal_ip(domain);
    if (ip.empty()) {
      Reply reply(550, "5.1.2", "Bad address literal " + domain);
      list.error = Error{ErrorClass::permanent, reply.text(), reply};
    } else {
      list.targets.push_back(Target{ip, ip, port, 0});
    }
    done(std::move(list));
    return;
  }
  auto r = std::make_shared<Resolution>();
  r->domain = domain;
  r->max_targets = std::max(1u, max_targets);
  r->done = std::move(done);
  // The callback holds what it needs by value (and the resolver by reference), not `this`.
  dns::Resolver& resolver = resolver_;
  resolver_.mx(domain, [&resolver, random = random_, local = local_names_, r, port](dns::Answer<dns::MxRecord> answer) {
    if (answer.status == dns::Status::nodata || (answer.status == dns::Status::ok && answer.records.empty())) {
      // No MX: the domain itself is the mail host, preference 0 (RFC 5321 §5.1).
      r->kind = Kind::implicit_mx;
      r->hosts.push_back(HostLookup{r->domain, 0, port});
      look_up_addresses(resolver, r);
      return;
    }
    if (answer.status != dns::Status::ok) {
      finish(*r, failure(dns_failure(answer.status, answer.detail, r->domain)));
      return;
    }
    std::vector<dns::MxRecord> mx;
    for (dns::MxRecord& rec : answer.records)
      if (!rec.exchange.empty()) mx.push_back(std::move(rec));
    if (mx.empty()) {
      // RFC 7505 §3: the domain says it accepts no mail; retrying cannot change that.
      Reply reply(556, "5.1.10", "Recipient address rejected: " + r->domain + " does not accept mail (null MX)");
      finish(*r, failure(Error{ErrorClass::permanent, reply.text(), reply}));
      return;
    }
    // A null MX beside real ones is a broken zone (RFC 7505 §3 forbids it); the real
    // records are still the best guess, so they are used.
    order_mx(mx, random);
    // RFC 5321 §5.1: when we are one of the MX hosts, only more preferred hosts may be
    // tried; sending to ourselves or a less preferred backup would loop.
    auto self = std::find_if(mx.begin(), mx.end(), [&](const dns::MxRecord& rec) {
      return std::find(local.begin(), local.end(), rec.exchange) != local.end();
    });
    if (self != mx.end()) {
      const uint16_t own_preference = self->preference;
      std::erase_if(mx, [&](const dns::MxRecord& rec) { return rec.preference >= own_preference; });
      if (mx.empty()) {
        Reply reply(554, "5.4.6", "Mail for " + r->domain + " loops back to myself");
        finish(*r, failure(Error{ErrorClass::permanent,
                                 "this server is the best MX host of " + r->domain +
                                     " but the domain is not an accepted domain; add it to [[accepted_domain]] or fix the MX records",
                                 reply}));
        return;
      }
    }
    r->kind = Kind::mx;
    std::set<std::string> names;
    for (dns::MxRecord& rec : mx) {
      if (r->hosts.size() >= kMaxMxHosts) break;
      if (!names.insert(rec.exchange).second) continue;
      r->hosts.push_back(HostLookup{std::move(rec.exchange), rec.preference, port});
    }
    look_up_addresses(resolver, r);
  });
}

void TargetResolver::resolve_smart_hosts(std::vector<config::HostPort> hosts, uint16_t default_port,
                                         unsigned max_targets, Done done) {
  auto r = std::make_shared<Resolution>();
  r->kind = Kind::smart_hosts;
  r->max_targets = std::max(1u, max_targets);
  r->done = std::move(done);
  // Smart hosts are tried in the order written, never shuffled and never looked up by MX
  // (Exchange and Postfix alike): the admin chose that order.
  for (size_t i = 0; i < hosts.size() && i <= UINT16_MAX; ++i) {
    HostLookup h;
    h.name = hosts[i].host;
    h.preference = static_cast<uint16_t>(i);
    h.port = hosts[i].port != 0 ? hosts[i].port : default_port;
    if (hosts[i].literal) h.literal_ip = hosts[i].host;
    r->hosts.push_back(std::move(h));
  }
  if (r->hosts.empty()) {
    Reply reply(451, "4.4.0", "No smart host configured");
    finish(*r, failure(Error{ErrorClass::transient, reply.text(), reply}));
    return;
  }
  look_up_addresses(resolver_, r);
}

TargetResolver::Random make_system_random() {
  auto engine = std::make_shared<std::mt19937>(std::random_device{}());
  return [engine] { return static_cast<uint32_t>((*engine)()); };
}

}  // namespace sluice::routing
