// routing/send_routing.hpp: which send connector carries mail for a remote domain, and the
// next hop (the queue) a recipient of that domain waits in.
// Owns: Exchange's send connector selection — the most specific address space ("example.com"
// exact > "*.example.com", longest suffix first > "*"), then the lowest cost, then config
// order — and the naming of next-hop queues.
// Not: accepted (local) domains, which the queue checks first (routing/local_directory);
// DNS and the target list (target_resolver.hpp); the delivery itself (delivery/).
// RFC 5321 §2.3.5 (domains, address literals), §2.4 (domains are case-insensitive).
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "routing/target.hpp"

namespace sluice::routing {

// The queue name of recipients that no send connector serves (Exchange's Unreachable queue).
inline constexpr std::string_view kUnreachableQueue = "Unreachable";
// Smart-host next hops are named after their connector: "smarthost:partner".
inline constexpr std::string_view kSmartHostQueuePrefix = "smarthost:";

// `domain` may be in any case and carry a trailing dot; an address literal ("[192.0.2.1]",
// "[IPv6:2001:db8::1]") matches only "*". nullptr = no route.
const config::SendConnector* select_send_connector(const config::Config& config, std::string_view domain);

// The next hop = the queue a recipient waits in. With MX routing the queue is the domain
// (lower case, no trailing dot), so every connector's mail for one domain shares a queue;
// with smart hosts it is the connector's, so all its domains share one queue and one set
// of connections. Without a connector: name "Unreachable", connector nullptr, and
// `unreachable_reason` says why in words for the queue's LastError.
struct NextHop {
  std::string name;
  const config::SendConnector* connector = nullptr;  // borrowed from the Config snapshot
  bool smart_host = false;
  std::string domain;  // the recipient domain, normalised; the MX lookup name
  std::string unreachable_reason;

  bool unreachable() const { return connector == nullptr; }
};

NextHop next_hop_for(const config::Config& config, std::string_view recipient_domain);

// "Example.NET." -> "example.net": what routing compares and names queues by.
std::string normalize_domain(std::string_view domain);

// An address literal's IP ("[192.0.2.1]" -> "192.0.2.1", "[IPv6:2001:db8::1]" ->
// "2001:db8::1"), "" if `domain` is not one (RFC 5321 §4.1.3).
std::string address_literal_ip(std::string_view domain);

}  // namespace sluice::routing
