// policy/greylist.hpp: greylisting (RFC 6647) — the first delivery attempt of an unknown
// (client network, sender, recipient) triplet is refused with 451 4.7.1; a retry after the
// delay and within the lifetime passes, and then the client network passes directly for
// `pass_for` (auto-pass: a client that retries like a real MTA is not delayed again).
// Owns: the triplet (client /24 for IPv4, /64 for IPv6, RFC 6647 §4.1, so a pool of sending
// addresses counts as one client; sender and recipient lower-cased), the decision and its
// reply, the store seam (GreylistStore: callback style so that the shared store of cluster
// mode can answer later) and the local store (in memory, saved to a file).
// Not: which clients are exempt (authenticated, relay, allowlisted: protection_policy).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "base/reply.hpp"
#include "base/result.hpp"
#include "config/protection.hpp"

namespace sluice::policy {

struct GreylistRecord {
  int64_t first_seen_us = 0;  // the first refused attempt
  int64_t passed_us = 0;      // when it passed; 0 = not yet
};

// Where greylisting state lives. get() may answer inside the call or later, on any thread.
class GreylistStore {
 public:
  virtual ~GreylistStore() = default;
  virtual void get(const std::string& key, std::function<void(std::optional<GreylistRecord>)> done) = 0;
  virtual void put(const std::string& key, const GreylistRecord& record) = 0;
};

// The store of one node: a map under a mutex (every event loop shares it), saved to `path`
// (one "key first_seen passed" line per entry, written to a temporary file and renamed) by
// save() and read back by load(). Answers inside get().
class LocalGreylistStore final : public GreylistStore {
 public:
  explicit LocalGreylistStore(std::string path = "") : path_(std::move(path)) {}

  void get(const std::string& key, std::function<void(std::optional<GreylistRecord>)> done) override;
  void put(const std::string& key, const GreylistRecord& record) override;

  // Reads the file (a missing file is an empty store); malformed lines are skipped.
  Result<void> load();
  // Drops entries older than `keep_us` (by their last use) and writes the file.
  Result<void> save(int64_t now_us, int64_t keep_us);
  size_t size() const;

 private:
  std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, GreylistRecord> entries_;
};

class Greylist {
 public:
  Greylist(const config::GreylistSettings& settings, GreylistStore& store, const Clock& clock)
      : settings_(settings), store_(store), clock_(clock) {}

  // nullopt: pass. A reply: "451 4.7.1 Greylisted, try again in N seconds". `done` may run
  // inside the call (local store) or later (shared store).
  void check(const std::string& client_ip, const std::string& sender, const std::string& recipient,
             std::function<void(std::optional<Reply>)> done);

  // "192.0.2.0/24", "2001:db8:1:2::/64"; the address itself when it does not parse.
  static std::string client_network(const std::string& ip);

 private:
  const config::GreylistSettings& settings_;
  GreylistStore& store_;
  const Clock& clock_;
};

}  // namespace sluice::policy
