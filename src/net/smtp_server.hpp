// net/smtp_server.hpp: the SMTP listeners and the event loops that run sessions.
// One io_context per thread, each with its own acceptor on every listen address
// (SO_REUSEPORT, the kernel spreads connections); a session is a coroutine pinned to the
// loop that accepted it (DESIGN.md "Concurrency").
// Owns: binding, accepting, receive connector selection per client (most specific
// remote_ip_ranges, as Exchange), connection limits, read/write deadlines, driving the
// sans-I/O smtp::ServerSession, graceful shutdown (421 to idle sessions, in-flight commits
// finish first), TLS (STARTTLS and implicit TLS with each connector's certificates, handshake
// deadline, reload), running password checks on a blocking pool and resuming the session on
// its loop. Not: SMTP rules (smtp/), relay decisions (policy/), storage (MessageSink),
// users and SASL (the Authenticator the factory gives).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/queue_id.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "log/metrics.hpp"
#include "log/protocol_log.hpp"
#include "log/session_id.hpp"
#include "net/message_sink.hpp"
#include "smtp/session_policy.hpp"

namespace sluice::net {

// Makes the policy of one session: what its connector allows (relay control now; DNSBL,
// rate limits and more later). Lives above net/, so the daemon supplies it.
class SessionPolicyFactory {
 public:
  virtual ~SessionPolicyFactory() = default;
  virtual std::unique_ptr<smtp::SessionPolicy> make(const config::ReceiveConnector& connector,
                                                    QueueIdGenerator& ids) = 0;
  // The connector's authenticator, shared by its sessions on every loop (thread-safe), or
  // nullptr: no AUTH on this connector. It must outlive the server.
  virtual smtp::Authenticator* authenticator(const config::ReceiveConnector& connector) {
    (void)connector;
    return nullptr;
  }
};

struct ServerServices {
  SessionPolicyFactory& policies;
  MessageSink& sink;
  log::ProtocolLog& protocol_log;
  log::SessionIdGenerator& session_ids;
  const Clock& clock;
  log::MailMetrics* metrics = nullptr;  // admin's /metrics; null = none
};

class SmtpServer {
 public:
  SmtpServer(std::shared_ptr<const config::Config> config, ServerServices services);
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Binds every listen address on every loop and loads each TLS connector's certificates
  // (a certificate that cannot be loaded is a config error; one close to expiry is a warning
  // on stderr). On success, `bound` gets one line per socket: "<connector names> <ip>:<port>"
  // with the real port (a configured port 0 is resolved).
  Result<void> bind(unsigned threads, std::vector<std::string>& bound);
  // Reads every connector's certificate files again (SIGHUP); sessions in progress keep their
  // TLS. Returns one line per problem or warning ("<connector>: ..."); a connector whose files
  // fail to load keeps its old certificates. Thread-safe.
  std::vector<std::string> reload_certificates();
  // Runs the loops on their threads; `on_tick` runs every second on loop 0 (log flushing).
  void start(std::function<void()> on_tick);
  // Stops accepting and ends every session (421, or after its commit). Thread-safe.
  void stop();
  // Waits until every loop has finished.
  void join();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::net
