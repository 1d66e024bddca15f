// net/connection_limits.hpp: how many SMTP connections a receive connector holds, in all and
// per client address (Exchange's MaxInboundConnection and MaxInboundConnectionPerSource).
// Owns: the counts, shared by every event loop. A connection takes a Ticket when it is
// accepted and gives it back when it closes (RAII). Not: what to answer (the listener).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace sluice::net {

class ConnectionLimits {
 public:
  enum class Refusal { none, connector_full, client_full };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(ConnectionLimits* owner, std::string connector, std::string client)
        : owner_(owner), connector_(std::move(connector)), client_(std::move(client)) {}
    Ticket(Ticket&& o) noexcept { *this = std::move(o); }
    Ticket& operator=(Ticket&& o) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }

   private:
    void release();
    ConnectionLimits* owner_ = nullptr;
    std::string connector_, client_;
  };

  // Counts the connection if both limits allow it; `refusal` says which one did not.
  std::optional<Ticket> acquire(const std::string& connector, const std::string& client_ip,
                                unsigned max_connections, unsigned max_per_ip, Refusal& refusal);

  unsigned connections(const std::string& connector) const;

 private:
  void release(const std::string& connector, const std::string& client);

  mutable std::mutex mu_;
  std::map<std::string, unsigned> per_connector_;
  std::map<std::pair<std::string, std::string>, unsigned> per_client_;
};

}  // namespace sluice::net
