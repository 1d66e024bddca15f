// routing/target.hpp: what outbound delivery connects to — the ordered hosts and addresses of
// one next hop — and why there may be none.
// Owns: the shape of a target list handed from routing to the SMTP transport and the queue.
// Not: how targets are found (target_resolver.cpp), what a failure means for the mail
// (delivery/outcome.cpp decides scope and permanence).
// RFC 5321 §5.1 (the order of MX hosts and their addresses).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace sluice::routing {

// One connection attempt: a host name (as the MX record or smart host names it, or "[ip]"
// for an address literal), one of its addresses, and the port.
struct Target {
  std::string host;
  std::string ip;  // IPv4 or IPv6 text, never empty
  uint16_t port = 25;
  uint16_t preference = 0;  // MX preference; the position in the list for smart hosts

  bool operator==(const Target&) const = default;
};

// The targets in the order to try them, at most max_hosts_per_attempt. `error` is set only
// when there is no target at all: its class says bounce (permanent: NXDOMAIN 5.1.2, null MX
// 5.1.10, no address for any MX host 5.4.4) or retry (transient: SERVFAIL or timeout 4.4.3),
// and its reply is what the queue shows as LastError and the DSN as Diagnostic-Code.
struct TargetList {
  std::vector<Target> targets;
  std::optional<Error> error;
};

}  // namespace sluice::routing
