// queue/queue_manager.cpp: see queue_manager.hpp.
//
// Durability (DESIGN.md): an attempt's outcome is written to the spool (update_recipients,
// synced) before the message is scheduled again, and the message is removed only when every
// recipient is delivered or failed. A crash between a Maildir delivery and that write
// delivers the recipient again at the next start: a duplicate, never a loss.
#include "queue/queue_manager.hpp"

#include <algorithm>
#include <cstdio>

namespace sluice::queue {

namespace {

int64_t to_us(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

bool is_final(spool::RecipientStatus s) {
  return s == spool::RecipientStatus::delivered || s == spool::RecipientStatus::failed;
}

// When the next attempt of a message is due: the earliest next_attempt_us of a recipient that
// is not final (0, "never tried", counts as due at once). A message with nothing left to do
// is due at once too, so that it gets removed.
int64_t next_due(const std::vector<spool::RecipientState>& states) {
  bool any = false;
  int64_t due = 0;
  for (const auto& st : states) {
    if (is_final(st.status)) continue;
    due = any ? std::min(due, st.next_attempt_us) : st.next_attempt_us;
    any = true;
  }
  return due;
}

Reply reply_of(const Error& e, int code, const char* enhanced) {
  if (e.reply) return *e.reply;
  return Reply(code, enhanced, e.context);
}

}  // namespace

std::chrono::seconds QueueManager::retry_delay(uint32_t attempts) {
  using namespace std::chrono;
  switch (attempts) {
    case 0:
    case 1: return minutes(1);
    case 2: return minutes(5);
    case 3: return minutes(15);
    case 4: return minutes(30);
    default: return hours(1);
  }
}

QueueManager::QueueManager(QueueServices services, unsigned workers) : s_(services) {
  workers = std::max(1u, workers);
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { run(); });
}

QueueManager::~QueueManager() {
  stop();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
}

void QueueManager::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  idle_.notify_all();
}

void QueueManager::wake() {
  // Taking the lock orders this after a worker's check of the clock: a worker between that
  // check and its wait would otherwise miss the notification.
  { std::lock_guard lock(mu_); }
  wake_.notify_all();
}

bool QueueManager::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_.wait_until(lock, deadline, [this] {
    if (active_ > 0 || !ready_.empty()) return false;
    // A waiting message whose time has come is not idle either; the workers will take it.
    return waiting_.empty() || waiting_.begin()->first > to_us(s_.clock.now());
  });
}

void QueueManager::recover(std::vector<spool::SpooledMessage> messages) {
  std::lock_guard lock(mu_);
  for (auto& m : messages) {
    Job job{std::move(m.envelope), std::move(m.recipients), nullptr, m.content_size, {}};
    const int64_t due = next_due(job.states);
    if (due <= to_us(s_.clock.now())) ready_.push_back(std::move(job));
    else waiting_.emplace(due, std::move(job));
  }
  wake_.notify_all();
}

void QueueManager::enqueue(smtp::Message&& message) {
  Job job;
  job.states.resize(message.envelope.recipients.size());
  job.envelope = std::move(message.envelope);
  job.content_size = message.content.size();
  job.content = std::make_shared<const std::string>(std::move(message.content));
  {
    std::lock_guard lock(mu_);
    ready_.push_back(std::move(job));
  }
  wake_.notify_one();
}

QueueManager::Stats QueueManager::stats() const {
  std::lock_guard lock(mu_);
  return Stats{delivered_, deferred_, failed_, ready_.size(), waiting_.size()};
}

void QueueManager::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return;
    // Move what has come due to the ready queue.
    const int64_t now = to_us(s_.clock.now());
    while (!waiting_.empty() && waiting_.begin()->first <= now) {
      ready_.push_back(std::move(waiting_.begin()->second));
      waiting_.erase(waiting_.begin());
    }
    if (ready_.empty()) {
      if (waiting_.empty()) {
        wake_.wait(lock);
      } else {
        const auto due = SystemTime(std::chrono::microseconds(waiting_.begin()->first));
        wake_.wait_for(lock, std::chrono::duration_cast<std::chrono::milliseconds>(due - s_.clock.now()) +
                                 std::chrono::milliseconds(1));
      }
      continue;
    }
    Job job = std::move(ready_.front());
    ready_.pop_front();
    ++active_;
    lock.unlock();
    process(job);
    lock.lock();
    --active_;
    idle_.notify_all();
  }
}

void QueueManager::process(Job& job) {
  const std::string& id = job.envelope.queue_id;
  std::string loaded;
  if (!job.content) {
    auto content = s_.store.read_content(id);
    if (!content) {
      // The spool could not give the content back. Not there at all (permanent: removed, or
      // a damaged record the store moved aside on an earlier read, with its metadata): the
      // message is no longer ours to deliver, and retrying it every minute forever would
      // only fill the log. Anything else (an I/O error) may pass: try again later.
      const bool gone = content.error().klass == ErrorClass::permanent;
      std::fprintf(stderr, "sluiced: %s: cannot read message content: %s%s\n", id.c_str(),
                   content.error().message().c_str(), gone ? "; dropped from the queue" : "");
      if (gone) return;
      std::lock_guard lock(mu_);
      waiting_.emplace(to_us(s_.clock.now()) + std::chrono::microseconds(retry_delay(1)).count(), std::move(job));
      return;
    }
    loaded = std::move(*content);
  }
  const std::string& content = job.content ? *job.content : loaded;

  const int64_t now = to_us(s_.clock.now());
  // A message without a receive time (0) never expires: failing it at the first deferral
  // would be worse than keeping it.
  const bool expired = job.envelope.received_at_us > 0 &&
                       now - job.envelope.received_at_us >
                           std::chrono::duration_cast<std::chrono::microseconds>(kMaxQueueLifetime).count();
  for (size_t i = 0; i < job.states.size(); ++i) {
    auto& state = job.states[i];
    if (is_final(state.status) || state.next_attempt_us > now) continue;
    attempt(job, i, content, state);
    if (expired && state.status == spool::RecipientStatus::deferred) {
      state.status = spool::RecipientStatus::failed;
      state.last_reply = "554 5.4.7 Message expired: " + state.last_reply;
      track(job, "FAIL", job.envelope.recipients[i].address, "", state.last_reply, "expired");
      std::lock_guard lock(mu_);
      ++failed_;
    }
  }

  const bool done = std::all_of(job.states.begin(), job.states.end(),
                                [](const auto& st) { return is_final(st.status); });
  Result<void> saved = done ? s_.store.remove(id, spool::Store::Sync::lazy)
                             : s_.store.update_recipients(id, job.states);
  if (!saved) {
    // The outcome could not be recorded: the message stays as it was in the spool and is
    // attempted again (delivered recipients may get a duplicate, never nothing).
    std::fprintf(stderr, "sluiced: %s: cannot record delivery state: %s\n", id.c_str(),
                 saved.error().message().c_str());
  }
  if (done) return;
  const int64_t due = next_due(job.states);
  job.content.reset();  // do not hold message bodies in memory while they wait
  std::lock_guard lock(mu_);
  waiting_.emplace(std::max(due, now + 1), std::move(job));
  wake_.notify_one();
}

void QueueManager::attempt(Job& job, size_t i, const std::string& content, spool::RecipientState& state) {
  const std::string& rcpt = job.envelope.recipients[i].address;
  const int64_t now = to_us(s_.clock.now());
  state.attempts++;
  state.updated_us = now;

  auto defer = [&](const Reply& reply, std::string_view context) {
    state.status = spool::RecipientStatus::deferred;
    state.last_reply = reply.text();
    state.next_attempt_us = now + std::chrono::microseconds(retry_delay(state.attempts)).count();
    track(job, "DEFER", rcpt, "", state.last_reply, context);
    std::lock_guard lock(mu_);
    ++deferred_;
  };
  auto fail_rcpt = [&](const Reply& reply, std::string_view context) {
    state.status = spool::RecipientStatus::failed;
    state.last_reply = reply.text();
    track(job, "FAIL", rcpt, "", state.last_reply, context);
    std::lock_guard lock(mu_);
    ++failed_;
  };

  auto targets = s_.directory.expand(rcpt);
  if (!targets) {
    const Error& e = targets.error();
    if (e.klass == ErrorClass::transient) defer(reply_of(e, 451, "4.3.0"), "alias expansion");
    else fail_rcpt(reply_of(e, 550, "5.1.1"), "alias expansion");
    return;
  }
  std::vector<std::string> remote;
  for (const std::string& target : *targets) {
    if (s_.directory.lookup(target) != routing::LookupResult::local_mailbox) {
      remote.push_back(target);
      continue;
    }
    if (job.delivered_targets.contains(target)) continue;  // this message is already there
    auto path = s_.maildir.deliver(target, job.envelope.mail_from, content);
    if (!path) {
      const Error& e = path.error();
      if (e.klass == ErrorClass::permanent) fail_rcpt(reply_of(e, 550, "5.2.0"), target);
      else defer(reply_of(e, 451, "4.3.0"), target);
      return;
    }
    job.delivered_targets.insert(target);
    track(job, "DELIVER", target, target == rcpt ? "" : rcpt, "250 2.0.0 Delivered to Maildir",
          path->filename().string());
  }
  if (!remote.empty()) {
    // No send connector exists yet: the recipient waits, and says why.
    defer(Reply(451, "4.4.0", "No route to " + domain_of(remote.front()) +
                                  ": outbound delivery (send connectors) is not configured"),
          "Unreachable");
    return;
  }
  state.status = spool::RecipientStatus::delivered;
  state.last_reply = "250 2.0.0 Delivered";
  std::lock_guard lock(mu_);
  ++delivered_;
}

void QueueManager::track(const Job& job, const char* event, std::string_view recipient,
                         std::string_view related, const std::string& status, std::string_view context) {
  log::TrackingEvent e;
  e.event_id = event;
  e.source = "STOREDRIVER";
  e.queue_id = job.envelope.queue_id;
  e.message_id = job.envelope.message_id;
  e.sender = job.envelope.mail_from;
  e.return_path = job.envelope.mail_from;
  e.recipient = std::string(recipient);
  e.related_recipient = std::string(related);
  e.recipient_status = status;
  e.source_context = std::string(context);
  e.total_bytes = job.content_size;
  e.recipient_count = static_cast<uint32_t>(job.envelope.recipients.size());
  e.client_ip = job.envelope.client_ip;
  e.client_hostname = job.envelope.client_helo;
  e.connector = job.envelope.connector;
  s_.tracking.write(e);
}

}  // namespace sluice::queue
