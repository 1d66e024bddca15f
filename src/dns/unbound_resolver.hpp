// dns/unbound_resolver.hpp: the real Resolver, on libunbound (a caching, validating resolver
// library), driven by one Asio event loop.
// Owns: making the ub_ctx (forwarders from [dns] servers, else /etc/resolv.conf), watching its
// result pipe (ub_fd) on the loop, our per-query deadline, and turning ub_result into Answers.
// Not: what answers mean for delivery (routing/, delivery/outcome).
// Follows RFC 1035 §3.3 (rdata layouts), RFC 2308 (negative answers), RFC 3596 (AAAA, ip6.arpa).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "config/config.hpp"
#include "dns/resolver.hpp"

namespace sluice::dns {

struct UnboundOptions {
  std::vector<std::string> forwarders;  // "127.0.0.1@5353" (unbound's spelling); empty = system
  std::chrono::milliseconds timeout{10000};
};

UnboundOptions unbound_options(const config::DnsSettings& settings);

// A set-up failure (no resolv.conf, a forwarder unbound refuses) is not thrown: every query
// then answers Status::error with the reason in `detail`, which the doctor and LastError show.
// Caching is libunbound's: answers for their TTL (test zones use TTL 0: not cached), and a
// SERVFAIL for 5 s (RFC 2308 §7.1; compiled into libunbound), so a retry sooner than that
// sees the same SERVFAIL. Our deadline's timeouts are not cached.
// Destroy it on its loop's thread (or after the loop stopped); queries still pending then
// complete with Status::error "resolver shut down", posted to the loop.
std::unique_ptr<Resolver> make_unbound_resolver(asio::io_context& loop, const config::DnsSettings& settings);
std::unique_ptr<Resolver> make_unbound_resolver(asio::io_context& loop, UnboundOptions options);

}  // namespace sluice::dns
