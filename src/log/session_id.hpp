// log/session_id.hpp: session ids — the 16 uppercase hex digits that name one SMTP session
// (inbound or outbound) in the protocol log, as Exchange's do ("08D675E58CA1DA38"), so an
// admin can grep one conversation out of a day's file.
// Owns: how ids are minted. Not: formatting them into a log line (protocol_log.cpp).
//
// An id is (milliseconds since the Unix epoch when the generator was made) << 20, plus a
// counter. Within one run ids never repeat (the counter is one atomic, shared by all event
// loops); across runs they do not collide unless a run opened more than 2^20 sessions per
// millisecond it lived. The time prefix also makes ids sort by run, which helps when logs
// of several restarts sit in one folder. No global state: the daemon owns one generator.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "base/clock.hpp"

namespace sluice::log {

class SessionIdGenerator {
 public:
  static constexpr unsigned kCounterBits = 20;

  explicit SessionIdGenerator(const Clock& clock);

  // Thread-safe, lock-free; never returns the same value twice in this generator's life.
  uint64_t next();

  // "08D675E58CA1DA38": 16 uppercase hex digits, zero padded.
  static std::string format(uint64_t id);

 private:
  uint64_t base_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace sluice::log
