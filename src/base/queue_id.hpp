// base/queue_id.hpp: queue ids — unique, time-sortable names for accepted messages, as
// Postfix's long queue ids are. 11 Crockford base32 digits of microseconds since the Unix
// epoch, then 2 digits naming the generator (one per event loop), so ids sort by arrival
// and two loops never mint the same id. Example: "0CHG5V1M2KT01".
// Owns: the id format. Not: persistence (the spool keeps the ids it is given).
#pragma once

#include <cstdint>
#include <string>

#include "base/clock.hpp"

namespace sluice {

class QueueIdGenerator {
 public:
  static constexpr size_t kLength = 13;
  static constexpr unsigned kMaxGenerators = 1024;

  // `generator` < kMaxGenerators, distinct for every generator alive at the same time.
  QueueIdGenerator(const Clock& clock, unsigned generator);

  // Strictly increasing for this generator, even when the clock stands still or steps back.
  std::string next();

  static bool valid(std::string_view id);

 private:
  const Clock& clock_;
  unsigned generator_;
  uint64_t last_us_ = 0;
};

}  // namespace sluice
