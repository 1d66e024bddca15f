// net/connection_limits.cpp: see connection_limits.hpp. One mutex: taken twice per
// connection, never per command or message.
#include "net/connection_limits.hpp"

namespace sluice::net {

ConnectionLimits::Ticket& ConnectionLimits::Ticket::operator=(Ticket&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::exchange(o.owner_, nullptr);
    connector_ = std::move(o.connector_);
    client_ = std::move(o.client_);
  }
  return *this;
}

void ConnectionLimits::Ticket::release() {
  if (owner_) owner_->release(connector_, client_);
  owner_ = nullptr;
}

std::optional<ConnectionLimits::Ticket> ConnectionLimits::acquire(
    const std::string& connector, const std::string& client_ip, unsigned max_connections,
    unsigned max_per_ip, Refusal& refusal) {
  std::lock_guard lock(mu_);
  unsigned& all = per_connector_[connector];
  unsigned& mine = per_client_[{connector, client_ip}];
  refusal = Refusal::none;
  if (max_connections > 0 && all >= max_connections) refusal = Refusal::connector_full;
  else if (max_per_ip > 0 && mine >= max_per_ip) refusal = Refusal::client_full;
  if (refusal != Refusal::none) {
    if (mine == 0) per_client_.erase({connector, client_ip});
    return std::nullopt;
  }
  ++all;
  ++mine;
  return Ticket(this, connector, client_ip);
}

unsigned ConnectionLimits::connections(const std::string& connector) const {
  std::lock_guard lock(mu_);
  auto it = per_connector_.find(connector);
  return it == per_connector_.end() ? 0 : it->second;
}

void ConnectionLimits::release(const std::string& connector, const std::string& client) {
  std::lock_guard lock(mu_);
  if (auto it = per_connector_.find(connector); it != per_connector_.end() && it->second > 0)
    --it->second;
  auto key = std::make_pair(connector, client);
  if (auto it = per_client_.find(key); it != per_client_.end() && --it->second == 0)
    per_client_.erase(it);
}

}  // namespace sluice::net
