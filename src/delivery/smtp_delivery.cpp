// delivery/smtp_delivery.cpp: see smtp_delivery.hpp. Puts Asio, TLS and the sans-I/O client
// session together; includes Asio, so keep it out of headers.
#include "delivery/smtp_delivery.hpp"

#include <algorithm>
#include <array>
#include <asio/ssl/context.hpp>
#include <asio/use_awaitable.hpp>
#include <set>

#include "delivery/password_file.hpp"
#include "delivery/send_protocol_observer.hpp"
#include "delivery/smtp_channel.hpp"
#include "log/log_format.hpp"
#include "smtp/client_session.hpp"

namespace sluice::delivery {

namespace {

constexpr size_t kReadChunk = 4096;

using SteadyClock = std::chrono::steady_clock;

// What one connection did.
struct ConnectionResult {
  AttemptReport report;
  std::optional<Outcome> failure;  // the session's failure, classified; nullopt = clean end
  bool tls_handshake_failed = false;
};

// The name to send as SNI and to show: "[192.0.2.1]" targets have none.
std::string server_name_of(const routing::Target& t) {
  if (t.host.starts_with('[')) return "";
  return t.host;
}

// "mx.example.net[192.0.2.1]", or "[192.0.2.1]" for an address literal.
std::string describe_target(const routing::Target& t) {
  if (t.host.starts_with('[')) return t.host;
  return t.host + "[" + t.ip + "]";
}

// The host as the admin wrote it or the MX record named it.
std::string describe_host(const routing::Target& t) { return t.host.empty() ? "[" + t.ip + "]" : t.host; }

class Batch {
 public:
  Batch(SmtpDeliveryContext& ctx, const config::SendConnector& connector, std::vector<DeliveryJob>& jobs)
      : ctx_(ctx), connector_(connector), jobs_(jobs), done_(jobs.size(), false) {
    result_.per_job.resize(jobs.size());
  }

  asio::awaitable<BatchResult> run(const routing::TargetList& targets);

 private:
  asio::awaitable<ConnectionResult> connection(const routing::Target& target, bool try_starttls);
  bool all_done() const { return std::find(done_.begin(), done_.end(), false) == done_.end(); }
  std::optional<size_t> next_job() const {
    for (size_t j = 0; j < jobs_.size(); ++j)
      if (!done_[j]) return j;
    return std::nullopt;
  }
  // `results` as the session reported them; a recipient missing there gets `missing`.
  void record(size_t job, const std::vector<smtp::RecipientResult>& results, const smtp::RecipientResult* missing = nullptr);
  // Every recipient of every job not done yet gets `outcome`.
  void fill_remaining(const Outcome& outcome);

  SmtpDeliveryContext& ctx_;
  const config::SendConnector& connector_;
  std::vector<DeliveryJob>& jobs_;
  std::vector<bool> done_;
  std::optional<std::pair<std::string, std::string>> auth_;
  std::shared_ptr<const CaStore> ca_store_;  // the connector's ca_file, for tls = "verify"
  BatchResult result_;
};

void Batch::record(size_t job, const std::vector<smtp::RecipientResult>& results,
                   const smtp::RecipientResult* missing) {
  auto& out = result_.per_job[job];
  const auto& wanted = jobs_[job].recipients;
  out.clear();
  for (size_t position = 0; position < wanted.size(); ++position) {
    RecipientOutcome r;
    r.index = wanted[position];
    // The session reports one result per recipient in the order given; match by index all
    // the same, so that a mismatch can only leave a recipient deferred, never lose it.
    auto it = std::find_if(results.begin(), results.end(),
                           [&](const smtp::RecipientResult& x) { return x.index == r.index; });
    if (it != results.end()) {
      r.outcome = classify_reply(it->reply, it->stage);
    } else if (missing) {
      r.outcome = classify_reply(missing->reply, missing->stage);
    } else {
      r.outcome = classify_reply(Reply(451, "4.3.0", "Internal error: no result for this recipient"),
                                 "end of DATA");
    }
    out.push_back(std::move(r));
  }
  done_[job] = true;
}

void Batch::fill_remaining(const Outcome& outcome) {
  for (size_t j = 0; j < jobs_.size(); ++j) {
    if (done_[j]) continue;
    auto& out = result_.per_job[j];
    out.clear();
    for (size_t index : jobs_[j].recipients) out.push_back({index, outcome});
    done_[j] = true;
  }
}

asio::awaitable<BatchResult> Batch::run(const routing::TargetList& targets) {
  if (targets.targets.empty()) {
    // The queue normally stops before this (routing's error decides bounce or retry), but a
    // batch without a target must still give every recipient an outcome.
    const Error e = targets.error.value_or(Error{ErrorClass::transient, "no target to connect to",
                                                 Reply(451, "4.4.4", "No target host for this next hop")});
    Outcome o = classify_route_error(e);
    result_.attempt.session_failure = o;
    fill_remaining(o);
    co_return std::move(result_);
  }

  if (connector_.auth) {
    auto password = read_password_file(connector_.auth->password_file);
    if (!password) {
      // A local configuration problem: the mail waits (the admin fixes the file) instead of
      // going out unauthenticated or bouncing.
      Outcome o = classify_reply(Reply(451, "4.3.5", "Cannot authenticate to the smart host: " +
                                                         password.error().context),
                                 "AUTH");
      o.scope = Scope::queue;
      result_.attempt.session_failure = o;
      fill_remaining(o);
      co_return std::move(result_);
    }
    auth_.emplace(connector_.auth->username, std::move(*password));
  }

  if (connector_.tls == config::TlsMode::verify && !connector_.ca_file.empty()) {
    auto store = CaStore::load(connector_.ca_file);
    if (!store) {
      // Local configuration again: wait for the admin rather than deliver unverified.
      Outcome o = classify_reply(Reply(451, "4.7.5", "Cannot verify certificates: " + store.error().context),
                                 "STARTTLS");
      o.scope = Scope::queue;
      result_.attempt.session_failure = o;
      fill_remaining(o);
      co_return std::move(result_);
    }
    ca_store_ = std::move(*store);
  }

  std::set<std::string> hosts_tried;
  std::optional<Outcome> last_failure;
  bool any_message = false;
  size_t i = 0;
  bool plaintext_retry = false;  // this target again without STARTTLS (its handshake failed)
  while (i < targets.targets.size() && !all_done()) {
    const routing::Target& target = targets.targets[i];
    if (!plaintext_retry && !hosts_tried.contains(target.host)) {
      if (connector_.max_hosts_per_attempt != 0 && hosts_tried.size() >= connector_.max_hosts_per_attempt) break;
      hosts_tried.insert(target.host);
    }
    const bool try_starttls = connector_.tls != config::TlsMode::none && !plaintext_retry;
    ConnectionResult c = co_await connection(target, try_starttls);
    if (c.report.messages > 0) any_message = true;
    result_.connections.push_back(c.report);
    if (c.report.messages > 0 || !any_message) result_.attempt = c.report;

    if (c.tls_handshake_failed && connector_.tls == config::TlsMode::opportunistic && !plaintext_retry) {
      // RFC 7435 §3: opportunistic security must not make delivery worse than plaintext.
      plaintext_retry = true;
      last_failure = c.failure;
      continue;
    }
    plaintext_retry = false;
    if (!c.failure && c.report.messages > 0) {
      // A clean end with messages left: max_messages_per_connection was reached. The same
      // target again, on a new connection.
      continue;
    }
    if (!c.failure) {
      // A clean end that carried nothing cannot happen with a sound session; never loop on it.
      c.failure = classify_reply(Reply(451, "4.4.0", "Connection closed before any message was sent"), "connect");
    }
    last_failure = c.failure;
    if (c.failure->scope == Scope::connection || c.failure->scope == Scope::queue) {
      ++i;  // RFC 5321 §5.1: the next address
      continue;
    }
    // A failure the next host would not change (e.g. a permanent AUTH refusal of a smart
    // host's shared credentials): it applies to what is left.
    break;
  }

  if (!all_done()) {
    Outcome o = last_failure.value_or(classify_reply(
        Reply(451, "4.4.4", "No host of this next hop could be tried"), "connect"));
    if (!any_message) result_.attempt.session_failure = o;
    fill_remaining(o);
  }
  co_return std::move(result_);
}

asio::awaitable<ConnectionResult> Batch::connection(const routing::Target& target, bool try_starttls) {
  ConnectionResult out;
  out.report.remote_host = target.host;
  out.report.remote_ip = target.ip;
  out.report.port = target.port;
  const auto started = SteadyClock::now();
  auto finish = [&] {
    out.report.latency = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
  };

  SendProtocolObserver observer(connector_.protocol_log ? &ctx_.protocol_log : nullptr, connector_.name,
                                ctx_.session_ids.next());
  observer.on_attempt(log::format_endpoint(target.ip, target.port), target.host);
  SmtpChannel channel(ctx_.executor, ctx_.tls);
  Result<void> connected = co_await channel.connect(target.ip, target.port, connector_.source_ip,
                                                    std::chrono::milliseconds(connector_.connect_timeout));
  if (!connected) {
    const std::string& what = connected.error().context;
    observer.on_connect_failed(what);
    observer.on_disconnect("connection failed");
    out.failure = classify_connect_error(what, target.host, target.ip, target.port);
    out.report.session_failure = out.failure;
    finish();
    co_return out;
  }
  observer.on_connect(channel.local_endpoint());

  smtp::ClientSettings settings;
  settings.helo_name = connector_.helo_name.empty() ? ctx_.hostname : connector_.helo_name;
  settings.try_starttls = try_starttls;
  settings.require_tls = connector_.tls == config::TlsMode::required || connector_.tls == config::TlsMode::verify;
  settings.auth = auth_;
  settings.allow_plaintext_auth = connector_.allow_plaintext_auth;
  settings.greeting_timeout = ctx_.timeouts.greeting;
  settings.command_timeout = ctx_.timeouts.command;
  settings.data_init_timeout = ctx_.timeouts.data_init;
  settings.data_end_timeout = ctx_.timeouts.data_end;
  smtp::ClientSession session(settings, &observer);

  const bool tls_required =
      connector_.tls == config::TlsMode::required || connector_.tls == config::TlsMode::verify;
  // Set when the connector's TLS policy ended the session: replaces the session's wording.
  std::optional<Reply> tls_policy_failure;
  std::optional<size_t> in_flight;  // the job handed to send_message()
  std::string why = "session closed";
  std::array<char, kReadChunk> buffer;
  for (;;) {
    const smtp::ClientAction action = session.poll();
    if (action == smtp::ClientAction::send || action == smtp::ClientAction::close) {
      const std::string output = session.take_output();
      Result<void> written = co_await channel.write_all(output, ctx_.timeouts.data_block);
      if (action == smtp::ClientAction::close) break;
      if (!written) {
        why = "write failed: " + written.error().context;
        session.on_eof();
      }
      continue;
    }
    if (action == smtp::ClientAction::start_tls) {
      const TlsPeerIdentity expected{server_name_of(target), target.ip, ca_store_.get()};
      Result<TlsSessionInfo> tls =
          co_await channel.start_tls(server_name_of(target), ctx_.timeouts.tls_handshake, expected);
      if (tls) {
        out.report.tls = tls->summary();
        out.report.tls_version = tls->version;
        out.report.tls_cipher = tls->cipher;
        out.report.tls_verified = tls->verification();
        observer.on_info(tls->summary(), "TLS negotiation succeeded");
        if (connector_.tls == config::TlsMode::verify && !tls->verified()) {
          // Nothing was sent over the connection yet; no mail and no credentials go to a
          // server we cannot authenticate. 421 X.7.5 as for a failed handshake: another
          // MX host may present a good certificate.
          observer.on_info(tls->verify_error, "TLS certificate check failed");
          tls_policy_failure = Reply(421, "4.7.5", tls->verify_error + " (" + describe_target(target) + ")");
          session.on_tls_failed(tls->verify_error);
        } else {
          session.on_tls_started();
        }
      } else {
        observer.on_info(tls.error().context, "TLS negotiation failed");
        out.tls_handshake_failed = true;
        session.on_tls_failed(tls.error().context);
      }
      continue;
    }
    if (action == smtp::ClientAction::message_done) {
      const std::vector<smtp::RecipientResult> results = session.take_results();
      if (in_flight) record(*in_flight, results);
      in_flight.reset();
      continue;
    }
    // need_input
    if (session.ready_for_message()) {
      const std::optional<size_t> job = next_job();
      const bool limit_reached = connector_.max_messages_per_connection != 0 &&
                                 out.report.messages >= connector_.max_messages_per_connection;
      if (!job || limit_reached) {
        why = job ? "max_messages_per_connection reached" : "no more messages";
        session.quit();
        continue;
      }
      const DeliveryJob& j = jobs_[*job];
      observer.on_info(j.envelope->queue_id, "sending message");
      in_flight = job;
      ++out.report.messages;
      session.send_message(smtp::OutboundMessage{j.envelope, j.content, j.recipients});
      continue;
    }
    ChannelRead r = co_await channel.read_some(buffer, std::chrono::milliseconds(session.current_timeout()));
    switch (r.status) {
      case ChannelRead::Status::ok:
        session.feed(std::string_view(buffer.data(), r.bytes));
        break;
      case ChannelRead::Status::timeout:
        why = "timeout waiting for the " + std::string(session.stage().empty() ? "reply" : session.stage()) + " reply";
        session.on_timeout();
        break;
      case ChannelRead::Status::eof:
      case ChannelRead::Status::error:
        why = r.what;
        session.on_eof();
        break;
    }
  }
  channel.close();
  if (in_flight) {
    // The session closed without reporting the message it had (it should not happen: the
    // session fails what is in flight). The message stays deferred, never lost.
    record(*in_flight, {}, session.session_failure() ? &*session.session_failure() : nullptr);
  }
  if (const auto& failure = session.session_failure()) {
    if (!tls_policy_failure && tls_required && failure->stage == "STARTTLS" && failure->reply.enhanced() == "4.7.4") {
      // The session's own refusal to go on without TLS: say it with the name the admin
      // knows (the MX or smart host), not the greeting's.
      tls_policy_failure = Reply(421, "4.7.4", "TLS required but " + describe_host(target) + " did not offer STARTTLS");
    }
    out.failure = classify_reply(tls_policy_failure ? *tls_policy_failure : failure->reply, failure->stage);
    if (out.report.messages == 0) out.report.session_failure = out.failure;
    if (why == "session closed") why = out.failure->reply.text();
  }
  observer.on_disconnect(why);
  finish();
  co_return out;
}

}  // namespace

asio::awaitable<BatchResult> deliver_batch(SmtpDeliveryContext& ctx, const routing::TargetList& targets,
                                           const config::SendConnector& connector,
                                           std::vector<DeliveryJob> jobs) {
  Batch batch(ctx, connector, jobs);
  co_return co_await batch.run(targets);
}

}  // namespace sluice::delivery
