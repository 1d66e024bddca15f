// net/smtp_server.cpp: see smtp_server.hpp. The only file that puts Asio and the SMTP
// session together; it includes Asio, so keep it out of headers.
#include "net/smtp_server.hpp"

#include <sys/socket.h>

#include <array>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <cstdio>
#include <exception>
#include <list>
#include <map>
#include <optional>
#include <thread>

#include "base/assert.hpp"
#include "base/queue_id.hpp"
#include "log/log_format.hpp"
#include "net/connection_limits.hpp"
#include "net/protocol_observer.hpp"
#include "net/session_stream.hpp"
#include "net/tls_context.hpp"
#include "smtp/server_session.hpp"

namespace sluice::net {

namespace {

using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Bytes read per receive. Small on purpose: it lives in every session's coroutine frame, and
// idle connections should cost little memory.
constexpr size_t kReadChunk = 4096;

// The TLS handshake deadline: long enough for a slow client on a bad link, short enough that
// idle half-open handshakes do not pile up (RFC 5321 has no word for it).
constexpr std::chrono::seconds kHandshakeTimeout{30};

// Threads for password checks (Argon2id: CPU and 64 MiB each): a small fixed pool bounds the
// memory a login burst can take; the event loops never wait on it.
constexpr unsigned kPasswordThreads = 2;

// Hands the message to the sink and resumes the awaiting session on its own loop once the
// commit is done. The tracked executor keeps the loop alive while the disk works.
template <typename Token>
auto async_commit(MessageSink& sink, std::unique_ptr<smtp::Message> message, Token&& token) {
  return asio::async_initiate<Token, void(Result<void>)>(
      [&sink](auto handler, std::unique_ptr<smtp::Message> m) {
        auto work = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        sink.accept(std::move(m), [work, shared](Result<void> result) {
          asio::post(work, [shared, result = std::move(result)]() mutable {
            (*shared)(std::move(result));
          });
        });
      },
      token, std::move(message));
}

// Runs the slow password check on the blocking pool and resumes the session on its own loop
// with the verdict (DESIGN.md "Concurrency"). The credentials live only in the closure.
template <typename Token>
auto async_verify(asio::thread_pool& pool, smtp::Authenticator& auth, smtp::PasswordCheck check, Token&& token) {
  return asio::async_initiate<Token, void(bool)>(
      [&pool, &auth](auto handler, smtp::PasswordCheck c) {
        auto work = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        asio::post(pool, [&auth, work, c = std::move(c), handler = std::move(handler)]() mutable {
          const bool verified = auth.verify_password(c.username, c.password);
          c.password.assign(c.password.size(), '\0');
          asio::post(work, [handler = std::move(handler), verified]() mutable { handler(verified); });
        });
      },
      token, std::move(check));
}

// Waits for a session policy's pending decision (SessionPolicy::await_verdict) and resumes
// the session on its own loop, whatever thread the policy answers on (a resolver's loop, a
// store's thread). The tracked executor keeps the loop alive meanwhile.
template <typename Token>
auto async_verdict(smtp::SessionPolicy& policy, Token&& token) {
  return asio::async_initiate<Token, void(smtp::Verdict)>(
      [&policy](auto handler) {
        auto work = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        policy.await_verdict([work, shared](smtp::Verdict verdict) {
          asio::post(work, [shared, verdict = std::move(verdict)]() mutable { (*shared)(std::move(verdict)); });
        });
      },
      token);
}

std::string unmapped_text(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

// The completion of a spawned coroutine: its outermost frame (STYLE.md "Errors"). asio::detached
// would drop an escaping exception without a word.
auto log_exception(const char* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "sluiced: %s ended by an exception: %s\n", what, ex.what());
    } catch (...) {
      std::fprintf(stderr, "sluiced: %s ended by an unknown exception\n", what);
    }
  };
}

smtp::SessionSettings settings_for(const config::ReceiveConnector& c, const std::string& hostname) {
  smtp::SessionSettings s;
  s.hostname = hostname;
  s.banner_text = c.banner;
  s.connector = c.name;
  s.max_message_size = c.max_message_size;
  s.max_recipients = c.max_recipients;
  s.max_errors = static_cast<int>(c.max_errors);
  s.max_hop_count = static_cast<int>(c.max_hop_count);
  s.command_timeout = c.command_timeout;
  s.data_block_timeout = c.data_timeout;
  s.tls_available = c.offers_tls();
  s.require_tls = c.require_tls;
  s.allow_plaintext_auth = c.allow_plaintext_auth;
  // RFC 6409: a client (submission) connector takes mail only from authenticated users and
  // completes what mail clients leave out.
  s.auth_required = c.usage == config::ConnectorUsage::client;
  s.add_missing_headers = c.usage == config::ConnectorUsage::client;
  s.sender_login_match = c.sender_login_match;
  return s;
}

}  // namespace

// A live session, as its loop knows it: enough to end it at shutdown.
struct Connection {
  tcp::socket socket;
  bool shutting_down = false;
};

struct Loop {
  Loop(unsigned i, const Clock& clock) : index(i), ids(clock, i) {}
  unsigned index;
  // Declared before ctx so that it outlives it: a session frame still held by the context
  // when it is destroyed unregisters itself from this list.
  std::list<Connection*> connections;  // touched only on this loop's thread
  bool stopping = false;               // stop() ran here; touched only on this loop's thread
  asio::io_context ctx{1};
  QueueIdGenerator ids;
  struct Acceptor {
    config::ListenAddress address;           // as configured
    const config::ReceiveConnector* owner;   // the connector of a port-0 socket, else null
    std::unique_ptr<tcp::acceptor> acceptor;
  };
  std::vector<Acceptor> acceptors;
  std::optional<asio::steady_timer> ticker;
  std::thread thread;
};

struct SmtpServer::Impl {
  Impl(std::shared_ptr<const config::Config> c, ServerServices s) : config(std::move(c)), services(s) {}

  awaitable<void> accept_loop(Loop& loop, const Loop::Acceptor& acceptor);
  awaitable<void> serve(Loop& loop, tcp::socket socket, const Loop::Acceptor& acceptor);
  awaitable<void> tick_loop(Loop& loop);
  awaitable<bool> write_all(SessionStream& stream, const std::string& bytes, std::chrono::seconds timeout);
  Result<std::unique_ptr<tcp::acceptor>> listen(Loop& loop, const tcp::endpoint& endpoint);

  std::shared_ptr<const config::Config> config;
  ServerServices services;
  ConnectionLimits limits;
  std::vector<std::unique_ptr<Loop>> loops;
  std::function<void()> on_tick;
  // Per TLS connector (by name), loaded at bind, shared by every loop.
  std::map<std::string, std::unique_ptr<ServerTlsContext>, std::less<>> tls;
  asio::thread_pool password_pool{kPasswordThreads};
};

Result<std::unique_ptr<tcp::acceptor>> SmtpServer::Impl::listen(Loop& loop, const tcp::endpoint& endpoint) {
  auto acceptor = std::make_unique<tcp::acceptor>(loop.ctx);
  asio::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->set_option(ReusePort(true), ec);
  if (!ec && endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(ErrorClass::config, "cannot listen on " +
                                        log::format_endpoint(endpoint.address().to_string(), endpoint.port()) +
                                        ": " + ec.message());
  }
  return acceptor;
}

awaitable<void> SmtpServer::Impl::accept_loop(Loop& loop, const Loop::Acceptor& a) {
  for (;;) {
    auto [ec, socket] = co_await a.acceptor->async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !a.acceptor->is_open()) co_return;
    if (ec) {
      // EMFILE and friends: say so once per failure and go on; the kernel keeps the backlog.
      std::fprintf(stderr, "sluiced: accept on %s failed: %s\n", a.address.to_string().c_str(),
                   ec.message().c_str());
      asio::steady_timer pause(loop.ctx, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    asio::co_spawn(loop.ctx, serve(loop, std::move(socket), a), log_exception("session"));
  }
}

awaitable<bool> SmtpServer::Impl::write_all(SessionStream& stream, const std::string& bytes,
                                            std::chrono::seconds timeout) {
  if (bytes.empty()) co_return true;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto result = co_await (stream.write(asio::buffer(bytes)) || timer.async_wait(use_tuple));
  if (result.index() != 0) co_return false;  // the client stopped reading
  auto [ec, n] = std::get<0>(result);
  co_return !ec;
}

awaitable<void> SmtpServer::Impl::serve(Loop& loop, tcp::socket socket, const Loop::Acceptor& acceptor) {
  const config::ListenAddress& bound = acceptor.address;
  asio::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) co_return;
  const tcp::endpoint local = socket.local_endpoint(ec);
  if (ec) co_return;
  socket.set_option(tcp::no_delay(true), ec);

  Connection conn{std::move(socket)};
  SessionStream stream(conn.socket);
  loop.connections.push_front(&conn);
  auto registration = loop.connections.begin();
  struct Unregister {
    Loop& loop;
    std::list<Connection*>::iterator it;
    ~Unregister() { loop.connections.erase(it); }
  } unregister{loop, registration};
  // Accepted just before stop() ran on this loop but started after it: stop() did not see
  // this connection, so it ends itself (421) instead of holding the shutdown up.
  if (loop.stopping) conn.shutting_down = true;

  const std::string client_ip = unmapped_text(remote.address());
  const std::string local_ip = unmapped_text(local.address());
  const std::string& hostname = config->server.hostname;
  const auto ip = config::IpAddress::parse(client_ip);
  const config::ReceiveConnector* connector = nullptr;
  if (ip && acceptor.owner) connector = acceptor.owner->accepts(*ip) ? acceptor.owner : nullptr;
  else if (ip) connector = config::select_connector(*config, bound, *ip);
  const std::string connector_name = connector ? connector->name : bound.to_string();
  ProtocolObserver observer(connector == nullptr || connector->protocol_log ? &services.protocol_log : nullptr,
                            connector_name, services.session_ids.next(),
                            log::format_endpoint(local_ip, local.port()),
                            log::format_endpoint(client_ip, remote.port()));
  observer.set_metrics(services.metrics);  // metrics (admin)
  observer.on_connect();

  // Temporaries are kept out of co_await expressions on purpose: GCC 12 destroys
  // temporaries of a conditional expression inside a co_await twice (GCC bug 101367 family).
  std::optional<Reply> refusal_reply;
  std::string refusal_why;
  std::optional<ConnectionLimits::Ticket> ticket;
  if (!connector) {
    refusal_reply = Reply(554, "5.7.1", hostname + " No receive connector accepts connections from [" +
                                            client_ip + "] on " + bound.to_string());
    refusal_why = "no receive connector for this client";
  } else {
    ConnectionLimits::Refusal refusal;
    ticket = limits.acquire(connector->name, client_ip, connector->max_connections,
                            connector->max_connections_per_ip, refusal);
    if (!ticket && refusal == ConnectionLimits::Refusal::client_full) {
      refusal_reply = Reply(421, "4.7.0", hostname + " Too many connections from [" + client_ip + "]");
      refusal_why = "max_connections_per_ip reached";
    } else if (!ticket) {
      refusal_reply = Reply(421, "4.7.0", hostname + " Too many connections, try again later");
      refusal_why = "max_connections reached";
    }
  }
  if (refusal_reply) {
    observer.on_reply(*refusal_reply);
    const std::string wire = refusal_reply->wire();
    co_await write_all(stream, wire, std::chrono::seconds(10));
    observer.on_disconnect(refusal_why);
    co_return;
  }

  const smtp::SessionSettings settings = settings_for(*connector, hostname);
  const auto tls_it = tls.find(connector->name);
  const ServerTlsContext* tls_context = tls_it == tls.end() ? nullptr : tls_it->second.get();
  smtp::ClientInfo client{client_ip, remote.port(), local_ip, local.port(), ""};
  if (connector->implicit_tls) {
    // RFC 8314 §3.3: the handshake comes first; the greeting goes over TLS.
    asio::error_code tls_ec = asio::error::operation_not_supported;
    if (tls_context) tls_ec = co_await stream.start_tls(tls_context->new_connection(), kHandshakeTimeout);
    if (tls_ec) {
      observer.on_info("TLS handshake failed: " + tls_ec.message(), "TLS negotiation failed");
      conn.socket.close(ec);
      observer.on_disconnect("TLS handshake failed");
      co_return;
    }
    client.tls = stream.tls_info();
    if (services.metrics) services.metrics->tls_inbound(connector_name, client.tls->version);  // metrics (admin)
    observer.on_info("TLS protocol " + client.tls->version + " negotiated with cipher " + client.tls->cipher,
                     "TLS negotiation succeeded");
  }
  std::unique_ptr<smtp::SessionPolicy> policy = services.policies.make(*connector, loop.ids);
  smtp::Authenticator* authenticator = services.policies.authenticator(*connector);
  smtp::ServerSession session(settings, *policy, observer, services.clock, client, authenticator);

  std::string why = "session closed";
  std::array<char, kReadChunk> buffer;
  for (;;) {
    const smtp::SessionAction action = session.poll();
    const std::string output = session.take_output();
    if (!co_await write_all(stream, output, settings.command_timeout)) {
      why = "client stopped reading";
      break;
    }
    if (action == smtp::SessionAction::close) break;
    if (action == smtp::SessionAction::submit) {
      auto message = std::make_unique<smtp::Message>(session.take_message());
      Result<void> committed = co_await async_commit(services.sink, std::move(message), asio::use_awaitable);
      if (services.metrics && committed) services.metrics->received(connector_name);  // metrics (admin)
      session.on_submitted(committed);
      if (conn.shutting_down) session.on_shutdown();
      continue;
    }
    if (action == smtp::SessionAction::start_tls) {
      // The 220 is out; nothing else is read from the plain socket (CVE-2011-0411).
      asio::error_code tls_ec = asio::error::operation_not_supported;
      if (tls_context) tls_ec = co_await stream.start_tls(tls_context->new_connection(), kHandshakeTimeout);
      if (tls_ec) {
        observer.on_info(tls_ec.message(), "TLS handshake failed");
        session.on_tls_failed();
        why = "TLS handshake failed";
      } else {
        session.on_tls_started(stream.tls_info());
        if (services.metrics) services.metrics->tls_inbound(connector_name, stream.tls_info().version);  // metrics (admin)
      }
      if (conn.shutting_down) session.on_shutdown();
      continue;
    }
    if (action == smtp::SessionAction::verify_password) {
      SLUICE_ASSERT(authenticator != nullptr);
      bool verified = co_await async_verify(password_pool, *authenticator, session.take_password_check(),
                                            asio::use_awaitable);
      session.on_password_verified(verified);
      if (conn.shutting_down) session.on_shutdown();
      continue;
    }
    if (action == smtp::SessionAction::wait_policy) {
      // Not cancelled at shutdown: the policy's lookups end by their own deadlines, and the
      // session answers the waiting command before its 421.
      smtp::Verdict verdict = co_await async_verdict(*policy, asio::use_awaitable);
      session.on_policy_result(verdict);
      if (conn.shutting_down) session.on_shutdown();
      continue;
    }
    if (conn.shutting_down) {
      session.on_shutdown();
      why = "server shutting down";
      continue;
    }
    asio::steady_timer timer(loop.ctx, session.current_timeout());
    auto result = co_await (stream.read_some(asio::buffer(buffer)) || timer.async_wait(use_tuple));
    if (result.index() != 0) {
      session.on_timeout();
      why = "timeout";
      continue;
    }
    auto [read_ec, n] = std::get<0>(result);
    if (read_ec == asio::error::operation_aborted && conn.shutting_down) continue;
    if (read_ec) {
      session.on_eof();
      why = read_ec == asio::error::eof ? "client disconnected" : read_ec.message();
      continue;
    }
    session.feed(std::string_view(buffer.data(), n));
  }
  if (stream.secure() && why != "TLS handshake failed") co_await stream.shutdown(std::chrono::seconds(5));
  conn.socket.shutdown(tcp::socket::shutdown_both, ec);
  conn.socket.close(ec);
  observer.on_disconnect(why);
}

awaitable<void> SmtpServer::Impl::tick_loop(Loop& loop) {
  for (;;) {
    loop.ticker->expires_after(std::chrono::seconds(1));
    auto [ec] = co_await loop.ticker->async_wait(use_tuple);
    if (on_tick) on_tick();
    if (ec) co_return;  // cancelled at shutdown, after one last tick
  }
}

SmtpServer::SmtpServer(std::shared_ptr<const config::Config> config, ServerServices services)
    : impl_(std::make_unique<Impl>(std::move(config), services)) {}

SmtpServer::~SmtpServer() {
  stop();
  join();
  impl_->password_pool.join();
}

std::vector<std::string> SmtpServer::reload_certificates() {
  std::vector<std::string> messages;
  for (auto& [name, context] : impl_->tls) {
    auto reloaded = context->reload(impl_->services.clock.now(), messages);
    if (!reloaded) messages.push_back(reloaded.error().context + " (the old certificates stay in use)");
  }
  return messages;
}

Result<void> SmtpServer::bind(unsigned threads, std::vector<std::string>& bound) {
  // Certificates first: a connector that cannot offer the TLS it promises must not listen.
  for (const auto& c : impl_->config->receive_connectors) {
    if (!c.offers_tls()) {
      if (c.implicit_tls) return fail(ErrorClass::config, c.name + ": implicit_tls needs a certificate");
      continue;
    }
    std::vector<std::string> warnings;
    auto context = ServerTlsContext::load(c, impl_->services.clock.now(), warnings);
    if (!context) return fail(context.error());
    for (const std::string& w : warnings) std::fprintf(stderr, "sluiced: warning: %s\n", w.c_str());
    impl_->tls[c.name] = std::move(*context);
  }

  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, QueueIdGenerator::kMaxGenerators);
  for (unsigned i = 0; i < threads; ++i) impl_->loops.push_back(std::make_unique<Loop>(i, impl_->services.clock));

  // Every distinct listen address once, whatever number of connectors share it: the client's
  // address then selects the connector. A port-0 address is the exception: each one is its
  // own ephemeral socket, owned by the connector that lists it.
  struct Socket {
    config::ListenAddress address;
    const config::ReceiveConnector* owner;  // set for port 0
  };
  std::vector<Socket> sockets;
  for (const auto& c : impl_->config->receive_connectors)
    for (const auto& l : c.listen) {
      if (l.port == 0) sockets.push_back({l, &c});
      else if (std::none_of(sockets.begin(), sockets.end(), [&](const Socket& s) { return s.address == l; }))
        sockets.push_back({l, nullptr});
    }

  for (const auto& socket : sockets) {
    asio::error_code ec;
    auto ip = asio::ip::make_address(socket.address.host, ec);
    if (ec) return fail(ErrorClass::config, "bad listen address " + socket.address.to_string());
    tcp::endpoint endpoint(ip, socket.address.port);
    for (auto& loop : impl_->loops) {
      auto acceptor = impl_->listen(*loop, endpoint);
      if (!acceptor) return fail(acceptor.error());
      // Port 0: the first loop gets a port from the kernel, the others share it.
      endpoint.port((*acceptor)->local_endpoint().port());
      loop->acceptors.push_back({socket.address, socket.owner, std::move(*acceptor)});
    }
    for (const auto& c : impl_->config->receive_connectors)
      if (socket.owner ? socket.owner == &c
                       : std::find(c.listen.begin(), c.listen.end(), socket.address) != c.listen.end())
        bound.push_back(c.name + " " + log::format_endpoint(socket.address.host, endpoint.port()));
  }
  return ok();
}

void SmtpServer::start(std::function<void()> on_tick) {
  impl_->on_tick = std::move(on_tick);
  for (auto& loop : impl_->loops) {
    for (auto& a : loop->acceptors)
      asio::co_spawn(loop->ctx, impl_->accept_loop(*loop, a), log_exception("accept loop"));
    if (loop->index == 0) {
      loop->ticker.emplace(loop->ctx);
      asio::co_spawn(loop->ctx, impl_->tick_loop(*loop), asio::detached);
    }
    loop->thread = std::thread([l = loop.get()] { l->ctx.run(); });
  }
}

void SmtpServer::stop() {
  for (auto& loop : impl_->loops) {
    asio::post(loop->ctx, [l = loop.get()] {
      asio::error_code ec;
      l->stopping = true;
      for (auto& a : l->acceptors) a.acceptor->close(ec);
      for (Connection* c : l->connections) {
        c->shutting_down = true;
        c->socket.cancel(ec);
      }
      if (l->ticker) l->ticker->cancel();
    });
  }
}

void SmtpServer::join() {
  for (auto& loop : impl_->loops)
    if (loop->thread.joinable()) loop->thread.join();
}

}  // namespace sluice::net
