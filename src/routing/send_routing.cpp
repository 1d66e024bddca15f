// routing/send_routing.cpp: send connector selection and next-hop naming (see the header).
// Owns: the tie-break order among matching connectors. Not: what "specific" means for one
// address space — config::address_space_specificity, shared with the loader's ambiguity
// warning so both agree.
#include "routing/send_routing.hpp"

#include <arpa/inet.h>

#include "config/send_connector.hpp"
#include "routing/ascii.hpp"

namespace sluice::routing {

std::string normalize_domain(std::string_view domain) {
  domain = trim(domain);
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  return ascii_lower(domain);
}

std::string address_literal_ip(std::string_view domain) {
  if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return {};
  std::string_view inner = domain.substr(1, domain.size() - 2);
  constexpr std::string_view kV6Tag = "ipv6:";
  const bool v6 = inner.size() > kV6Tag.size() && ascii_iequals(inner.substr(0, kV6Tag.size()), kV6Tag);
  if (v6) inner.remove_prefix(kV6Tag.size());
  const std::string ip(inner);
  unsigned char buf[16];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), buf) != 1) return {};
  return ip;
}

namespace {

// The best specificity any of the connector's address spaces reaches for `domain`.
int connector_specificity(const config::SendConnector& c, std::string_view domain, bool literal) {
  int best = -1;
  for (const std::string& space : c.address_spaces) {
    // An address literal is no domain name: "*.example.com" or "example.com" cannot
    // describe it, only "every destination" can.
    const int s = literal ? (space == "*" ? 0 : -1) : config::address_space_specificity(space, domain);
    if (s > best) best = s;
  }
  return best;
}

}  // namespace

const config::SendConnector* select_send_connector(const config::Config& config, std::string_view domain) {
  const std::string name = normalize_domain(domain);
  if (name.empty()) return nullptr;
  const bool literal = name.front() == '[';
  const config::SendConnector* chosen = nullptr;
  int chosen_specificity = -1;
  for (const config::SendConnector& c : config.send_connectors) {
    const int s = connector_specificity(c, name, literal);
    if (s < 0) continue;
    // Strictly better only: an equal match keeps the earlier connector (config order).
    if (chosen == nullptr || s > chosen_specificity || (s == chosen_specificity && c.cost < chosen->cost)) {
      chosen = &c;
      chosen_specificity = s;
    }
  }
  return chosen;
}

NextHop next_hop_for(const config::Config& config, std::string_view recipient_domain) {
  NextHop hop;
  hop.domain = normalize_domain(recipient_domain);
  hop.connector = select_send_connector(config, hop.domain);
  if (hop.connector == nullptr) {
    hop.name = std::string(kUnreachableQueue);
    if (config.send_connectors.empty()) {
      hop.unreachable_reason = "no send connector is configured, so mail for " + hop.domain +
                               " cannot leave this server; add a [[send_connector]] with address_spaces = [\"*\"]";
    } else {
      hop.unreachable_reason = "no send connector's address_spaces match " + hop.domain +
                               "; add it (or \"*\") to a [[send_connector]]";
    }
    return hop;
  }
  hop.smart_host = hop.connector->uses_smart_hosts();
  hop.name = hop.smart_host ? std::string(kSmartHostQueuePrefix) + hop.connector->name : hop.domain;
  return hop;
}

}  // namespace sluice::routing
