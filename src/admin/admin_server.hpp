// admin/admin_server.hpp: the admin API — HTTP + JSON on [admin] listen, for the `sluice` CLI,
// scripts and Prometheus. Every request carries the bearer token (RFC 6750 §2.1) or gets 401;
// every error is JSON {"error": {"status": N, "message": "..."}} with a message a person can
// act on.
// Routes (all under the token):
//   GET  /api/v1/status                          version, hostname, uptime, queue totals
//   GET  /api/v1/queues                          Get-Queue
//   GET  /api/v1/queues/{name}                   one queue
//   POST /api/v1/queues/{name}/retry|suspend|resume
//   GET  /api/v1/messages?queue=&status=&from=&to=&min_age=&min_size=
//   POST /api/v1/messages/retry|suspend|resume|remove?<filters>[&ndr=1]   bulk, needs a filter or all=1
//   GET  /api/v1/messages/{id}                   envelope, headers, recipients, attempts
//   POST /api/v1/messages/{id}/retry|suspend|resume|remove[?ndr=1]
//   GET  /api/v1/messages/{id}/export            the message as .eml (message/rfc822)
//   GET  /api/v1/track?sender=&recipient=&message_id=&queue_id=&event=&since=&until=&limit=
//   POST /api/v1/reload                          the daemon's reload callback
//   GET  /metrics                                Prometheus text format 0.0.4
// Owns: routing, auth, status codes, the server thread(s). Not: the JSON shapes
// (admin_views.hpp), the data (AdminBackend), what reload does (the daemon).
// Threads: cpp-httplib's own listener thread and worker pool, never an SMTP event loop; the
// backend's calls are thread-safe (queue snapshots take the queue's lock).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "admin/admin_backend.hpp"
#include "base/clock.hpp"
#include "base/result.hpp"
#include "config/listen_address.hpp"
#include "log/metrics.hpp"

namespace sluice::admin {

struct AdminServices {
  AdminBackend& backend;
  log::Metrics& metrics;
  const Clock& clock;
  std::filesystem::path tracking_dir;  // <data_dir>/logs/tracking
  // POST /api/v1/reload: loads and applies the configuration; an error carries every
  // diagnostic (file:line: message) and means the old configuration keeps running.
  std::function<Result<void>()> reload;
  std::filesystem::path protocol_dir;  // <data_dir>/logs/protocol: transcripts of failed attempts
};

struct AdminOptions {
  config::ListenAddress listen{"127.0.0.1", 8025};  // port 0: any free port (see port())
  std::string token;                                // from load_or_create_token()
  std::string hostname;
  std::string version;
  unsigned threads = 2;
};

class AdminServer {
 public:
  // Binds and starts serving on its own thread. Fails with what to do when the address is
  // taken or not ours.
  static Result<std::unique_ptr<AdminServer>> start(AdminServices services, AdminOptions options);
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  uint16_t port() const;
  void stop();  // idempotent

  struct Impl;

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::admin
