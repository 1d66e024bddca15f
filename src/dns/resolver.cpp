// dns/resolver.cpp: the small pure helpers of resolver.hpp (status names, reverse names).
// Follows RFC 1035 §3.5 (in-addr.arpa) and RFC 3596 §2.5 (ip6.arpa nibbles).
#include "dns/resolver.hpp"

#include <arpa/inet.h>

namespace sluice::dns {

const char* to_string(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::nxdomain: return "NXDOMAIN";
    case Status::nodata: return "no data";
    case Status::servfail: return "SERVFAIL";
    case Status::timeout: return "timeout";
    case Status::error: return "error";
  }
  return "error";
}

std::string reverse_name(const std::string& ip) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    std::string out;
    for (int i = 3; i >= 0; --i) out += std::to_string(buf[i]) + ".";
    return out + "in-addr.arpa";
  }
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 15; i >= 0; --i) {
      out += kHex[buf[i] & 0xf];
      out += '.';
      out += kHex[buf[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return "";
}

}  // namespace sluice::dns
