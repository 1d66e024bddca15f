// config/listen_address.hpp: where a receive connector listens — "ip:port" or "[ipv6]:port".
// Port 0 is allowed: the kernel picks one and the daemon reports it (tests rely on this).
// Owns: the text form and its canonical spelling, so that "[::1]:25" and "[0::1]:25" name the
// same listener when connectors are compared. Not: binding (net/).
// Follows RFC 3986 §3.2.2 (brackets around IPv6 literals with a port).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "config/ip_range.hpp"

namespace sluice::config {

struct ListenAddress {
  std::string host;  // canonical IP literal without brackets: "127.0.0.1", "::1", "0.0.0.0", "::"
  uint16_t port = 0;

  // Host names are refused: a listener binds an address, and resolving a name at start-up
  // would make the bound address depend on DNS.
  static Result<ListenAddress> parse(std::string_view text);

  std::string to_string() const;  // "127.0.0.1:2525", "[::1]:2525"
  bool operator==(const ListenAddress&) const = default;
};

}  // namespace sluice::config
