// dns/unbound_resolver.cpp: Resolver on libunbound, driven by one Asio event loop.
// Owns: the ub_ctx (threaded async mode: libunbound's worker threads do the network I/O, the
// loop only reads finished answers from ub_fd()), the per-query deadline, and decoding the
// rdata of A, AAAA, MX, TXT and PTR (RFC 1035 §3.3.9, §3.3.12, §3.3.14, §3.4.1; RFC 3596).
// Not: interpretation of answers for delivery (routing/, delivery/outcome).
//
// Why threaded mode: the default async mode forks a helper process, which a daemon with
// RocksDB and other threads must not do. Why our own deadline: unbound retries a silent server
// for a long time; a delivery attempt wants "timeout" after [dns] timeout, then a retry later.
// Why completions are posted rather than called inside ub_process(): a callback may start new
// queries or destroy the resolver, neither of which is allowed while unbound is dispatching.
#include "dns/unbound_resolver.hpp"

#include <arpa/inet.h>
#include <unistd.h>
#include <unbound.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

namespace sluice::dns {
namespace {

constexpr int kTypeA = 1;
constexpr int kTypePtr = 12;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kClassIn = 1;

const char* type_name(int rrtype) {
  switch (rrtype) {
    case kTypeA: return "A";
    case kTypePtr: return "PTR";
    case kTypeMx: return "MX";
    case kTypeTxt: return "TXT";
    case kTypeAaaa: return "AAAA";
  }
  return "?";
}

std::string rcode_name(int rcode) {
  switch (rcode) {
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
  }
  return "RCODE " + std::to_string(rcode);
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A domain name in uncompressed wire form (unbound hands out rdata decompressed), as lower-case
// text without the trailing dot; "" for the root. nullopt if malformed.
std::optional<std::string> wire_name(std::string_view data, size_t& pos) {
  std::string out;
  for (int labels = 0; labels < 128; ++labels) {
    if (pos >= data.size()) return std::nullopt;
    auto len = static_cast<unsigned char>(data[pos++]);
    if (len == 0) return out;
    if (len > 63 || pos + len > data.size()) return std::nullopt;  // 0xC0: a pointer, not expected here
    if (!out.empty()) out += '.';
    for (size_t i = 0; i < len; ++i) out += ascii_lower(data[pos + i]);
    pos += len;
  }
  return std::nullopt;
}

std::optional<MxRecord> parse_mx(std::string_view d) {
  if (d.size() < 3) return std::nullopt;
  MxRecord mx;
  mx.preference = static_cast<uint16_t>((static_cast<unsigned char>(d[0]) << 8) | static_cast<unsigned char>(d[1]));
  size_t pos = 2;
  auto name = wire_name(d, pos);
  if (!name || pos != d.size()) return std::nullopt;
  mx.exchange = std::move(*name);
  return mx;
}

std::optional<std::string> parse_address(std::string_view d, int family) {
  size_t want = family == AF_INET ? 4 : 16;
  if (d.size() != want) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, d.data(), buf, sizeof buf)) return std::nullopt;
  return std::string(buf);
}

std::optional<std::string> parse_txt(std::string_view d) {
  std::string out;
  size_t pos = 0;
  while (pos < d.size()) {
    auto len = static_cast<unsigned char>(d[pos++]);
    if (pos + len > d.size()) return std::nullopt;
    out.append(d.substr(pos, len));
    pos += len;
  }
  return out;
}

std::optional<std::string> parse_ptr(std::string_view d) {
  size_t pos = 0;
  auto name = wire_name(d, pos);
  if (!name || pos != d.size()) return std::nullopt;
  return name;
}

// Turns what unbound reported into an Answer; `parse` decodes one record's rdata.
template <typename T, typename Parse>
Answer<T> to_answer(int err, const ub_result* r, const std::string& name, int rrtype, Parse parse) {
  Answer<T> a;
  const std::string what = std::string(type_name(rrtype)) + " " + name;
  if (err != 0) {
    a.status = err == UB_SERVFAIL ? Status::servfail : Status::error;
    a.detail = std::string("resolver error (") + ub_strerror(err) + ") for " + what;
    return a;
  }
  a.secure = r->secure != 0;
  if (r->bogus) {
    a.status = Status::servfail;
    a.detail = "DNSSEC validation failed for " + what + (r->why_bogus ? std::string(": ") + r->why_bogus : "");
    return a;
  }
  if (r->nxdomain || r->rcode == 3) {
    a.status = Status::nxdomain;
    a.detail = "NXDOMAIN for " + name;
    return a;
  }
  if (r->rcode != 0) {
    a.status = Status::servfail;
    a.detail = rcode_name(r->rcode) + " for " + name;
    return a;
  }
  if (r->havedata) {
    for (int i = 0; r->data[i] != nullptr; ++i) {
      auto rec = parse(std::string_view(r->data[i], static_cast<size_t>(r->len[i])));
      if (!rec) {
        a.status = Status::servfail;  // a broken server answer: transient, like SERVFAIL
        a.records.clear();
        a.detail = std::string("malformed ") + type_name(rrtype) + " record for " + name;
        return a;
      }
      a.records.push_back(std::move(*rec));
    }
  }
  if (a.records.empty()) {
    a.status = Status::nodata;
    a.detail = std::string("no ") + type_name(rrtype) + " record for " + name;
    return a;
  }
  a.status = Status::ok;
  return a;
}

std::string normalize_name(std::string name) {
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return name;
}

class UnboundResolver final : public Resolver {
 public:
  UnboundResolver(asio::io_context& loop, UnboundOptions options)
      : loop_(loop), options_(std::move(options)), alive_(std::make_shared<bool>(true)) {
    setup();
  }

  ~UnboundResolver() override {
    *alive_ = false;
    for (auto& [id, q] : pending_) {
      if (ctx_) ub_cancel(ctx_, q->ub_id);
      asio::post(loop_, q->on_fail(Status::error, "resolver shut down"));
    }
    pending_.clear();
    fd_.reset();
    if (ctx_) ub_ctx_delete(ctx_);
  }

  void mx(std::string name, std::function<void(Answer<MxRecord>)> done) override {
    start<MxRecord>(normalize_name(std::move(name)), kTypeMx, parse_mx, std::move(done), true);
  }
  void a(std::string name, std::function<void(Answer<std::string>)> done) override {
    start<std::string>(normalize_name(std::move(name)), kTypeA,
                       [](std::string_view d) { return parse_address(d, AF_INET); }, std::move(done));
  }
  void aaaa(std::string name, std::function<void(Answer<std::string>)> done) override {
    start<std::string>(normalize_name(std::move(name)), kTypeAaaa,
                       [](std::string_view d) { return parse_address(d, AF_INET6); }, std::move(done));
  }
  void txt(std::string name, std::function<void(Answer<std::string>)> done) override {
    start<std::string>(normalize_name(std::move(name)), kTypeTxt, parse_txt, std::move(done));
  }
  void ptr(std::string ip, std::function<void(Answer<std::string>)> done) override {
    std::string name = reverse_name(ip);
    if (name.empty()) {
      Answer<std::string> a;
      a.status = Status::error;
      a.detail = "not an IP address: " + ip;
      asio::post(loop_, [done = std::move(done), a = std::move(a)]() mutable { done(std::move(a)); });
      return;
    }
    start<std::string>(std::move(name), kTypePtr, parse_ptr, std::move(done));
  }

 private:
  using Completion = std::function<void()>;
  struct Query {
    UnboundResolver* owner = nullptr;
    uint64_t id = 0;
    int ub_id = 0;
    std::string name;
    int rrtype = 0;
    asio::steady_timer timer;
    std::function<Completion(int err, ub_result*)> on_result;
    std::function<Completion(Status, std::string)> on_fail;
    explicit Query(asio::io_context& loop) : timer(loop) {}
  };

  void setup() {
    ctx_ = ub_ctx_create();
    if (!ctx_) {
      setup_error_ = "resolver setup failed: ub_ctx_create";
      return;
    }
    int rc = ub_ctx_async(ctx_, 1);
    // Test servers and local caches (systemd-resolved, a local unbound) listen on loopback,
    // which unbound refuses to query by default.
    if (rc == 0) rc = ub_ctx_set_option(ctx_, "do-not-query-localhost:", "no");
    if (rc != 0) {
      setup_error_ = std::string("resolver setup failed: ") + ub_strerror(rc);
      return;
    }
    // A server that timed out once must not be written off for 15 minutes (infra-host-ttl):
    // keep probing it. Older libunbound lacks the option; then the default applies.
    (void)ub_ctx_set_option(ctx_, "infra-keep-probing:", "yes");
    // unbound answers "test." itself (RFC 6761 special-use, NXDOMAIN) unless told not to; our
    // test zones live there, and a real server gives the same NXDOMAIN for it anyway.
    rc = ub_ctx_set_option(ctx_, "local-zone:", "test. transparent");
    // Likewise loopback and private-range reverse zones (RFC 6303): a site's own DNS often
    // serves them, and PTR checks of LAN and loopback peers should ask it.
    if (rc == 0) rc = ub_ctx_set_option(ctx_, "local-zone:", "127.in-addr.arpa. transparent");
    if (rc == 0) rc = ub_ctx_set_option(ctx_, "unblock-lan-zones:", "yes");
    if (rc == 0) rc = ub_ctx_set_option(ctx_, "insecure-lan-zones:", "yes");
    if (rc != 0) {
      setup_error_ = std::string("resolver setup failed: local zones: ") + ub_strerror(rc);
      return;
    }
    for (const auto& fwd : options_.forwarders) {
      rc = ub_ctx_set_fwd(ctx_, fwd.c_str());
      if (rc != 0) {
        setup_error_ = "resolver setup failed: forwarder " + fwd + ": " + ub_strerror(rc);
        return;
      }
    }
    // No forwarders: the system's servers. Without a readable resolv.conf unbound recurses
    // from the root itself, which is also a working resolver.
    if (options_.forwarders.empty()) (void)ub_ctx_resolvconf(ctx_, nullptr);
    int fd = ub_fd(ctx_);
    int own = fd >= 0 ? ::dup(fd) : -1;  // asio closes its copy; unbound closes the original
    if (own < 0) {
      setup_error_ = "resolver setup failed: no result descriptor";
      return;
    }
    fd_.emplace(loop_, own);
  }

  template <typename T, typename Parse>
  void start(std::string name, int rrtype, Parse parse, std::function<void(Answer<T>)> done,
             bool sort_mx = false) {
    auto q = std::make_unique<Query>(loop_);
    q->owner = this;
    q->name = name;
    q->rrtype = rrtype;
    q->on_result = [done, name, rrtype, parse, sort_mx](int err, ub_result* r) -> Completion {
      auto a = to_answer<T>(err, r, name, rrtype, parse);
      if constexpr (std::is_same_v<T, MxRecord>) {
        if (sort_mx)
          std::stable_sort(a.records.begin(), a.records.end(),
                           [](const MxRecord& x, const MxRecord& y) { return x.preference < y.preference; });
      }
      return [done, a = std::move(a)]() mutable { done(std::move(a)); };
    };
    q->on_fail = [done](Status s, std::string detail) -> Completion {
      Answer<T> a;
      a.status = s;
      a.detail = std::move(detail);
      return [done, a = std::move(a)]() mutable { done(std::move(a)); };
    };
    // Everything touching unbound and pending_ happens on the loop: callers may be elsewhere.
    asio::post(loop_, [this, alive = alive_, q = std::move(q)]() mutable {
      if (*alive) launch(std::move(q));
      else q->on_fail(Status::error, "resolver shut down")();  // exactly once, even now
    });
  }

  void launch(std::unique_ptr<Query> q) {
    if (!setup_error_.empty()) {
      asio::post(loop_, q->on_fail(Status::error, setup_error_));
      return;
    }
    uint64_t id = next_id_++;
    q->id = id;
    int rc = ub_resolve_async(ctx_, q->name.c_str(), q->rrtype, kClassIn, q.get(), &UnboundResolver::on_ub_answer,
                              &q->ub_id);
    if (rc != 0) {
      asio::post(loop_, q->on_fail(Status::error, std::string("resolver error (") + ub_strerror(rc) + ") for " +
                                                      type_name(q->rrtype) + " " + q->name));
      return;
    }
    q->timer.expires_after(options_.timeout);
    q->timer.async_wait([this, alive = alive_, id](const std::error_code& ec) {
      if (!ec && *alive) on_deadline(id);
    });
    pending_.emplace(id, std::move(q));
    watch();
  }

  // Reads finished answers while any query is pending; ub_process() calls on_ub_answer. With
  // nothing pending the wait is cancelled, so an idle resolver leaves no work on the loop and
  // io_context::run() can return.
  void watch() {
    if (watching_ || pending_.empty()) return;
    watching_ = true;
    fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this, alive = alive_](const std::error_code& ec) {
      if (!*alive) return;
      watching_ = false;
      if (!ec) ub_process(ctx_);
      watch();  // also after a cancel, when a query came in meanwhile
    });
  }

  static void on_ub_answer(void* mydata, int err, ub_result* result) {
    auto* q = static_cast<Query*>(mydata);
    q->owner->finish(q->id, err, result);
  }

  void finish(uint64_t id, int err, ub_result* result) {
    auto it = pending_.find(id);
    if (it != pending_.end()) {
      std::unique_ptr<Query> q = std::move(it->second);
      pending_.erase(it);
      q->timer.cancel();
      asio::post(loop_, q->on_result(err, result));
    }
    if (result) ub_resolve_free(result);
  }

  void on_deadline(uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    std::unique_ptr<Query> q = std::move(it->second);
    pending_.erase(it);
    // After ub_cancel unbound drops the answer if it still comes: on_ub_answer is not called.
    ub_cancel(ctx_, q->ub_id);
    if (pending_.empty() && watching_) fd_->cancel();
    auto ms = options_.timeout.count();
    std::string within = ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
    asio::post(loop_, q->on_fail(Status::timeout, std::string("no answer for ") + type_name(q->rrtype) + " " +
                                                       q->name + " within " + within));
  }

  asio::io_context& loop_;
  UnboundOptions options_;
  std::shared_ptr<bool> alive_;  // handlers already queued check it after destruction
  ub_ctx* ctx_ = nullptr;
  std::string setup_error_;
  std::optional<asio::posix::stream_descriptor> fd_;
  bool watching_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Query>> pending_;
};

}  // namespace

UnboundOptions unbound_options(const config::DnsSettings& settings) {
  UnboundOptions o;
  for (const auto& s : settings.servers) o.forwarders.push_back(s.host + "@" + std::to_string(s.port ? s.port : 53));
  // A zero timeout would time every query out at once: keep the default instead.
  if (settings.timeout.count() > 0) o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(settings.timeout);
  return o;
}

std::unique_ptr<Resolver> make_unbound_resolver(asio::io_context& loop, const config::DnsSettings& settings) {
  return make_unbound_resolver(loop, unbound_options(settings));
}

std::unique_ptr<Resolver> make_unbound_resolver(asio::io_context& loop, UnboundOptions options) {
  return std::make_unique<UnboundResolver>(loop, std::move(options));
}

}  // namespace sluice::dns
