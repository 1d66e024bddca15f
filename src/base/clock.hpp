// base/clock.hpp: the source of "now". Code that schedules or stamps takes a Clock& so
// tests can drive time without sleeping.
#pragma once

#include <chrono>

namespace sluice {

using SystemTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to: for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime start) : now_(start) {}
  SystemTime now() const override { return now_; }
  void advance(std::chrono::microseconds d) { now_ += d; }

 private:
  SystemTime now_;
};

}  // namespace sluice
