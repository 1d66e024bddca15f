// admin/admin_server.cpp: see admin_server.hpp.
#include "admin/admin_server.hpp"

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "admin/admin_views.hpp"
#include "admin/http.hpp"
#include "log/log_format.hpp"

namespace sluice::admin {

using nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", kJson);
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, json{{"error", {{"status", status}, {"message", message}}}});
}

// ErrorClass → HTTP: no such thing 404, busy 409, a bad request 400, our own trouble 500.
int status_of(const Error& e) {
  switch (e.klass) {
    case ErrorClass::permanent: return 404;
    case ErrorClass::transient: return 409;
    case ErrorClass::config: return 422;
    default: return 500;
  }
}

std::multimap<std::string, std::string> params_of(const httplib::Request& req) {
  return std::multimap<std::string, std::string>(req.params.begin(), req.params.end());
}

bool flag(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.get_param_value(name);
  return v.empty() || v == "1" || v == "true" || v == "yes";
}

}  // namespace

struct AdminServer::Impl {
  AdminServices s;
  AdminOptions o;
  httplib::Server http;
  std::thread thread;
  int port = 0;
  SystemTime started;
  std::atomic<bool> stopped{false};

  Impl(AdminServices services, AdminOptions options) : s(std::move(services)), o(std::move(options)) {}

  void routes() {
    http.new_task_queue = [n = o.threads] { return new httplib::ThreadPool(std::max(1u, n)); };
    // httplib's default adds SO_REUSEPORT, which lets a second daemon bind the same port and
    // take half the requests; SO_REUSEADDR alone still allows a quick restart.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (authorized(req.get_header_value("Authorization"), o.token)) return httplib::Server::HandlerResponse::Unhandled;
      res.set_header("WWW-Authenticate", "Bearer realm=\"sluice\"");
      send_error(res, 401,
                 req.has_header("Authorization")
                     ? "wrong admin token: use the token in the daemon's [admin] token_file (default <data_dir>/admin.token)"
                     : "missing admin token: send 'Authorization: Bearer <token>' with the token from the daemon's "
                       "[admin] token_file (default <data_dir>/admin.token)");
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, 500, "internal error: " + what + " (see the daemon's log)");
    });
    // Unknown routes get JSON too.
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 404 && res.body.empty())
        send_error(res, 404, "no such route: " + req.method + " " + req.path + " (routes are under /api/v1 and /metrics)");
    });

    http.Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
      const auto stats = s.backend.stats();
      const auto now = s.clock.now();
      send_json(res, 200,
                json{{"version", o.version},
                     {"hostname", o.hostname},
                     {"started", rfc3339(started)},
                     {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(now - started).count()},
                     {"queues", s.backend.queues().size()},
                     {"messages", {{"ready", stats.ready}, {"waiting", stats.waiting}}},
                     {"recipients", {{"delivered", stats.delivered}, {"deferred", stats.deferred}, {"failed", stats.failed}}},
                     {"dsns", stats.dsns}});
    });

    http.Get("/api/v1/queues", [this](const httplib::Request&, httplib::Response& res) {
      json out = json::array();
      for (const auto& q : s.backend.queues()) out.push_back(queue_json(q));
      send_json(res, 200, out);
    });
    http.Get(R"(/api/v1/queues/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string name = req.matches[1];
      for (const auto& q : s.backend.queues())
        if (q.identity == name) return send_json(res, 200, queue_json(q));
      send_error(res, 404, "no queue named '" + name + "' (list them with GET /api/v1/queues)");
    });
    http.Post(R"(/api/v1/queues/([^/]+)/([a-z]+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string name = req.matches[1], verb = req.matches[2];
      auto action = parse_queue_action(verb);
      if (!action) return send_error(res, 404, "unknown queue action '" + verb + "': use retry, suspend or resume");
      auto r = s.backend.act(name, *action);
      if (!r) return send_error(res, status_of(r.error()), r.error().context);
      send_json(res, 200, json{{"queue", name}, {"action", verb}, {"result", "done"}});
    });

    http.Get("/api/v1/messages", [this](const httplib::Request& req, httplib::Response& res) {
      auto q = parse_message_query(params_of(req));
      if (!q) return send_error(res, 400, q.error().context);
      const auto now = s.clock.now();
      json out = json::array();
      for (const auto& m : s.backend.messages())
        if (matches(m, *q, now)) out.push_back(message_json(m, now));
      send_json(res, 200, out);
    });
    http.Post(R"(/api/v1/messages/(retry|suspend|resume|remove))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string verb = req.matches[1];
      auto q = parse_message_query(params_of(req));
      if (!q) return send_error(res, 400, q.error().context);
      if (q->empty() && !flag(req, "all"))
        return send_error(res, 400, "a bulk " + verb + " needs a filter (queue, status, from, to, min_age, min_size) or all=1");
      const auto action = *parse_message_action(verb, flag(req, "ndr"));
      const auto now = s.clock.now();
      json done = json::array(), failed = json::array();
      size_t matched = 0;
      for (const auto& m : s.backend.messages()) {
        if (!matches(m, *q, now)) continue;
        ++matched;
        auto r = s.backend.act_on_message(m.queue_id, action);
        if (r) done.push_back(m.queue_id);
        else failed.push_back(json{{"queue_id", m.queue_id}, {"message", r.error().context}});
      }
      send_json(res, 200, json{{"action", verb}, {"matched", matched}, {"done", done}, {"failed", failed}});
    });
    http.Get(R"(/api/v1/messages/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.matches[1];
      for (const auto& m : s.backend.messages()) {
        if (m.queue_id != id) continue;
        json j = message_json(m, s.clock.now());
        auto content = s.backend.content(id);
        j["headers"] = content ? header_fields(*content) : json::array();
        if (!content) j["content_error"] = content.error().context;
        // The last failed attempt's SMTP conversation, from the SEND protocol log.
        j["last_failed_transcript"] = nullptr;
        for (auto it = m.attempts.rbegin(); it != m.attempts.rend(); ++it) {
          if (it->status == "delivered" || it->connector.empty()) continue;
          const std::string endpoint = it->remote_ip.empty() ? "" : log::format_endpoint(it->remote_ip, it->port);
          if (auto t = find_transcript(s.protocol_dir, id, endpoint)) j["last_failed_transcript"] = *t;
          break;
        }
        return send_json(res, 200, j);
      }
      send_error(res, 404, "no message " + id + " in the queue (delivered, removed, or never here; search GET /api/v1/track?queue_id=" + id + ")");
    });
    http.Get(R"(/api/v1/messages/([^/]+)/export)", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.matches[1];
      auto content = s.backend.content(id);
      if (!content) return send_error(res, status_of(content.error()), content.error().context);
      res.set_header("Content-Disposition", "attachment; filename=\"" + id + ".eml\"");
      res.set_content(std::move(*content), "message/rfc822");
    });
    http.Post(R"(/api/v1/messages/([^/]+)/([a-z]+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.matches[1], verb = req.matches[2];
      auto action = parse_message_action(verb, flag(req, "ndr"));
      if (!action) return send_error(res, 404, "unknown message action '" + verb + "': use retry, suspend, resume or remove");
      auto r = s.backend.act_on_message(id, *action);
      if (!r) return send_error(res, status_of(r.error()), r.error().context);
      send_json(res, 200, json{{"queue_id", id}, {"action", verb}, {"ndr", *action == MessageAction::remove_ndr}, {"result", "done"}});
    });

    http.Get("/api/v1/track", [this](const httplib::Request& req, httplib::Response& res) {
      auto q = parse_track_query(params_of(req));
      if (!q) return send_error(res, 400, q.error().context);
      auto found = search_tracking(s.tracking_dir, *q);
      if (!found) return send_error(res, 500, found.error().context);
      send_json(res, 200, *found);
    });

    http.Post("/api/v1/reload", [this](const httplib::Request&, httplib::Response& res) {
      if (!s.reload) return send_error(res, 501, "this daemon cannot reload; restart it to apply a new configuration");
      auto r = s.reload();
      if (!r) return send_error(res, 422, "configuration not reloaded, the old one keeps running: " + r.error().context);
      send_json(res, 200, json{{"result", "reloaded"}});
    });

    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::string text = s.metrics.render();
      text += queue_metrics(s.backend.queues(), s.backend.messages(), s.clock.now());
      res.set_content(std::move(text), "text/plain; version=0.0.4; charset=utf-8");
    });
  }
};

Result<std::unique_ptr<AdminServer>> AdminServer::start(AdminServices services, AdminOptions options) {
  if (options.token.empty()) return fail(ErrorClass::config, "the admin API needs a token (load_or_create_token)");
  auto impl = std::make_unique<Impl>(std::move(services), std::move(options));
  impl->started = impl->s.clock.now();
  impl->routes();
  const std::string& host = impl->o.listen.host;
  if (impl->o.listen.port == 0) {
    impl->port = impl->http.bind_to_any_port(host);
  } else {
    impl->port = impl->http.bind_to_port(host, impl->o.listen.port) ? impl->o.listen.port : -1;
  }
  if (impl->port <= 0)
    return fail(ErrorClass::config, "admin API: cannot listen on " + impl->o.listen.to_string() +
                                        " (in use by another program, or not an address of this host); change [admin] listen");
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  // httplib's stop() does nothing before the listener runs, so a stop() right after start()
  // would leave the thread listening and the join waiting forever: start() returns only once
  // it runs (bounded: listen_after_bind only fails at once, on a socket that bind() refused).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!impl->http.is_running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() { stop(); }

uint16_t AdminServer::port() const { return static_cast<uint16_t>(impl_->port); }

void AdminServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace sluice::admin
