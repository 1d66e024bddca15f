// dns/resolver.hpp: the asynchronous resolver interface that routing, policy and the doctor
// ask for MX, A, AAAA, TXT and PTR records, and the typed answers it gives back.
// Owns: the vocabulary of a DNS outcome. NXDOMAIN, no data, SERVFAIL and timeout are kept
// apart because they decide between a bounce and a retry (RFC 5321 §5.1: no MX and an
// address = implicit MX; RFC 2308: NXDOMAIN vs NODATA; RFC 7505: null MX).
// Not: the implementation (unbound_resolver.hpp), coroutine adapters (awaitable.hpp), what a
// status means for a delivery (delivery/outcome).
// Callback style keeps Asio out of this header, so it can be included anywhere.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sluice::dns {

enum class Status {
  ok,        // NOERROR with at least one record of the asked type
  nxdomain,  // the name does not exist (RCODE 3): permanent
  nodata,    // the name exists, no record of that type (NOERROR, empty answer)
  servfail,  // SERVFAIL, REFUSED or another server-side failure: transient
  timeout,   // no answer within our own deadline ([dns] timeout): transient
  error,     // a local failure: bad query name, resolver not set up, shut down
};

const char* to_string(Status s);  // "ok", "NXDOMAIN", "no data", "SERVFAIL", "timeout", "error"

struct MxRecord {
  uint16_t preference = 0;
  std::string exchange;  // lower case, no trailing dot; "" for the null MX "." (RFC 7505)
  bool operator==(const MxRecord&) const = default;
};

template <typename T>
struct Answer {
  Status status = Status::error;
  std::vector<T> records;  // non-empty exactly when status is ok
  std::string detail;      // for logs and LastError: "SERVFAIL for mx.example.net"
  bool secure = false;     // DNSSEC-validated (only with a trust anchor; issue 4 uses it)
};

// One Resolver per event loop. Calls may come from any thread; each query starts on the
// resolver's loop and `done` runs there, exactly once, and never inside the call itself.
// MX answers come sorted by preference (ties keep the server's order: routing shuffles them).
class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual void mx(std::string name, std::function<void(Answer<MxRecord>)> done) = 0;
  virtual void a(std::string name, std::function<void(Answer<std::string>)> done) = 0;     // IPv4 text
  virtual void aaaa(std::string name, std::function<void(Answer<std::string>)> done) = 0;  // IPv6 text
  // Each record's character-strings concatenated (RFC 7208 §3.3): one string per record.
  virtual void txt(std::string name, std::function<void(Answer<std::string>)> done) = 0;
  // The names for an IPv4 or IPv6 address (in-addr.arpa / ip6.arpa built here).
  virtual void ptr(std::string ip, std::function<void(Answer<std::string>)> done) = 0;
};

// "4.3.2.1.in-addr.arpa" / nibble ip6.arpa name for an address; "" if `ip` is not one.
std::string reverse_name(const std::string& ip);

}  // namespace sluice::dns
