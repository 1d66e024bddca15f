// queue/queue_manager.hpp: takes every committed message to its recipients — local ones into
// Maildirs through alias expansion, remote ones through send connectors — one queue per next
// hop, as Exchange's delivery queues: the local mailboxes, a domain (MX routing), a
// connector's smart hosts, or Unreachable when no send connector serves the domain.
// Owns: scheduling (per-next-hop connections, messages per connection, message rate, Retry
// of a whole next hop after a connection-level failure), per-recipient state transitions
// written to the spool before the next decision, retry intervals and expiry ([queue]),
// delay notices and bounces (built by dsn.hpp, written to the spool as new messages),
// forwarding of alias members outside the accepted domains (as a new message), the
// tracking events DELIVER/SEND/DEFER/FAIL/EXPIRE/DSN, recovery from the spool at start, and
// the snapshot views of queues and messages.
// Not: the Maildir format (delivery/maildir), alias rules (routing/local_directory), send
// connector selection (routing/send_routing), DNS and SMTP (Transport, delivery/), what a
// reply means (delivery/outcome), storage (spool/).
// RFC 5321 §4.5.4.1 (retry strategy: a queue per destination, intervals that grow), §4.5.5
// and §6.1 (never a bounce to the null reverse path), RFC 3461 (NOTIFY), RFC 3464 (DSN).
//
// Threads. Every decision runs on ONE event loop (the io_context given, run by a thread the
// queue owns) under one mutex, so the state has one writer; snapshot calls read it under that
// mutex from any thread. Spool writes are made on that loop (a synced RocksDB write: the
// loop is the queue's own, never a session's). Maildir delivery blocks on fsync and runs on
// `local_workers` threads; their results come back to the loop. Outbound deliveries are
// handed to the Transport, whose completions come back to the loop as well.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "base/queue_id.hpp"
#include "config/config.hpp"
#include "delivery/maildir_delivery.hpp"
#include "log/metrics.hpp"
#include "log/tracking_log.hpp"
#include "queue/dsn.hpp"
#include "queue/transport.hpp"
#include "routing/local_directory.hpp"
#include "smtp/envelope.hpp"
#include "spool/store.hpp"

namespace asio {
class io_context;
}

namespace sluice::queue {

struct QueueServices {
  spool::Store& store;
  const routing::LocalDirectory& directory;
  delivery::MaildirDelivery& maildir;
  log::TrackingLog& tracking;
  const Clock& clock;
  asio::io_context& loop;   // run by the queue's own thread from construction to stop()
  Transport& transport;     // outbound deliveries; completions may come on any thread
  QueueIdGenerator& ids;    // for DSNs and forwarded copies; used on the loop only
  log::MailMetrics* metrics = nullptr;  // delivered/deferred/bounced, delays, DSNs; null = none
};

struct QueueOptions {
  unsigned local_workers = 2;
  // stop() waits this long for outbound connections in flight before it stops the loop;
  // their recipients then stay as the spool last recorded them (delivered again later: a
  // duplicate at worst, never a loss).
  std::chrono::milliseconds shutdown_grace{30'000};
};

// Exchange's Get-Queue vocabulary (ecosystem.md §2c).
enum class DeliveryType { smtp_delivery_to_mailbox, dns_connector_delivery, smart_host_connector_delivery, unreachable };
enum class QueueStatus { active, ready, retry, suspended };
const char* to_string(DeliveryType t);  // "SmtpDeliveryToMailbox", "DnsConnectorDelivery", ...
const char* to_string(QueueStatus s);   // "Active", "Ready", "Retry", "Suspended"

struct QueueInfo {
  std::string identity;  // the next hop: "Local", "example.net", "smarthost:partner", "Unreachable"
  DeliveryType delivery_type = DeliveryType::unreachable;
  QueueStatus status = QueueStatus::ready;
  std::string next_hop_connector;  // send connector name, "" for local and Unreachable
  size_t message_count = 0;        // messages with at least one recipient waiting here
  unsigned active_connections = 0;
  std::string last_error;
  uint32_t retry_count = 0;
  std::optional<SystemTime> first_retry_time, last_retry_time, next_retry_time;
  double incoming_rate = 0, outgoing_rate = 0;  // messages per second over the last minute
};

struct MessageRecipientInfo {
  std::string address;
  std::string queue;  // the next hop it waits in
  spool::RecipientState state;
};

// One delivery attempt of some recipients of a message, as the admin API shows it. Kept in
// memory (the last kMaxAttempts per message); after a restart only the spool's per-recipient
// last reply remains.
struct AttemptInfo {
  SystemTime time;
  std::vector<std::string> recipients;
  std::string queue;                 // the next hop
  std::string connector;             // send connector; "" for local delivery
  std::string remote_host, remote_ip;
  uint16_t port = 0;
  std::string tls;                   // "TLSv1.3 TLS_AES_256_GCM_SHA384"; "" for none
  std::string reply;                 // the reply (or local error) that decided it
  std::string status;                // "delivered", "deferred", "failed"
  int64_t latency_ms = 0;
};

struct MessageInfo {
  std::string queue_id;
  std::string from;  // "" for the null sender
  std::string message_id;
  uint64_t size = 0;
  std::optional<SystemTime> date_received, expiration_time;
  std::string last_error;
  uint32_t retry_count = 0;
  bool suspended = false;  // by an administrator: no attempts until resumed (not kept over a restart)
  std::vector<MessageRecipientInfo> recipients;
  std::vector<AttemptInfo> attempts;  // oldest first
};

struct MessageFilter {
  std::string queue;     // only messages with a recipient in this queue; "" = any
  std::string queue_id;  // exactly this message; "" = any
};

class QueueManager {
 public:
  struct Stats {
    uint64_t delivered = 0, deferred = 0, failed = 0, dsns = 0;
    size_t ready = 0, waiting = 0;  // messages with work due now / only later
  };

  // The local mailboxes' queue.
  static constexpr std::string_view kLocalQueue = "Local";

  // Starts the loop thread and the local workers. `config` supplies [queue] and the send
  // connectors; server.hostname is the Reporting-MTA of DSNs.
  QueueManager(QueueServices services, std::shared_ptr<const config::Config> config, QueueOptions options = {});
  ~QueueManager();  // stop() and join
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  // At start: every message the spool holds, with its recipient states.
  void recover(std::vector<spool::SpooledMessage> messages);
  // A message that was just committed (all recipients pending); its content is kept in
  // memory so the first attempt does not read it back.
  void enqueue(smtp::Message&& message);
  // A new configuration (reload): recipients not in flight are routed again.
  void set_config(std::shared_ptr<const config::Config> config);
  // Finishes the attempts in progress (outbound ones up to shutdown_grace), starts no new
  // ones, leaves the rest in the spool for the next start. Idempotent.
  void stop();

  Stats stats() const;

  // Administrative actions (admin API, any thread). Each takes effect at once, under the
  // queue's lock, and fails with ErrorClass::permanent when there is no such queue or message.
  // Suspension lives in memory: a restart resumes everything.
  static constexpr size_t kMaxAttempts = 20;
  // A suspended queue starts no attempts; those in flight finish.
  Result<void> suspend_queue(std::string_view name);
  Result<void> resume_queue(std::string_view name);
  // Everything waiting in the queue is due now, a queue in Retry included.
  Result<void> retry_queue(std::string_view name);
  Result<void> suspend_message(std::string_view queue_id);
  Result<void> resume_message(std::string_view queue_id);
  // Every waiting recipient due now (its queues in Retry get their one attempt now).
  Result<void> retry_message(std::string_view queue_id);
  // Takes the message out of the queue; its waiting recipients are failed with `550 5.0.0`.
  // With `ndr`, the sender gets a failure DSN (as NOTIFY allows); without, the message is
  // deleted from the spool silently. Fails (transient) while an attempt is in flight.
  Result<void> remove_message(std::string_view queue_id, bool ndr);

  std::vector<QueueInfo> queues() const;
  std::vector<MessageInfo> messages(const MessageFilter& filter = {}) const;

  // Waits until nothing is being attempted and nothing is due (messages may wait for a later
  // retry), or until `deadline`; true if idle. For tests and an orderly drain.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  // Reads the clock again now (a clock that jumps: a test's, an admin's "retry now").
  void wake();

 private:
  struct Entry;
  struct Hop;
  struct LocalJob;
  struct LocalResult;
  struct Batch;

  // Loop-thread handlers; every one holds mu_.
  void post(std::function<void()> fn);
  void admit(std::unique_ptr<Entry> entry);
  void route(Entry& e);
  Hop& hop_named(const std::string& name, const routing::NextHop* next_hop);
  void schedule();
  void arm_timer(int64_t at_us);
  bool ensure_content(Entry& e);
  void start_local(Entry& e, std::vector<size_t> indexes);
  void run_worker();
  LocalResult deliver_local(const LocalJob& job);
  void on_local_done(LocalResult result);
  bool start_batch(Hop& hop, int64_t now);
  void on_batch_done(const std::shared_ptr<Batch>& batch, delivery::BatchResult result);
  void defer_unreachable(Hop& hop, int64_t now);
  void maintain(Entry& e, int64_t now);
  // Builds and writes (synced) one notice about `recipients` of `e`, and admits it as a new
  // message. False only when it could not be written (tried again later).
  bool write_dsn(Entry& e, const std::vector<size_t>& indexes, std::vector<DsnRecipient>& recipients,
                 std::string_view kind);
  void persist(Entry& e);
  void forward(Entry& e, size_t index, const std::vector<std::string>& targets, int64_t now);
  void set_state(Entry& e, size_t i, spool::RecipientStatus status, const std::string& reply, int64_t now);
  void record_attempt(Entry& e, AttemptInfo attempt);
  Entry* find_entry(std::string_view queue_id);
  void track(const Entry& e, const char* event, const char* source, std::string_view recipient,
             std::string_view related, const std::string& status, std::string_view context,
             std::string_view connector = {}, std::string_view server_ip = {},
             const delivery::AttemptReport* attempt = nullptr);
  int64_t now_us() const;
  void settle();

  QueueServices s_;
  QueueOptions options_;
  std::shared_ptr<const config::Config> config_;

  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // by queue id: arrival order
  std::map<std::string, std::unique_ptr<Hop>> hops_;
  unsigned pending_ = 0;       // posted handlers not yet run + local jobs + batches in flight
  unsigned batches_ = 0;       // outbound batches in flight
  int64_t next_wake_us_ = 0;   // 0: nothing waits
  bool stopping_ = false;
  Stats stats_;
  struct TimerState;
  std::unique_ptr<TimerState> timer_;

  // Local workers: their own queue and lock, so a Maildir fsync never holds mu_.
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<LocalJob> jobs_;
  bool jobs_stop_ = false;
  unsigned local_busy_ = 0;  // loop side: local jobs handed out and not yet back (under mu_)
  std::vector<std::thread> workers_;
  std::thread loop_thread_;
};

}  // namespace sluice::queue
