// config/config.cpp: see config.hpp — the small queries on a loaded configuration,
// including receive connector selection.
#include "config/config.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace sluice::config {
namespace {

constexpr std::array<std::pair<ConnectorUsage, std::string_view>, 4> kUsages{{
    {ConnectorUsage::internet, "internet"},
    {ConnectorUsage::relay, "relay"},
    {ConnectorUsage::client, "client"},
    {ConnectorUsage::custom, "custom"},
}};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view to_string(ConnectorUsage u) {
  for (const auto& [usage, name] : kUsages) {
    if (usage == u) return name;
  }
  return "custom";
}

std::optional<ConnectorUsage> parse_connector_usage(std::string_view text) {
  for (const auto& [usage, name] : kUsages) {
    if (name == text) return usage;
  }
  return std::nullopt;
}

bool ReceiveConnector::accepts(const IpAddress& client) const {
  return match_specificity(client) >= -1;
}

int ReceiveConnector::match_specificity(const IpAddress& client) const {
  if (remote_ip_ranges.empty()) return -1;
  int best = -2;  // no match
  for (const IpRange& r : remote_ip_ranges) {
    if (r.contains(client)) best = std::max(best, r.specificity());
  }
  return best;
}

bool Config::is_accepted_domain(std::string_view domain) const {
  return std::any_of(accepted_domains.begin(), accepted_domains.end(),
                     [&](const AcceptedDomain& d) { return iequals(d.name, domain); });
}

const ReceiveConnector* Config::find_connector(std::string_view name) const {
  for (const ReceiveConnector& c : receive_connectors) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const SendConnector* Config::find_send_connector(std::string_view name) const {
  for (const SendConnector& c : send_connectors) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::chrono::seconds QueueSettings::retry_interval(unsigned attempt) const {
  // The loader refuses an empty list; a hand-built empty one falls back to the first default.
  if (retry.empty()) return std::chrono::minutes(1);
  const size_t i = attempt == 0 ? 0 : std::min<size_t>(attempt - 1, retry.size() - 1);
  return retry[i];
}

const ReceiveConnector* select_connector(const Config& config, const ListenAddress& bound,
                                         const IpAddress& client) {
  const ReceiveConnector* best = nullptr;
  int best_specificity = -2;
  for (const ReceiveConnector& c : config.receive_connectors) {
    if (std::find(c.listen.begin(), c.listen.end(), bound) == c.listen.end()) continue;
    const int s = c.match_specificity(client);
    // Ties cannot happen between valid connectors with distinct range lists except when
    // two lists share their narrowest matching range; the first one in the file wins then,
    // which is stable across reloads.
    if (s > best_specificity) {
      best = &c;
      best_specificity = s;
    }
  }
  return best;
}

}  // namespace sluice::config
