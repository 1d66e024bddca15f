// sluiced/main.cpp: the daemon's entry point — wiring only (STYLE.md): it loads the
// configuration, opens the spool, rebuilds the queue from it, binds the receive connectors,
// runs the event loops, and shuts everything down in order on SIGTERM/SIGINT.
//
//   sluiced --config FILE                 run in the foreground
//   sluiced --write-default-config FILE   write the embedded default configuration if FILE is absent
//
// stdout carries one line per bound socket, "listening <connector> <ip>:<port>", then
// "ready": scripts and tests read the real ports from there. Diagnostics go to stderr.
// Exit codes follow sysexits: 78 configuration, 71 start-up failure, 64 usage.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <string>
#include <asio/io_context.hpp>
#include <thread>

#include "base/clock.hpp"
#include "base/version.hpp"
#include "config/check.hpp"
#include "config/default_config.hpp"
#include "config/loader.hpp"
#include "delivery/maildir_delivery.hpp"
#include "delivery/smtp_delivery.hpp"
#include "delivery/tls_client.hpp"
#include "dns/unbound_resolver.hpp"
#include "log/metrics.hpp"
#include "log/protocol_log.hpp"
#include "log/session_id.hpp"
#include "log/tracking_log.hpp"
#include "auth/dkim_signer.hpp"
#include "admin/admin_backend.hpp"
#include "admin/admin_server.hpp"
#include "admin/admin_views.hpp"
#include "auth/user_store.hpp"
#include "net/smtp_server.hpp"
#include "net/tls_context.hpp"
#include "policy/dnsbl.hpp"
#include "policy/greylist.hpp"
#include "policy/protection_policy.hpp"
#include "policy/rate_limits.hpp"
#include "queue/maildrop.hpp"
#include "queue/queue_manager.hpp"
#include "queue/smtp_transport.hpp"
#include "routing/aliases.hpp"
#include "routing/local_directory.hpp"
#include "routing/target_resolver.hpp"
#include "sluiced/services.hpp"
#include "spool/committer.hpp"
#include "spool/store.hpp"

namespace fs = std::filesystem;
using namespace sluice;

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitOsErr = 71;
constexpr int kExitConfig = 78;

int usage() {
  std::cerr << "usage: sluiced --config FILE\n"
               "       sluiced --write-default-config FILE\n";
  return kExitUsage;
}

// Writes the embedded default configuration, and the self-signed certificate it names, so
// that `make run` offers STARTTLS from the first start.
int write_default_config(const std::string& path) {
  if (fs::exists(path)) return 0;
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path);
  out << config::default_config_text();
  if (!out.flush()) {
    std::cerr << "sluiced: cannot write " << path << "\n";
    return kExitOsErr;
  }
  std::cerr << "sluiced: wrote the default configuration to " << path << "\n";
  config::LoadResult loaded = config::load_string(config::default_config_text(), path);
  if (!loaded.ok()) return kExitConfig;  // the embedded default always loads (tested)
  auto cert = net::ensure_self_signed_certificate(fs::path(loaded.config->server.data_dir) / "tls",
                                                  loaded.config->server.hostname, SystemClock().now());
  if (!cert) {
    std::cerr << "sluiced: cannot make a self-signed certificate: " << cert.error().message() << "\n";
    return kExitOsErr;
  }
  std::cerr << "sluiced: made a self-signed certificate " << cert->certificate << "\n";
  return 0;
}

Result<routing::Aliases> load_aliases(const config::LocalDelivery& ld) {
  if (ld.aliases.empty() || (!ld.aliases_explicit && !fs::exists(ld.aliases))) return routing::Aliases();
  return routing::Aliases::load(ld.aliases);
}

std::vector<std::string> user_addresses(const config::Config& c) {
  std::vector<std::string> out;
  for (const auto& u : c.users) out.push_back(u.address);
  return out;
}

std::vector<std::string> domain_names(const config::Config& c) {
  std::vector<std::string> out;
  for (const auto& d : c.accepted_domains) out.push_back(d.name);
  return out;
}

int run(const std::string& config_path) {
  // Signals are taken by this thread alone (sigwait below). Block them before any thread
  // starts (RocksDB's, the queue's, the loops'): threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  config::LoadResult loaded = config::load_file(config_path);
  if (!config::report(loaded, config_path, std::cerr, std::cerr)) return kExitConfig;
  auto cfg = std::make_shared<const config::Config>(std::move(*loaded.config));

  auto aliases = load_aliases(cfg->local_delivery);
  if (!aliases) {
    std::cerr << "sluiced: " << aliases.error().message() << "\n";
    return kExitConfig;
  }
  routing::LocalDirectory directory(domain_names(*cfg), user_addresses(*cfg), std::move(*aliases));
  for (const auto& w : directory.warnings()) std::cerr << "sluiced: warning: " << w << "\n";

  const fs::path data_dir = cfg->server.data_dir;
  // The Maildir root is ours to create at start; delivery itself refuses to create a missing
  // root later (it may be an unmounted volume).
  for (const fs::path& dir : {data_dir, fs::path(cfg->local_delivery.maildir_root)}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      std::cerr << "sluiced: cannot create " << dir.string() << ": " << ec.message() << "\n";
      return kExitOsErr;
    }
  }
  SystemClock clock;
  auto store = spool::Store::open(data_dir / "spool");
  if (!store) {
    std::cerr << "sluiced: cannot open the spool in " << (data_dir / "spool").string() << ": "
              << store.error().message() << "\n";
    return kExitOsErr;
  }
  std::vector<spool::QuarantinedRecord> quarantined;
  auto spooled = (*store)->load_all(&quarantined);
  if (!spooled) {
    std::cerr << "sluiced: cannot read the spool: " << spooled.error().message() << "\n";
    return kExitOsErr;
  }
  for (const auto& q : quarantined)
    std::cerr << "sluiced: warning: spool record " << q.key << " moved aside: " << q.reason << "\n";

  log::ProtocolLog protocol_log(data_dir / "logs" / "protocol", log::ProtocolLogKind::receive,
                                cfg->server.hostname, clock);
  log::ProtocolLog send_log(data_dir / "logs" / "protocol", log::ProtocolLogKind::send, cfg->server.hostname, clock);
  log::TrackingLog tracking(data_dir / "logs" / "tracking", cfg->server.hostname, clock);
  log::SessionIdGenerator session_ids(clock);
  log::Metrics metrics_registry;  // GET /metrics
  log::MailMetrics metrics(metrics_registry);
  delivery::MaildirDelivery maildir(cfg->local_delivery.maildir_root, cfg->server.hostname);

  // Outbound: the queue's own event loop, its resolver, client TLS and the SMTP transport.
  // Declared before the queue: the queue must be destroyed first.
  asio::io_context queue_loop;
  auto resolver = dns::make_unbound_resolver(queue_loop, cfg->dns);
  auto client_tls = delivery::make_client_tls_context();
  if (!client_tls) {
    std::cerr << "sluiced: " << client_tls.error().message() << "\n";
    return kExitOsErr;
  }
  delivery::SmtpDeliveryContext delivery_context{queue_loop.get_executor(), send_log, session_ids,
                                                 cfg->server.hostname, **client_tls, {}};
  // Our own names drop MX records that point back at us (RFC 5321 §5.1 loop rule).
  routing::TargetResolver targets(*resolver, routing::make_system_random(), {cfg->server.hostname});
  queue::SmtpTransport transport(delivery_context, targets);
  // The queue mints ids for DSNs and forwarded copies; no receive loop uses this generator number.
  QueueIdGenerator queue_ids(clock, QueueIdGenerator::kMaxGenerators - 1);
  queue::QueueManager queue(
      queue::QueueServices{**store, directory, maildir, tracking, clock, queue_loop, transport, queue_ids, &metrics}, cfg,
      queue::QueueOptions{std::max(4u, std::thread::hardware_concurrency())});
  if (!spooled->empty()) std::cerr << "sluiced: recovered " << spooled->size() << " message(s) from the spool\n";
  queue.recover(std::move(*spooled));

  {
    spool::Committer committer(**store, [&metrics](std::chrono::nanoseconds elapsed, size_t messages, bool) {
      metrics.spool_commit(std::chrono::duration<double>(elapsed).count(), messages);
    });
    std::vector<auth::DkimSigner> dkim_signers;
    for (const auto& d : cfg->dkim) {
      auto signer = auth::DkimSigner::load(d.domain, d.selector, d.key_file, d.algorithm);
      if (!signer) {
        std::cerr << "sluiced: [[dkim]] " << d.domain << ": " << signer.error().message() << "\n";
        return kExitConfig;
      }
      dkim_signers.push_back(std::move(*signer));
    }
    daemon::SpoolSink sink(committer, queue, tracking, *cfg, dkim_signers, clock);
    std::vector<auth::ConfiguredUser> configured;
    for (const auto& u : cfg->users) configured.push_back({u.address, u.password_hash});
    auto users = auth::UserStore::load(cfg->server.users_file, configured);
    if (!users) {
      std::cerr << "sluiced: " << users.error().message() << "\n";
      return kExitConfig;
    }
    // Inbound protection. The queue's resolver serves it too: any thread may ask.
    policy::DnsblChecker dnsbl(*resolver, cfg->protection.dnsbl);
    policy::LocalGreylistStore greylist_store((data_dir / "greylist").string());
    if (auto r = greylist_store.load(); !r)
      std::cerr << "sluiced: warning: greylisting starts empty: " << r.error().message() << "\n";
    policy::Greylist greylist(cfg->protection.greylist, greylist_store, clock);
    policy::RateLimits rates(clock);
    policy::ProtectionServices protection{cfg->protection, &dnsbl, resolver.get(), &greylist, &rates};
    daemon::PolicyFactory policies(directory, *cfg, *users, clock, protection);
    net::SmtpServer server(cfg, net::ServerServices{policies, sink, protocol_log, session_ids, clock, &metrics});
    std::vector<std::string> bound;
    if (auto r = server.bind(cfg->server.threads, bound); !r) {
      std::cerr << "sluiced: " << r.error().message() << "\n";
      return kExitOsErr;
    }
    for (const auto& line : bound) std::cout << "listening " << line << "\n";
    server.start([&] {
      protocol_log.tick();
      send_log.tick();
      tracking.tick();
    });
    // Reload (SIGHUP or POST /api/v1/reload): an invalid file is refused with every error and
    // the running configuration stays. A valid one applies what can change live today — send
    // connectors, queue settings and routing (the queue re-routes waiting mail), certificates;
    // changed receive connectors and listeners still need a restart (said in the answer).
    auto reload = [&config_path, &queue, &server]() -> Result<void> {
      config::LoadResult r = config::load_file(config_path);
      if (!r.ok()) {
        std::string all;
        for (const auto& d : r.errors) all += (all.empty() ? "" : "; ") + d.to_string();
        return fail(ErrorClass::config, all);
      }
      queue.set_config(std::make_shared<const config::Config>(std::move(*r.config)));
      for (const auto& m : server.reload_certificates()) std::cerr << "sluiced: " << m << "\n";
      std::cerr << "sluiced: configuration reloaded (send connectors, queue, certificates; receive connectors "
                   "and listeners change at the next restart)\n";
      return {};
    };
    // The admin API on its own threads (cpp-httplib), never on an SMTP loop.
    admin::QueueBackend admin_backend(queue, **store);
    std::unique_ptr<admin::AdminServer> admin_server;
    if (cfg->admin.enabled) {
      auto token = admin::load_or_create_token(cfg->admin.token_file);
      if (!token) {
        std::cerr << "sluiced: " << token.error().context << "\n";
        return kExitConfig;
      }
      admin::AdminOptions admin_options;
      admin_options.listen = cfg->admin.listen;
      admin_options.token = *token;
      admin_options.hostname = cfg->server.hostname;
      admin_options.version = std::string(kVersion);
      auto started = admin::AdminServer::start(
          admin::AdminServices{admin_backend, metrics_registry, clock, data_dir / "logs" / "tracking", reload,
                               data_dir / "logs" / "protocol"},
          admin_options);
      if (!started) {
        std::cerr << "sluiced: " << started.error().context << "\n";
        return kExitOsErr;
      }
      admin_server = std::move(*started);
      std::cout << "listening admin "
                << config::ListenAddress{cfg->admin.listen.host, admin_server->port()}.to_string() << "\n";
    }
    std::cout << "ready" << std::endl;

    // Mail that `sendmail` left in the maildrop while we were down or answering 4xx; checked
    // at start and every minute. Its own id generator: the queue's is not shared across threads.
    QueueIdGenerator maildrop_ids(clock, QueueIdGenerator::kMaxGenerators - 2);
    auto pick_up_maildrop = [&] {
      const auto report = queue::pick_up_maildrop(
          (data_dir / "maildrop").string(), {.hostname = cfg->server.hostname}, maildrop_ids, clock,
          [&sink](smtp::Message&& m) -> Result<void> {
            std::promise<Result<void>> stored;  // a file is removed only once its message is on disk
            auto future = stored.get_future();
            sink.accept(std::make_unique<smtp::Message>(std::move(m)),
                        [&stored](Result<void> r) { stored.set_value(std::move(r)); });
            return future.get();
          });
      if (report.submitted) std::cerr << "sluiced: picked up " << report.submitted << " message(s) from the maildrop\n";
      for (const auto& p : report.problems) std::cerr << "sluiced: maildrop: " << p << "\n";
    };
    pick_up_maildrop();

    for (;;) {
      const timespec minute{60, 0};
      const int sig = sigtimedwait(&signals, nullptr, &minute);
      if (sig < 0) {
        pick_up_maildrop();
        continue;
      }
      if (sig == SIGHUP) {
        if (auto r = reload(); !r)
          std::cerr << "sluiced: SIGHUP: the new configuration is refused, the running one stays: "
                    << r.error().message() << "\n";
        continue;
      }
      std::cerr << "sluiced: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ": shutting down\n";
      break;
    }
    if (admin_server) admin_server->stop();  // no admin call may outlive the queue
    server.stop();
    server.join();
    {  // greylisting state survives restarts
      const auto keep = std::max(cfg->protection.greylist.lifetime, cfg->protection.greylist.pass_for);
      const int64_t now_us =
          std::chrono::duration_cast<std::chrono::microseconds>(clock.now().time_since_epoch()).count();
      if (auto r = greylist_store.save(now_us, int64_t(keep.count()) * 1000000); !r)
        std::cerr << "sluiced: warning: greylisting state not saved: " << r.error().message() << "\n";
    }
    // The committer's destructor commits what sessions handed over and runs their callbacks.
  }
  queue.stop();
  protocol_log.flush();
  send_log.flush();
  tracking.flush();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) config_path = argv[++i];
    else if (arg == "--write-default-config" && i + 1 < argc) return write_default_config(argv[++i]);
    else if (arg == "--version") {
      std::cout << "sluiced " << kVersion << "\n";
      return 0;
    } else return usage();
  }
  if (config_path.empty()) return usage();
  try {
    return run(config_path);
  } catch (const std::exception& e) {  // start-up only: the data path returns Results
    std::cerr << "sluiced: " << e.what() << "\n";
    return kExitOsErr;
  }
}
