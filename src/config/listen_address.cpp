// config/listen_address.cpp: see listen_address.hpp.
#include "config/listen_address.hpp"

#include <charconv>

namespace sluice::config {

Result<ListenAddress> ListenAddress::parse(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(ErrorClass::config, quoted + " is not a listen address (expected \"[ipv6]:port\")");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorClass::config, quoted + " has no port (expected \"ip:port\", e.g. \"0.0.0.0:25\")");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail(ErrorClass::config,
                  quoted + ": put an IPv6 address in brackets, e.g. \"[::1]:25\"");
    }
  }
  auto address = IpAddress::parse(host);
  if (!address) {
    return fail(ErrorClass::config, quoted + ": '" + std::string(host) +
                                        "' is not an IP address (use \"0.0.0.0\" or \"[::]\" for all addresses)");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return fail(ErrorClass::config, quoted + ": the port must be a number from 0 to 65535");
  }
  if (address->family == IpFamily::v6 && address->unmapped().family == IpFamily::v4) {
    return fail(ErrorClass::config,
                quoted + ": write the IPv4 address directly instead of an IPv4-mapped IPv6 address");
  }
  return ListenAddress{address->to_string(), uint16_t(value)};
}

std::string ListenAddress::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace sluice::config
