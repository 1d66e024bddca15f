// queue/queue_manager.cpp: see queue_manager.hpp.
//
// Durability (DESIGN.md): every outcome is written to the spool (update_recipients, synced)
// in the same loop turn that learns it, before the message is scheduled again; a DSN or a
// forwarded copy is written (synced) before the flags that asked for it are cleared; the
// message is removed only when every recipient is final and no notice is owed. A crash
// between a delivery and its write delivers that recipient again: a duplicate, never a loss.
//
// Scheduling, once per loop turn that changed anything (schedule()):
//   1. per message: expiry (FAIL 4.4.7), the one delay notice, the DSNs owed, removal;
//      local recipients that are due go to the workers (one job per message);
//   2. per next hop: Unreachable recipients are deferred with the reason; otherwise
//      connections are started while the hop is under max_connections and its message rate,
//      each carrying up to max_messages_per_connection messages (their due recipients of
//      this hop). A hop in Retry gets ONE connection at NextRetryTime; its outcome decides
//      whether the hop is usable again (Exchange's queue retry).
//   3. the timer is set for the earliest time anything becomes due.
#include "queue/queue_manager.hpp"

#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cstdio>

#include "queue/dsn.hpp"
#include "routing/send_routing.hpp"

namespace sluice::queue {

namespace {

using spool::RecipientStatus;

int64_t to_us(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
int64_t us(std::chrono::seconds s) { return std::chrono::duration_cast<std::chrono::microseconds>(s).count(); }
SystemTime from_us(int64_t v) { return SystemTime(std::chrono::microseconds(v)); }

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

bool is_final(RecipientStatus s) { return s == RecipientStatus::delivered || s == RecipientStatus::failed; }

Reply reply_of(const Error& e, int code, const char* enhanced) {
  if (e.reply) return *e.reply;
  return Reply(code, enhanced, e.context);
}

// "5d", "4h", "30m", "45s": how long, in the largest whole unit.
std::string span(std::chrono::seconds s) {
  const auto n = s.count();
  if (n > 0 && n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n > 0 && n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n > 0 && n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

}  // namespace

const char* to_string(DeliveryType t) {
  switch (t) {
    case DeliveryType::smtp_delivery_to_mailbox: return "SmtpDeliveryToMailbox";
    case DeliveryType::dns_connector_delivery: return "DnsConnectorDelivery";
    case DeliveryType::smart_host_connector_delivery: return "SmartHostConnectorDelivery";
    case DeliveryType::unreachable: return "Unreachable";
  }
  return "Undefined";
}

const char* to_string(QueueStatus s) {
  switch (s) {
    case QueueStatus::active: return "Active";
    case QueueStatus::ready: return "Ready";
    case QueueStatus::retry: return "Retry";
    case QueueStatus::suspended: return "Suspended";
  }
  return "Ready";
}

struct QueueManager::Entry {
  smtp::Envelope envelope;
  std::vector<spool::RecipientState> states;
  std::shared_ptr<const std::string> content;  // null: read from the spool when needed
  uint64_t content_size = 0;
  std::vector<std::string> hop;  // per recipient: the next hop it waits in
  std::vector<char> busy;        // per recipient: in an attempt now
  // Mailboxes (and forwarded addresses, "fwd:" + address) this message already reached, by
  // any recipient and any attempt: a mailbox named twice (an alias and its member) gets one
  // copy, and a retry of an alias does not deliver to its members again. In memory only:
  // after a restart one duplicate is possible, which the durability contract allows.
  std::set<std::string> delivered_targets;
  int64_t retry_notices_us = 0;  // a DSN could not be written: try again then
  bool removed = false;
  bool suspended = false;             // by an administrator (admin API)
  std::deque<AttemptInfo> attempts;   // the last kMaxAttempts, for the admin views

  bool any_busy() const { return std::any_of(busy.begin(), busy.end(), [](char b) { return b != 0; }); }
};

struct QueueManager::Hop {
  std::string name;
  DeliveryType type = DeliveryType::unreachable;
  routing::NextHop next_hop;  // its connector points into config_
  QueueStatus status = QueueStatus::ready;
  std::string last_error;
  uint32_t retry_count = 0;
  int64_t first_retry_us = 0, last_retry_us = 0, next_retry_us = 0;
  unsigned active = 0;          // connections (or local jobs) in flight
  std::deque<int64_t> started;  // message starts within the rate window (max_message_rate)
  std::deque<int64_t> incoming, outgoing;  // the last minute, for the rates
  std::set<std::string> members;           // message ids with a recipient routed here
  bool suspended = false;  // by an administrator; kept apart from `status`, which attempts rewrite
};

struct QueueManager::LocalJob {
  std::string id;
  const smtp::Envelope* envelope = nullptr;  // the entry's; stable while its recipients are busy
  uint64_t content_size = 0;
  std::shared_ptr<const std::string> content;
  std::vector<size_t> indexes;
  std::set<std::string> delivered_targets;
};

struct QueueManager::LocalResult {
  struct One {
    size_t index = 0;
    RecipientStatus status = RecipientStatus::deferred;
    std::string reply;
    std::vector<std::string> forward;  // remote alias targets still to be sent on
  };
  std::string id;
  std::vector<One> results;
  std::set<std::string> delivered_targets;
};

struct QueueManager::Batch {
  std::string hop;
  std::shared_ptr<const config::Config> config;  // keeps next_hop.connector alive
  routing::NextHop next_hop;
  std::vector<std::string> ids;
  std::vector<std::shared_ptr<const std::string>> contents;
  std::vector<delivery::DeliveryJob> jobs;
  bool probe = false;
};

struct QueueManager::TimerState {
  explicit TimerState(asio::io_context& loop) : timer(loop), guard(asio::make_work_guard(loop)) {}
  asio::steady_timer timer;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  int64_t armed_us = 0;
};

QueueManager::QueueManager(QueueServices services, std::shared_ptr<const config::Config> config, QueueOptions options)
    : s_(services), options_(options), config_(std::move(config)), timer_(std::make_unique<TimerState>(services.loop)) {
  SLUICE_ASSERT(config_ != nullptr);
  hop_named(std::string(kLocalQueue), nullptr);
  const unsigned workers = std::max(1u, options_.local_workers);
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { run_worker(); });
  loop_thread_ = std::thread([this] {
    for (;;) {
      try {
        s_.loop.run();
        return;
      } catch (const std::exception& e) {
        // The outermost frame of the queue's loop: a handler's exception must not end
        // delivery for good.
        std::fprintf(stderr, "sluiced: queue loop: unexpected exception: %s\n", e.what());
      }
    }
  });
}

QueueManager::~QueueManager() { stop(); }

int64_t QueueManager::now_us() const { return to_us(s_.clock.now()); }

void QueueManager::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    ++pending_;
  }
  asio::post(s_.loop, [this, fn = std::move(fn)] {
    std::unique_lock lock(mu_);
    --pending_;
    fn();
    settle();
  });
}

void QueueManager::settle() {
  if (!stopping_) schedule();
  idle_.notify_all();
}

void QueueManager::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !loop_thread_.joinable()) return;
    stopping_ = true;
  }
  {
    std::lock_guard lock(jobs_mu_);
    jobs_stop_ = true;
  }
  jobs_cv_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  {
    std::unique_lock lock(mu_);
    // Jobs no worker took: their recipients stay as the spool has them.
    std::lock_guard jl(jobs_mu_);
    for (const LocalJob& job : jobs_) {
      --pending_;
      --local_busy_;
      auto it = entries_.find(job.id);
      if (it != entries_.end())
        for (size_t i : job.indexes) it->second->busy[i] = 0;
    }
    jobs_.clear();
    // Results of the local attempts in progress are posted; outbound ones get their grace.
    idle_.wait_for(lock, options_.shutdown_grace, [this] { return pending_ == 0; });
  }
  if (loop_thread_.joinable()) {
    asio::post(s_.loop, [this] {
      timer_->timer.cancel();
      timer_->guard.reset();
      s_.loop.stop();
    });
    loop_thread_.join();
  }
}

void QueueManager::wake() {
  post([] {});
}

bool QueueManager::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_.wait_until(lock, deadline, [this] {
    return pending_ == 0 && (next_wake_us_ == 0 || next_wake_us_ > now_us());
  });
}

void QueueManager::recover(std::vector<spool::SpooledMessage> messages) {
  auto shared = std::make_shared<std::vector<spool::SpooledMessage>>(std::move(messages));
  post([this, shared] {
    for (auto& m : *shared) {
      auto e = std::make_unique<Entry>();
      e->envelope = std::move(m.envelope);
      e->states = std::move(m.recipients);
      e->content_size = m.content_size;
      admit(std::move(e));
    }
  });
}

void QueueManager::enqueue(smtp::Message&& message) {
  auto e = std::make_shared<std::unique_ptr<Entry>>(std::make_unique<Entry>());
  (*e)->states.resize(message.envelope.recipients.size());
  (*e)->envelope = std::move(message.envelope);
  (*e)->content_size = message.content.size();
  (*e)->content = std::make_shared<const std::string>(std::move(message.content));
  post([this, e] { admit(std::move(*e)); });
}

void QueueManager::set_config(std::shared_ptr<const config::Config> config) {
  post([this, config = std::move(config)] {
    config_ = config;
    for (auto& [name, hop] : hops_) {
      hop->members.clear();
      if (hop->next_hop.connector) hop->next_hop.connector = nullptr;  // may dangle now
    }
    for (auto& [id, e] : entries_) route(*e);
  });
}

QueueManager::Hop& QueueManager::hop_named(const std::string& name, const routing::NextHop* next_hop) {
  auto& slot = hops_[name];
  if (!slot) {
    slot = std::make_unique<Hop>();
    slot->name = name;
  }
  if (next_hop == nullptr) {
    slot->type = DeliveryType::smtp_delivery_to_mailbox;
  } else {
    slot->next_hop = *next_hop;
    slot->type = next_hop->unreachable() ? DeliveryType::unreachable
                 : next_hop->smart_host  ? DeliveryType::smart_host_connector_delivery
                                         : DeliveryType::dns_connector_delivery;
  }
  return *slot;
}

void QueueManager::route(Entry& e) {
  const std::string& id = e.envelope.queue_id;
  e.hop.resize(e.states.size());
  e.busy.resize(e.states.size(), 0);
  for (size_t i = 0; i < e.states.size(); ++i) {
    const std::string& address = e.envelope.recipients[i].address;
    if (s_.directory.lookup(address) != routing::LookupResult::not_local) {
      e.hop[i] = std::string(kLocalQueue);
    } else {
      routing::NextHop nh = routing::next_hop_for(*config_, domain_of(address));
      e.hop[i] = nh.name;
      hop_named(nh.name, &nh);
    }
    if (!is_final(e.states[i].status)) hops_[e.hop[i]]->members.insert(id);
  }
}

void QueueManager::admit(std::unique_ptr<Entry> entry) {
  Entry& e = *entry;
  const std::string id = e.envelope.queue_id;
  if (entries_.contains(id)) return;  // recovered and enqueued both: once is enough
  route(e);
  const int64_t now = now_us();
  std::set<std::string> hops(e.hop.begin(), e.hop.end());
  for (const auto& h : hops) hops_[h]->incoming.push_back(now);
  entries_.emplace(id, std::move(entry));
}

bool QueueManager::ensure_content(Entry& e) {
  if (e.content) return true;
  auto content = s_.store.read_content(e.envelope.queue_id);
  if (content) {
    e.content = std::make_shared<const std::string>(std::move(*content));
    return true;
  }
  // Not there at all (removed, or moved aside as damaged): the message is no longer ours to
  // deliver. Anything else (an I/O error) may pass: try again later.
  const bool gone = content.error().klass == ErrorClass::permanent;
  std::fprintf(stderr, "sluiced: %s: cannot read message content: %s%s\n", e.envelope.queue_id.c_str(),
               content.error().message().c_str(), gone ? "; dropped from the queue" : "");
  if (gone && !e.any_busy()) {
    e.removed = true;
  } else {
    const int64_t later = now_us() + us(config_->queue.retry_interval(1));
    for (size_t i = 0; i < e.states.size(); ++i)
      if (!is_final(e.states[i].status) && !e.busy[i]) e.states[i].next_attempt_us = std::max(e.states[i].next_attempt_us, later);
  }
  return false;
}

// --- scheduling -------------------------------------------------------------------------

void QueueManager::schedule() {
  const int64_t now = now_us();
  int64_t wake = 0;
  auto consider = [&](int64_t t) {
    if (t > now && (wake == 0 || t < wake)) wake = t;
  };
  const config::QueueSettings& qs = config_->queue;

  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = *it->second;
    if (!e.removed) maintain(e, now);
    if (e.removed) {
      for (const auto& h : e.hop) hops_[h]->members.erase(it->first);
      it = entries_.erase(it);
      continue;
    }
    std::vector<size_t> local;
    bool open = false;
    for (size_t i = 0; i < e.states.size(); ++i) {
      const auto& st = e.states[i];
      if (is_final(st.status) || e.busy[i]) continue;
      open = true;
      const Hop& h = *hops_[e.hop[i]];
      if (e.suspended || h.suspended) continue;  // resume_*() wakes the queue
      int64_t due = st.next_attempt_us;
      if (h.status == QueueStatus::retry) due = std::max(due, h.next_retry_us);
      if (due > now) consider(due);
      else if (e.hop[i] == kLocalQueue) local.push_back(i);
    }
    if (open && e.envelope.received_at_us > 0) {
      consider(e.envelope.received_at_us + us(qs.expire_after) + 1);
      consider(e.envelope.received_at_us + us(qs.delay_notice_after));
    }
    if (e.retry_notices_us > 0) consider(e.retry_notices_us);
    if (!local.empty() && local_busy_ < std::max(1u, options_.local_workers)) start_local(e, std::move(local));
    if (e.removed) continue;  // its content could not be read; erased at the next pass
    ++it;
  }

  for (auto& [name, hop] : hops_) {
    if (name == kLocalQueue) continue;
    if (hop->type == DeliveryType::unreachable) {
      defer_unreachable(*hop, now);
    } else if (hop->next_hop.connector != nullptr) {
      while (start_batch(*hop, now)) {
      }
      if (hop->status == QueueStatus::retry && hop->active == 0) consider(hop->next_retry_us);
      const config::MessageRate& rate = hop->next_hop.connector->max_message_rate;
      if (!rate.unlimited() && hop->started.size() >= rate.count) consider(hop->started.front() + us(rate.per));
    }
    if (hop->status == QueueStatus::active && hop->active == 0) hop->status = QueueStatus::ready;
  }
  next_wake_us_ = wake;
  arm_timer(wake);
}

void QueueManager::arm_timer(int64_t at_us) {
  if (at_us == timer_->armed_us) return;
  timer_->armed_us = at_us;
  timer_->timer.cancel();
  if (at_us == 0) return;
  // The clock may be a test's: the real wait is what the clock says is left, and wake()
  // covers a clock that jumps.
  const auto wait = std::chrono::microseconds(std::max<int64_t>(at_us - now_us(), 1000));
  timer_->timer.expires_after(wait);
  timer_->timer.async_wait([this, at_us](const std::error_code& ec) {
    if (ec) return;
    std::unique_lock lock(mu_);
    if (timer_->armed_us == at_us) timer_->armed_us = 0;
    settle();
  });
}

// --- local delivery -----------------------------------------------------------------------

void QueueManager::start_local(Entry& e, std::vector<size_t> indexes) {
  if (!ensure_content(e)) return;
  LocalJob job;
  job.id = e.envelope.queue_id;
  job.envelope = &e.envelope;
  job.content_size = e.content_size;
  job.content = e.content;
  job.indexes = std::move(indexes);
  job.delivered_targets = e.delivered_targets;
  for (size_t i : job.indexes) e.busy[i] = 1;
  ++local_busy_;
  ++pending_;
  hops_[std::string(kLocalQueue)]->active++;
  {
    std::lock_guard lock(jobs_mu_);
    jobs_.push_back(std::move(job));
  }
  jobs_cv_.notify_one();
}

void QueueManager::run_worker() {
  for (;;) {
    LocalJob job;
    {
      std::unique_lock lock(jobs_mu_);
      jobs_cv_.wait(lock, [this] { return jobs_stop_ || !jobs_.empty(); });
      if (jobs_stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    auto result = std::make_shared<LocalResult>(deliver_local(job));
    // Counted in pending_ since start_local; the handler takes that count back.
    asio::post(s_.loop, [this, result] {
      std::unique_lock lock(mu_);
      --pending_;
      on_local_done(std::move(*result));
      settle();
    });
  }
}

QueueManager::LocalResult QueueManager::deliver_local(const LocalJob& job) {
  LocalResult out;
  out.id = job.id;
  out.delivered_targets = job.delivered_targets;
  const smtp::Envelope& env = *job.envelope;
  for (size_t i : job.indexes) {
    const std::string& rcpt = env.recipients[i].address;
    LocalResult::One one;
    one.index = i;
    auto targets = s_.directory.expand(rcpt);
    if (!targets) {
      const Error& e = targets.error();
      one.status = e.klass == ErrorClass::transient ? RecipientStatus::deferred : RecipientStatus::failed;
      one.reply = (e.klass == ErrorClass::transient ? reply_of(e, 451, "4.3.0") : reply_of(e, 550, "5.1.1")).text();
      out.results.push_back(std::move(one));
      continue;
    }
    one.status = RecipientStatus::delivered;
    one.reply = "250 2.0.0 Delivered";
    for (const std::string& target : *targets) {
      if (s_.directory.lookup(target) != routing::LookupResult::local_mailbox) {
        if (!out.delivered_targets.contains("fwd:" + target)) one.forward.push_back(target);
        continue;
      }
      if (out.delivered_targets.contains(target)) continue;  // this message is already there
      auto path = s_.maildir.deliver(target, env.mail_from, *job.content);
      if (!path) {
        const Error& e = path.error();
        one.status = e.klass == ErrorClass::permanent ? RecipientStatus::failed : RecipientStatus::deferred;
        one.reply = (e.klass == ErrorClass::permanent ? reply_of(e, 550, "5.2.0") : reply_of(e, 451, "4.3.0")).text();
        one.forward.clear();
        break;
      }
      out.delivered_targets.insert(target);
      log::TrackingEvent t;
      t.event_id = "DELIVER";
      t.source = "STOREDRIVER";
      t.queue_id = env.queue_id;
      t.message_id = env.message_id;
      t.sender = env.mail_from;
      t.return_path = env.mail_from.empty() ? "<>" : env.mail_from;
      t.recipient = target;
      t.related_recipient = target == rcpt ? "" : rcpt;
      t.recipient_status = "250 2.0.0 Delivered to Maildir";
      t.source_context = path->filename().string();
      t.total_bytes = job.content_size;
      t.recipient_count = static_cast<uint32_t>(env.recipients.size());
      t.client_ip = env.client_ip;
      t.client_hostname = env.client_helo;
      t.connector = env.connector;
      s_.tracking.write(t);
    }
    out.results.push_back(std::move(one));
  }
  return out;
}

void QueueManager::on_local_done(LocalResult result) {
  --local_busy_;
  hops_[std::string(kLocalQueue)]->active--;
  auto it = entries_.find(result.id);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  e.delivered_targets.insert(result.delivered_targets.begin(), result.delivered_targets.end());
  const int64_t now = now_us();
  for (auto& one : result.results) {
    e.busy[one.index] = 0;
    if (one.status == RecipientStatus::delivered && !one.forward.empty()) {
      forward(e, one.index, one.forward, now);
      continue;
    }
    set_state(e, one.index, one.status, one.reply, now);
  }
  if (!e.any_busy()) e.content.reset();  // no body held in memory while it waits
  persist(e);
}

void QueueManager::forward(Entry& e, size_t index, const std::vector<std::string>& targets, int64_t now) {
  // Alias members outside the accepted domains travel as a message of their own, as
  // Postfix's local(8) resubmits forwarded mail: each gets its own next hop, retries and
  // bounces, and the alias recipient here is done.
  const smtp::Recipient& original = e.envelope.recipients[index];
  smtp::Message m;
  m.envelope = e.envelope;
  m.envelope.queue_id = s_.ids.next();
  m.envelope.recipients.clear();
  for (const auto& t : targets)
    m.envelope.recipients.push_back(
        smtp::Recipient{t, original.notify, original.orcpt.empty() ? "rfc822;" + original.address : original.orcpt});
  m.envelope.received_at_us = now;
  m.content = e.content ? *e.content : std::string();
  smtp::Message* batch[] = {&m};
  auto w = s_.store.write_messages(batch);
  if (!w) {
    set_state(e, index, RecipientStatus::deferred, reply_of(w.error(), 451, "4.3.0").text(), now);
    return;
  }
  std::string list;
  for (const auto& t : targets) {
    e.delivered_targets.insert("fwd:" + t);
    track(e, "REDIRECT", "ROUTING", t, original.address, "250 2.1.5 Forwarded as " + m.envelope.queue_id,
          m.envelope.queue_id);
    list += (list.empty() ? "" : ", ") + t;
  }
  set_state(e, index, RecipientStatus::delivered, "250 2.1.5 Forwarded to " + list, now);
  auto fwd = std::make_unique<Entry>();
  fwd->states.resize(m.envelope.recipients.size());
  fwd->content_size = m.content.size();
  fwd->content = std::make_shared<const std::string>(std::move(m.content));
  fwd->envelope = std::move(m.envelope);
  admit(std::move(fwd));
}

// --- outbound -----------------------------------------------------------------------------

bool QueueManager::start_batch(Hop& hop, int64_t now) {
  if (hop.status == QueueStatus::suspended || hop.suspended) return false;
  const config::SendConnector& c = *hop.next_hop.connector;
  bool probe = false;
  if (hop.status == QueueStatus::retry) {
    // One attempt at NextRetryTime; the rest of the queue waits for its outcome.
    if (now < hop.next_retry_us || hop.active > 0) return false;
    probe = true;
  }
  if (hop.active >= std::max(1u, c.max_connections)) return false;
  size_t limit = std::max(1u, c.max_messages_per_connection);
  if (!c.max_message_rate.unlimited()) {
    while (!hop.started.empty() && hop.started.front() + us(c.max_message_rate.per) <= now) hop.started.pop_front();
    if (hop.started.size() >= c.max_message_rate.count) return false;
    limit = std::min<size_t>(limit, c.max_message_rate.count - hop.started.size());
  }

  auto batch = std::make_shared<Batch>();
  batch->hop = hop.name;
  batch->config = config_;
  batch->next_hop = hop.next_hop;
  batch->probe = probe;
  std::vector<std::string> stale;
  for (const std::string& id : hop.members) {
    if (batch->jobs.size() >= limit) break;
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->removed) {
      stale.push_back(id);
      continue;
    }
    Entry& e = *it->second;
    std::vector<size_t> due;
    bool waits_here = false;
    for (size_t i = 0; i < e.states.size(); ++i) {
      if (e.hop[i] != hop.name || is_final(e.states[i].status)) continue;
      waits_here = true;
      if (!e.busy[i] && e.states[i].next_attempt_us <= now) due.push_back(i);
    }
    if (!waits_here) stale.push_back(id);
    if (e.suspended || due.empty() || !ensure_content(e)) continue;
    for (size_t i : due) e.busy[i] = 1;
    batch->ids.push_back(id);
    batch->contents.push_back(e.content);
    batch->jobs.push_back(delivery::DeliveryJob{&e.envelope, e.content.get(), std::move(due)});
  }
  for (const auto& id : stale) hop.members.erase(id);
  if (batch->jobs.empty()) return false;

  ++hop.active;
  ++batches_;
  ++pending_;
  for (size_t n = 0; n < batch->jobs.size(); ++n) hop.started.push_back(now);
  if (hop.status == QueueStatus::ready) hop.status = QueueStatus::active;
  s_.transport.deliver(batch->next_hop, batch->jobs, [this, batch](delivery::BatchResult result) {
    // Any thread, maybe inside deliver() itself: never take mu_ here.
    auto r = std::make_shared<delivery::BatchResult>(std::move(result));
    asio::post(s_.loop, [this, batch, r] {
      std::unique_lock lock(mu_);
      --pending_;
      on_batch_done(batch, std::move(*r));
      settle();
    });
  });
  return !probe;
}

void QueueManager::on_batch_done(const std::shared_ptr<Batch>& batch, delivery::BatchResult result) {
  --batches_;
  const int64_t now = now_us();
  Hop& hop = *hops_[batch->hop];
  --hop.active;
  const auto& sf = result.attempt.session_failure;
  const bool hop_retry = sf.has_value() && !sf->permanent;
  if (hop_retry) {
    // Nothing could be tried on any target: the whole next hop waits (Exchange: the queue
    // goes to Retry with the error as LastError; one attempt at NextRetryTime).
    ++hop.retry_count;
    if (hop.first_retry_us == 0) hop.first_retry_us = now;
    hop.last_retry_us = now;
    hop.next_retry_us = now + us(batch->config->queue.retry_interval(hop.retry_count));
    hop.last_error = sf->reply.text();
    hop.status = QueueStatus::retry;
  } else {
    if (sf) hop.last_error = sf->reply.text();
    hop.retry_count = 0;
    hop.first_retry_us = hop.next_retry_us = 0;
    hop.status = hop.active > 0 ? QueueStatus::active : QueueStatus::ready;
  }
  const auto& a = result.attempt;
  std::string where;
  if (!a.remote_host.empty() || !a.remote_ip.empty())
    where = a.remote_host + "[" + a.remote_ip + "]:" + std::to_string(a.port);
  const std::string connector = batch->next_hop.connector ? batch->next_hop.connector->name : "";
  if (s_.metrics && !a.remote_ip.empty()) {
    const std::string protocol = !a.tls_version.empty() ? a.tls_version : a.tls.substr(0, a.tls.find(' '));
    s_.metrics->tls_outbound(connector, protocol);
  }

  for (size_t j = 0; j < batch->jobs.size(); ++j) {
    auto it = entries_.find(batch->ids[j]);
    if (it == entries_.end()) continue;
    Entry& e = *it->second;
    std::set<size_t> seen;
    auto apply = [&](size_t i, const delivery::Outcome& o) {
      if (i >= e.states.size() || seen.contains(i)) return;
      seen.insert(i);
      auto& st = e.states[i];
      st.attempts++;
      st.updated_us = now;
      st.last_reply = o.reply.text();
      const smtp::Recipient& rc = e.envelope.recipients[i];
      std::string context = where;
      if (!a.tls.empty()) context += (context.empty() ? "" : " ") + a.tls;
      context += (context.empty() ? "" : " ") + std::string("attempt ") + std::to_string(st.attempts) + ", " +
                 std::to_string(a.latency.count()) + " ms";
      AttemptInfo info;
      info.time = from_us(now);
      info.recipients = {rc.address};
      info.queue = batch->hop;
      info.connector = connector;
      info.remote_host = a.remote_host;
      info.remote_ip = a.remote_ip;
      info.port = a.port;
      info.tls = a.tls;
      info.reply = st.last_reply;
      info.status = o.delivered() ? "delivered" : o.permanent ? "failed" : "deferred";
      info.latency_ms = a.latency.count();
      record_attempt(e, std::move(info));
      if (s_.metrics) {
        if (o.delivered()) s_.metrics->delivered(connector, static_cast<double>(now - e.envelope.received_at_us) / 1e6);
        else if (o.permanent) s_.metrics->bounced(connector);
        else s_.metrics->deferred(connector);
      }
      if (o.delivered()) {
        st.status = RecipientStatus::delivered;
        st.remote_mta = a.remote_host;
        st.dsn_pending = !e.envelope.mail_from.empty() && notify_wants(rc.notify, DsnAction::relayed);
        ++stats_.delivered;
        track(e, "SEND", "SMTP", rc.address, "", st.last_reply, context, connector, a.remote_ip, &a);
      } else if (o.permanent) {
        st.status = RecipientStatus::failed;
        st.remote_mta = a.remote_host;
        st.dsn_pending = !e.envelope.mail_from.empty() && notify_wants(rc.notify, DsnAction::failed);
        ++stats_.failed;
        track(e, "FAIL", "SMTP", rc.address, "", st.last_reply, context, connector, a.remote_ip, &a);
      } else {
        st.status = RecipientStatus::deferred;
        st.remote_mta = a.remote_host;
        st.next_attempt_us =
            hop_retry ? hop.next_retry_us : now + us(batch->config->queue.retry_interval(st.attempts));
        ++stats_.deferred;
        track(e, "DEFER", "SMTP", rc.address, "", st.last_reply, context, connector, a.remote_ip, &a);
      }
    };
    if (j < result.per_job.size())
      for (const auto& ro : result.per_job[j]) apply(ro.index, ro.outcome);
    // A transport that left a recipient out (it must not): the session failure, or a
    // transient local error, so the recipient is retried rather than forgotten.
    const delivery::Outcome fallback =
        sf ? *sf
           : delivery::Outcome{false, delivery::Scope::message,
                               Reply(451, "4.3.0", "Local error: no outcome reported for this recipient"), ""};
    for (size_t i : batch->jobs[j].recipients) apply(i, fallback);
    bool any_sent = false;
    for (size_t i : batch->jobs[j].recipients) {
      e.busy[i] = 0;
      any_sent = any_sent || e.states[i].status == RecipientStatus::delivered;
    }
    if (any_sent) hop.outgoing.push_back(now);
    if (!e.any_busy()) e.content.reset();
    persist(e);
  }
}

void QueueManager::defer_unreachable(Hop& hop, int64_t now) {
  const std::string reason = hop.next_hop.unreachable_reason.empty()
                                 ? std::string("no send connector's address space matches")
                                 : hop.next_hop.unreachable_reason;
  for (auto mit = hop.members.begin(); mit != hop.members.end();) {
    auto it = entries_.find(*mit);
    if (it == entries_.end()) {
      mit = hop.members.erase(mit);
      continue;
    }
    Entry& e = *it->second;
    bool changed = false, waits = false;
    if (hop.suspended || e.suspended) {
      ++mit;
      continue;
    }
    for (size_t i = 0; i < e.states.size(); ++i) {
      if (e.hop[i] != hop.name || is_final(e.states[i].status)) continue;
      waits = true;
      if (e.busy[i] || e.states[i].next_attempt_us > now) continue;
      auto& st = e.states[i];
      st.attempts++;
      st.updated_us = now;
      st.status = RecipientStatus::deferred;
      st.last_reply = Reply(451, "4.4.0", "No route to " + domain_of(e.envelope.recipients[i].address) + ": " + reason).text();
      st.remote_mta.clear();
      st.next_attempt_us = now + us(config_->queue.retry_interval(st.attempts));
      ++stats_.deferred;
      track(e, "DEFER", "ROUTING", e.envelope.recipients[i].address, "", st.last_reply, "Unreachable");
      hop.last_error = st.last_reply;
      hop.status = QueueStatus::retry;
      hop.last_retry_us = now;
      if (hop.first_retry_us == 0) hop.first_retry_us = now;
      ++hop.retry_count;
      hop.next_retry_us = st.next_attempt_us;
      changed = true;
    }
    if (changed) persist(e);
    if (!waits) mit = hop.members.erase(mit);
    else ++mit;
  }
}

// --- per message: state, expiry, notices ----------------------------------------------------

void QueueManager::set_state(Entry& e, size_t i, RecipientStatus status, const std::string& reply, int64_t now) {
  auto& st = e.states[i];
  const smtp::Recipient& rc = e.envelope.recipients[i];
  st.attempts++;
  st.updated_us = now;
  st.status = status;
  st.last_reply = reply;
  st.remote_mta.clear();
  AttemptInfo info;
  info.time = from_us(now);
  info.recipients = {rc.address};
  info.queue = std::string(kLocalQueue);
  info.reply = reply;
  info.status = spool::to_string(status);
  record_attempt(e, std::move(info));
  if (s_.metrics) {
    if (status == RecipientStatus::delivered)
      s_.metrics->delivered("local", static_cast<double>(now - e.envelope.received_at_us) / 1e6);
    else if (status == RecipientStatus::failed) s_.metrics->bounced("local");
    else if (status == RecipientStatus::deferred) s_.metrics->deferred("local");
  }
  switch (status) {
    case RecipientStatus::delivered:
      ++stats_.delivered;
      st.dsn_pending = !e.envelope.mail_from.empty() && notify_wants(rc.notify, DsnAction::delivered);
      break;
    case RecipientStatus::failed:
      ++stats_.failed;
      st.dsn_pending = !e.envelope.mail_from.empty() && notify_wants(rc.notify, DsnAction::failed);
      track(e, "FAIL", "STOREDRIVER", rc.address, "", reply, "local delivery");
      break;
    case RecipientStatus::deferred:
      ++stats_.deferred;
      st.next_attempt_us = now + us(config_->queue.retry_interval(st.attempts));
      track(e, "DEFER", "STOREDRIVER", rc.address, "", reply, "local delivery");
      break;
    case RecipientStatus::pending: break;
  }
}

void QueueManager::maintain(Entry& e, int64_t now) {
  if (stopping_) return;
  const config::QueueSettings& qs = config_->queue;
  const int64_t received = e.envelope.received_at_us;
  bool changed = false;
  // A message without a receive time (0) never expires and gets no delay notice: failing it
  // at the first deferral would be worse than keeping it.
  if (received > 0 && now - received > us(qs.expire_after)) {
    for (size_t i = 0; i < e.states.size(); ++i) {
      auto& st = e.states[i];
      if (is_final(st.status) || e.busy[i]) continue;
      const std::string last = st.last_reply.empty() ? std::string("never attempted") : st.last_reply;
      st.status = RecipientStatus::failed;
      st.updated_us = now;
      // Exchange says "550 4.4.7 QUEUE.Expired"; the last error stays in the text, so the
      // bounce's Diagnostic-Code and the tracking log say why it never went.
      st.last_reply = "550 4.4.7 Message expired: not delivered within " + span(qs.expire_after) + "; last error: " + last;
      st.dsn_pending = !e.envelope.mail_from.empty() && notify_wants(e.envelope.recipients[i].notify, DsnAction::failed);
      ++stats_.failed;
      if (s_.metrics) s_.metrics->bounced("expired");
      track(e, "EXPIRE", "QUEUE", e.envelope.recipients[i].address, "", st.last_reply, "expired");
      track(e, "FAIL", "QUEUE", e.envelope.recipients[i].address, "", st.last_reply, "expired");
      changed = true;
    }
  } else if (received > 0 && now - received >= us(qs.delay_notice_after)) {
    std::vector<size_t> delayed;
    for (size_t i = 0; i < e.states.size(); ++i) {
      const auto& st = e.states[i];
      if (st.status == RecipientStatus::deferred && !st.delay_notified && !e.busy[i]) delayed.push_back(i);
    }
    if (!delayed.empty() && (e.retry_notices_us == 0 || e.retry_notices_us <= now)) {
      std::vector<DsnRecipient> rs;
      for (size_t i : delayed) {
        DsnRecipient r;
        r.index = i;
        r.action = DsnAction::delayed;
        r.reply = e.states[i].last_reply;
        r.remote_mta = e.states[i].remote_mta;
        r.last_attempt = from_us(e.states[i].updated_us);
        r.will_retry_until = from_us(received + us(qs.expire_after));
        rs.push_back(std::move(r));
      }
      if (write_dsn(e, delayed, rs, "delay")) {
        for (size_t i : delayed) e.states[i].delay_notified = true;
        changed = true;
      }
    }
  }
  if (!e.any_busy() && (e.retry_notices_us == 0 || e.retry_notices_us <= now)) {
    std::vector<size_t> owed;
    std::vector<DsnRecipient> rs;
    for (size_t i = 0; i < e.states.size(); ++i) {
      const auto& st = e.states[i];
      if (!st.dsn_pending || !is_final(st.status)) continue;
      owed.push_back(i);
      DsnRecipient r;
      r.index = i;
      r.action = st.status == RecipientStatus::failed ? DsnAction::failed
                 : st.remote_mta.empty()              ? DsnAction::delivered
                                                      : DsnAction::relayed;
      r.reply = st.last_reply;
      r.remote_mta = st.remote_mta;
      r.last_attempt = from_us(st.updated_us);
      if (st.last_reply.rfind("550 4.4.7 ", 0) == 0)
        r.explanation = "The message stayed in the queue for " + span(qs.expire_after) +
                        " without being delivered, so the mail system gave up.";
      rs.push_back(std::move(r));
    }
    if (!owed.empty() && write_dsn(e, owed, rs, "final")) {
      for (size_t i : owed) e.states[i].dsn_pending = false;
      changed = true;
    }
  }
  // A message recovered with every recipient final (a crash before its removal) is removed.
  const bool finished = std::all_of(e.states.begin(), e.states.end(),
                                    [](const auto& st) { return is_final(st.status) && !st.dsn_pending; });
  if (changed || (finished && !e.any_busy())) persist(e);
}

bool QueueManager::write_dsn(Entry& e, const std::vector<size_t>& indexes, std::vector<DsnRecipient>& recipients,
                             std::string_view kind) {
  (void)indexes;
  if (e.envelope.mail_from.empty()) {
    // Never a notice about a notice (RFC 3461 §6.1): a failed bounce is logged here and in
    // the tracking log (FAIL), and goes no further.
    for (const auto& r : recipients)
      if (r.action == DsnAction::failed)
        std::fprintf(stderr, "sluiced: %s: a delivery status notification to %s failed: %s\n",
                     e.envelope.queue_id.c_str(), e.envelope.recipients[r.index].address.c_str(), r.reply.c_str());
    return true;
  }
  const std::string empty;
  if (!e.content && !ensure_content(e) && e.removed) return true;
  DsnRequest req;
  req.original = &e.envelope;
  req.content = e.content ? e.content.get() : &empty;
  req.recipients = recipients;
  req.reporting_mta = config_->server.hostname;
  req.queue_id = s_.ids.next();
  req.now = s_.clock.now();
  std::optional<smtp::Message> dsn = build_dsn(req);
  if (!e.any_busy()) e.content.reset();
  if (!dsn) return true;  // NOTIFY asked for none of them
  smtp::Message* batch[] = {&*dsn};
  auto w = s_.store.write_messages(batch);
  if (!w) {
    std::fprintf(stderr, "sluiced: %s: cannot write a delivery status notification: %s\n",
                 e.envelope.queue_id.c_str(), w.error().message().c_str());
    e.retry_notices_us = now_us() + us(config_->queue.retry_interval(1));
    return false;
  }
  e.retry_notices_us = 0;
  ++stats_.dsns;
  if (s_.metrics) s_.metrics->dsn(kind);
  for (const auto& r : recipients) {
    if (!notify_wants(e.envelope.recipients[r.index].notify, r.action)) continue;
    track(e, "DSN", "DSN", e.envelope.recipients[r.index].address, "",
          std::string(to_string(r.action)) + " " + (r.reply.empty() ? std::string() : r.reply),
          std::string(kind) + " notice " + dsn->envelope.queue_id);
  }
  auto entry = std::make_unique<Entry>();
  entry->states.resize(dsn->envelope.recipients.size());
  entry->content_size = dsn->content.size();
  entry->content = std::make_shared<const std::string>(std::move(dsn->content));
  entry->envelope = std::move(dsn->envelope);
  // Admitted after this pass's loop over entries_ (a std::map insert does not disturb it).
  admit(std::move(entry));
  return true;
}

void QueueManager::persist(Entry& e) {
  const std::string& id = e.envelope.queue_id;
  const bool done = !e.any_busy() && std::all_of(e.states.begin(), e.states.end(), [](const auto& st) {
    return is_final(st.status) && !st.dsn_pending;
  });
  Result<void> saved = done ? s_.store.remove(id, spool::Store::Sync::lazy) : s_.store.update_recipients(id, e.states);
  if (!saved) {
    // The outcome could not be recorded: the spool keeps the earlier state and the next
    // start attempts those recipients again (a duplicate, never nothing).
    std::fprintf(stderr, "sluiced: %s: cannot record delivery state: %s\n", id.c_str(), saved.error().message().c_str());
  }
  if (done) e.removed = true;
}

void QueueManager::track(const Entry& e, const char* event, const char* source, std::string_view recipient,
                         std::string_view related, const std::string& status, std::string_view context,
                         std::string_view connector, std::string_view server_ip,
                         const delivery::AttemptReport* attempt) {
  log::TrackingEvent t;
  t.event_id = event;
  t.source = source;
  t.queue_id = e.envelope.queue_id;
  t.message_id = e.envelope.message_id;
  t.sender = e.envelope.mail_from;
  t.return_path = e.envelope.mail_from.empty() ? "<>" : e.envelope.mail_from;
  t.recipient = std::string(recipient);
  t.related_recipient = std::string(related);
  t.recipient_status = status;
  t.source_context = std::string(context);
  t.total_bytes = e.content_size;
  t.recipient_count = static_cast<uint32_t>(e.envelope.recipients.size());
  t.client_ip = e.envelope.client_ip;
  t.client_hostname = e.envelope.client_helo;
  t.server_ip = std::string(server_ip);
  t.connector = connector.empty() ? e.envelope.connector : std::string(connector);
  t.auth_user = e.envelope.auth_user;  // who submitted it, on every event of the message
  if (attempt) {
    // The connection that carried (or failed) this attempt: tracking's tls-* fields.
    t.tls_version = attempt->tls_version;
    t.tls_cipher = attempt->tls_cipher;
    t.tls_verified = attempt->tls_verified;
  }
  s_.tracking.write(t);
}

// --- administrative actions --------------------------------------------------------------------
// They run on the caller's thread under mu_ (the state keeps one writer at a time), write the
// spool where the state they change is durable, and wake the loop to schedule again.

void QueueManager::record_attempt(Entry& e, AttemptInfo attempt) {
  e.attempts.push_back(std::move(attempt));
  while (e.attempts.size() > kMaxAttempts) e.attempts.pop_front();
}

QueueManager::Entry* QueueManager::find_entry(std::string_view queue_id) {
  auto it = entries_.find(std::string(queue_id));
  if (it == entries_.end() || it->second->removed) return nullptr;
  return it->second.get();
}

namespace {
Failure no_queue(std::string_view name) {
  return fail(ErrorClass::permanent, "no queue named '" + std::string(name) + "' (list them with GET /api/v1/queues)");
}
Failure no_message(std::string_view id) {
  return fail(ErrorClass::permanent,
              "no message " + std::string(id) + " in the queue (delivered, removed, or never here; search the tracking log)");
}
}  // namespace

Result<void> QueueManager::suspend_queue(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    auto it = hops_.find(std::string(name));
    if (it == hops_.end()) return no_queue(name);
    it->second->suspended = true;
  }
  wake();
  return {};
}

Result<void> QueueManager::resume_queue(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    auto it = hops_.find(std::string(name));
    if (it == hops_.end()) return no_queue(name);
    it->second->suspended = false;
  }
  wake();
  return {};
}

Result<void> QueueManager::retry_queue(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    auto it = hops_.find(std::string(name));
    if (it == hops_.end()) return no_queue(name);
    Hop& hop = *it->second;
    const int64_t now = now_us();
    if (hop.status == QueueStatus::retry) hop.next_retry_us = now;
    for (const auto& id : hop.members) {
      Entry* e = find_entry(id);
      if (!e) continue;
      for (size_t i = 0; i < e->states.size(); ++i)
        if (e->hop[i] == hop.name && !is_final(e->states[i].status) && !e->busy[i]) e->states[i].next_attempt_us = 0;
    }
  }
  wake();
  return {};
}

Result<void> QueueManager::suspend_message(std::string_view queue_id) {
  {
    std::lock_guard lock(mu_);
    Entry* e = find_entry(queue_id);
    if (!e) return no_message(queue_id);
    e->suspended = true;
  }
  wake();
  return {};
}

Result<void> QueueManager::resume_message(std::string_view queue_id) {
  {
    std::lock_guard lock(mu_);
    Entry* e = find_entry(queue_id);
    if (!e) return no_message(queue_id);
    e->suspended = false;
  }
  wake();
  return {};
}

Result<void> QueueManager::retry_message(std::string_view queue_id) {
  {
    std::lock_guard lock(mu_);
    Entry* e = find_entry(queue_id);
    if (!e) return no_message(queue_id);
    const int64_t now = now_us();
    for (size_t i = 0; i < e->states.size(); ++i) {
      if (is_final(e->states[i].status) || e->busy[i]) continue;
      e->states[i].next_attempt_us = 0;
      Hop& hop = *hops_[e->hop[i]];
      if (hop.status == QueueStatus::retry) hop.next_retry_us = std::min(hop.next_retry_us, now);
    }
  }
  wake();
  return {};
}

Result<void> QueueManager::remove_message(std::string_view queue_id, bool ndr) {
  {
    std::lock_guard lock(mu_);
    Entry* e = find_entry(queue_id);
    if (!e) return no_message(queue_id);
    if (e->any_busy())
      return fail(ErrorClass::transient, "message " + std::string(queue_id) +
                                             " is being delivered right now; try again in a few seconds");
    const int64_t now = now_us();
    const std::string reply = Reply(550, "5.0.0", "Message removed from the queue by an administrator").text();
    for (size_t i = 0; i < e->states.size(); ++i) {
      auto& st = e->states[i];
      if (is_final(st.status)) continue;
      st.status = RecipientStatus::failed;
      st.updated_us = now;
      st.last_reply = reply;
      st.dsn_pending = ndr && !e->envelope.mail_from.empty() && notify_wants(e->envelope.recipients[i].notify, DsnAction::failed);
      ++stats_.failed;
      track(*e, "FAIL", "ADMIN", e->envelope.recipients[i].address, "", reply, ndr ? "removed with NDR" : "removed");
    }
    if (!ndr) {
      for (auto& st : e->states) st.dsn_pending = false;
      auto removed = s_.store.remove(e->envelope.queue_id, spool::Store::Sync::now);
      if (!removed) return fail(removed.error());
      e->removed = true;
    } else {
      persist(*e);  // the DSN is written by the next scheduling pass (maintain), then the message goes
    }
  }
  wake();
  return {};
}

// --- views -----------------------------------------------------------------------------------

QueueManager::Stats QueueManager::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  const int64_t now = now_us();
  for (const auto& [id, e] : entries_) {
    if (e->removed) continue;
    bool due = false, open = false;
    for (size_t i = 0; i < e->states.size(); ++i) {
      if (is_final(e->states[i].status)) continue;
      open = true;
      due = due || e->busy[i] || e->states[i].next_attempt_us <= now;
    }
    if (due) ++s.ready;
    else if (open) ++s.waiting;
  }
  return s;
}

std::vector<QueueInfo> QueueManager::queues() const {
  std::lock_guard lock(mu_);
  const int64_t now = now_us();
  std::vector<QueueInfo> out;
  for (const auto& [name, h] : hops_) {
    QueueInfo q;
    q.identity = name;
    q.delivery_type = h->type;
    q.status = h->suspended ? QueueStatus::suspended : h->status;
    q.next_hop_connector = h->next_hop.connector ? h->next_hop.connector->name : "";
    q.active_connections = h->active;
    q.last_error = h->last_error;
    q.retry_count = h->retry_count;
    if (h->first_retry_us) q.first_retry_time = from_us(h->first_retry_us);
    if (h->last_retry_us) q.last_retry_time = from_us(h->last_retry_us);
    if (h->status == QueueStatus::retry && h->next_retry_us) q.next_retry_time = from_us(h->next_retry_us);
    for (const auto& id : h->members) {
      auto it = entries_.find(id);
      if (it == entries_.end() || it->second->removed) continue;
      const Entry& e = *it->second;
      for (size_t i = 0; i < e.states.size(); ++i)
        if (e.hop[i] == name && !is_final(e.states[i].status)) {
          ++q.message_count;
          break;
        }
    }
    auto rate = [now](const std::deque<int64_t>& d) {
      return static_cast<double>(std::count_if(d.begin(), d.end(), [now](int64_t t) { return t > now - 60'000'000; })) / 60.0;
    };
    q.incoming_rate = rate(h->incoming);
    q.outgoing_rate = rate(h->outgoing);
    out.push_back(std::move(q));
  }
  return out;
}

std::vector<MessageInfo> QueueManager::messages(const MessageFilter& filter) const {
  std::lock_guard lock(mu_);
  std::vector<MessageInfo> out;
  const auto expire = config_->queue.expire_after;
  for (const auto& [id, e] : entries_) {
    if (e->removed) continue;
    if (!filter.queue_id.empty() && id != filter.queue_id) continue;
    if (!filter.queue.empty() && std::find(e->hop.begin(), e->hop.end(), filter.queue) == e->hop.end()) continue;
    MessageInfo m;
    m.queue_id = id;
    m.suspended = e->suspended;
    m.attempts.assign(e->attempts.begin(), e->attempts.end());
    m.from = e->envelope.mail_from;
    m.message_id = e->envelope.message_id;
    m.size = e->content_size;
    if (e->envelope.received_at_us > 0) {
      m.date_received = from_us(e->envelope.received_at_us);
      m.expiration_time = from_us(e->envelope.received_at_us + us(expire));
    }
    int64_t last = -1;
    for (size_t i = 0; i < e->states.size(); ++i) {
      const auto& st = e->states[i];
      m.recipients.push_back(MessageRecipientInfo{e->envelope.recipients[i].address, e->hop[i], st});
      m.retry_count = std::max(m.retry_count, st.attempts);
      if (!st.last_reply.empty() && !is_final(st.status) && st.updated_us > last) {
        last = st.updated_us;
        m.last_error = st.last_reply;
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace sluice::queue
