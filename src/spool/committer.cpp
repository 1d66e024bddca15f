// spool/committer.cpp: see committer.hpp.
//
// The batching rule is the simplest one that is optimal here: no timer, no size target. While
// a synced write is in progress, new messages pile up in `pending_`; when it returns, the
// thread takes the whole pile as the next batch. Under light load a message waits for one
// fsync; under heavy load batches grow by themselves to match the disk's sync rate.
#include "spool/committer.hpp"

#include <utility>

namespace sluice::spool {

Committer::Committer(Store& store, BatchObserver observer)
    : store_(store), observer_(std::move(observer)), thread_([this] { run(); }) {}

Committer::~Committer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Committer::commit(smtp::Message* message, Done done) {
  SLUICE_ASSERT(message != nullptr && done);
  {
    std::lock_guard lock(mu_);
    SLUICE_ASSERT(!stopping_);
    pending_.push_back(Pending{message, std::move(done)});
  }
  wake_.notify_one();
}

Committer::Stats Committer::stats() const {
  return Stats{batches_.load(), messages_.load(), failed_batches_.load(), last_batch_size_.load()};
}

void Committer::run() {
  std::vector<Pending> batch;
  std::vector<smtp::Message*> messages;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything handed over is done
      batch.swap(pending_);
    }
    messages.clear();
    for (const Pending& p : batch) messages.push_back(p.message);
    const auto started = std::chrono::steady_clock::now();
    Result<void> result = store_.write_messages(messages);
    if (observer_) observer_(std::chrono::steady_clock::now() - started, batch.size(), result.has_value());
    batches_.fetch_add(1);
    messages_.fetch_add(batch.size());
    last_batch_size_.store(batch.size());
    if (!result) failed_batches_.fetch_add(1);
    // Callbacks run outside the lock: they may commit again (a session's next message).
    for (Pending& p : batch) p.done(result);
    batch.clear();
  }
}

}  // namespace sluice::spool
