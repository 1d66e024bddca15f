// queue/queue_manager.hpp: takes every committed message to its recipients — for now the
// local ones, through alias expansion into Maildirs — records each recipient's outcome in
// the spool before anything else is decided, retries transient failures with back-off, and
// removes a message from the spool once every recipient is final.
// Owns: scheduling of delivery attempts, per-recipient state transitions, the tracking
// events DELIVER/DEFER/FAIL, recovery of the queue from the spool at start.
// Not: the Maildir format (delivery/), alias rules (routing/), storage (spool/).
// Outbound delivery (send connectors, MX), per-next-hop queues and DSNs arrive with the
// outbound issue; until then a recipient outside the accepted domains waits, deferred, with a
// LastError that says why.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "delivery/maildir_delivery.hpp"
#include "log/tracking_log.hpp"
#include "routing/local_directory.hpp"
#include "smtp/envelope.hpp"
#include "spool/store.hpp"

namespace sluice::queue {

struct QueueServices {
  spool::Store& store;
  const routing::LocalDirectory& directory;
  delivery::MaildirDelivery& maildir;
  log::TrackingLog& tracking;
  const Clock& clock;
};

class QueueManager {
 public:
  struct Stats {
    uint64_t delivered = 0, deferred = 0, failed = 0;
    size_t ready = 0, waiting = 0;
  };

  // Starts `workers` delivery threads (Maildir delivery blocks on fsync: it must never run
  // on an event loop).
  QueueManager(QueueServices services, unsigned workers);
  ~QueueManager();  // stop() and join
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  // At start: every message the spool holds, with its recipient states.
  void recover(std::vector<spool::SpooledMessage> messages);
  // A message that was just committed (all recipients pending); its content is kept in
  // memory so the first attempt does not read it back.
  void enqueue(smtp::Message&& message);
  // Finishes the attempts in progress, leaves the rest in the spool for the next start.
  void stop();

  Stats stats() const;

  // Waits until no message is ready or being attempted (messages may still wait for a later
  // retry), or until `deadline`; true if idle. For tests and an orderly drain: callers learn
  // that every attempt due so far has finished and its outcome is in the spool.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  // Makes the workers read the clock again now rather than at the next due time they
  // computed, so a clock that jumps (a test's clock, an admin's "retry now") takes effect.
  void wake();

  // Back-off after `attempts` failed attempts: 1 min, 5 min, 15 min, 30 min, then hourly.
  static std::chrono::seconds retry_delay(uint32_t attempts);
  // How long a message may stay before its waiting recipients fail (Postfix's
  // maximal_queue_lifetime default).
  static constexpr std::chrono::hours kMaxQueueLifetime{24 * 5};

 private:
  struct Job {
    smtp::Envelope envelope;
    std::vector<spool::RecipientState> states;
    std::shared_ptr<const std::string> content;  // null: read from the spool
    uint64_t content_size = 0;
    // Mailboxes this message has been delivered to, by any recipient and any attempt: a
    // mailbox named twice (an alias and one of its members, two aliases sharing a member)
    // gets one copy, as with Postfix's duplicate elimination, and a retry of the other
    // targets of an alias does not deliver to its local members again. In memory only:
    // after a restart they may get one duplicate, which the durability contract allows; a
    // copy per retry for days would not be.
    std::set<std::string> delivered_targets;
  };

  void run();
  void process(Job& job);
  // One attempt for recipient `i`; updates its state and writes the tracking events.
  void attempt(Job& job, size_t i, const std::string& content, spool::RecipientState& state);
  void track(const Job& job, const char* event, std::string_view recipient,
             std::string_view related, const std::string& status, std::string_view context);

  QueueServices s_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;  // signalled when a worker finishes a job
  std::deque<Job> ready_;
  std::multimap<int64_t, Job> waiting_;  // by next attempt, Unix µs
  unsigned active_ = 0;                  // jobs being processed by workers
  bool stopping_ = false;
  uint64_t delivered_ = 0, deferred_ = 0, failed_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace sluice::queue
