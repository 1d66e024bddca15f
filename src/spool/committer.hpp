// spool/committer.hpp: group commit. Sessions hand over finished messages; one thread writes
// everything that is waiting as ONE synced batch and then tells each session the outcome, so
// N concurrent messages cost one fsync, not N (DESIGN.md, "Durability contract").
// Owns: the committer thread, batching, completion callbacks, commit counters.
// Not: the storage format (store.hpp); resuming a session on its executor (the caller wraps
// the callback into an awaitable, so Asio stays out of this header).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "smtp/envelope.hpp"
#include "spool/store.hpp"

namespace sluice::spool {

class Committer {
 public:
  using Done = std::function<void(Result<void>)>;

  struct Stats {
    uint64_t batches = 0;          // synced writes attempted
    uint64_t messages = 0;         // messages in those writes
    uint64_t failed_batches = 0;   // writes that failed (disk full, I/O error)
    uint64_t last_batch_size = 0;  // messages in the most recent write
  };

  // After every synced write: how long it took and how many messages it carried (the
  // daemon feeds /metrics with it; spool knows nothing of metrics). Runs on the committer thread.
  using BatchObserver = std::function<void(std::chrono::nanoseconds elapsed, size_t messages, bool ok)>;

  // Starts the committer thread. `store` must outlive the Committer.
  explicit Committer(Store& store, BatchObserver observer = nullptr);
  // Commits everything already handed over (every Done runs), then joins the thread.
  ~Committer();
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Queues `message` for the next batch. `message` must stay alive and unchanged until `done`
  // runs; `done` runs exactly once, on the committer thread, after the batch's synced write
  // returned: success means the message is on stable storage and may be answered 250.
  // Must not be called once destruction has begun.
  void commit(smtp::Message* message, Done done);

  Stats stats() const;

 private:
  struct Pending {
    smtp::Message* message;
    Done done;
  };

  void run();

  Store& store_;
  BatchObserver observer_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pending> pending_;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  std::atomic<uint64_t> batches_{0}, messages_{0}, failed_batches_{0}, last_batch_size_{0};
  std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace sluice::spool
