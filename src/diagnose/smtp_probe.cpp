// diagnose/smtp_probe.cpp: see smtp_probe.hpp. One coroutine walks the conversation step by
// step; each step records what was said and stops at the first failure, which is kept with its
// stage so the advice can name it. The certificate is inspected whatever its state (the handshake
// itself never verifies): a probe must show an expired or self-signed certificate, not refuse it.
#include "diagnose/smtp_probe.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <ctime>
#include <memory>
#include <variant>

namespace sluice::diagnose {

const char* to_string(ProbeStage s) {
  switch (s) {
    case ProbeStage::resolve: return "resolve";
    case ProbeStage::connect: return "connect";
    case ProbeStage::greeting: return "greeting";
    case ProbeStage::ehlo: return "EHLO";
    case ProbeStage::starttls: return "STARTTLS";
    case ProbeStage::tls: return "TLS handshake";
    case ProbeStage::auth: return "AUTH";
    case ProbeStage::mail: return "MAIL FROM";
    case ProbeStage::rcpt: return "RCPT TO";
    case ProbeStage::data: return "DATA";
    case ProbeStage::quit: return "QUIT";
    case ProbeStage::done: return "done";
  }
  return "?";
}

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kMaxReplyBytes = 64 * 1024;

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::string name_text(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string s(data, len > 0 ? static_cast<size_t>(len) : 0);
  BIO_free(bio);
  return s;
}

std::string time_text(const ASN1_TIME* t) {
  struct tm tm {};
  if (!ASN1_TIME_to_tm(t, &tm)) return "?";
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

CertificateInfo inspect_certificate(SSL* ssl, const std::string& host) {
  CertificateInfo info;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) {
    info.verify_error = "the server sent no certificate";
    return info;
  }
  info.subject = name_text(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));
  info.not_before = time_text(X509_get0_notBefore(cert));
  info.not_after = time_text(X509_get0_notAfter(cert));
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert))) info.days_left = days;
  info.expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
  info.not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
  // Signed by its own key under its own name (X509_check_issued also wants CA key usage).
  info.self_signed = X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0 &&
                     X509_verify(cert, X509_get0_pubkey(cert)) == 1;
  if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type == GEN_DNS) {
        const ASN1_STRING* s = n->d.dNSName;
        info.sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
      } else if (n->type == GEN_IPADD) {
        const ASN1_STRING* s = n->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = {};
        int len = ASN1_STRING_length(s);
        if (len == 4 || len == 16) {
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text, sizeof text);
          info.sans.emplace_back(text);
        }
      }
    }
    GENERAL_NAMES_free(names);
  }
  info.name_matches = is_ip_literal(host) ? X509_check_ip_asc(cert, host.c_str(), 0) == 1
                                          : X509_check_host(cert, host.c_str(), host.size(), 0, nullptr) == 1;
  const long result = SSL_get_verify_result(ssl);
  info.chain_verified = result == X509_V_OK;
  if (!info.chain_verified) info.verify_error = X509_verify_cert_error_string(result);
  X509_free(cert);
  return info;
}

// The "d.d.d" at the start of a reply line (RFC 3463 §2), "" when absent.
std::string enhanced_code(std::string_view text) {
  size_t i = 0, dots = 0;
  if (text.empty() || (text[0] < '2' || text[0] > '5')) return "";
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    if (text[i] == '.') ++dots;
    ++i;
  }
  if (dots != 2 || (i < text.size() && text[i] != ' ')) return "";
  return std::string(text.substr(0, i));
}

class Probe {
 public:
  Probe(asio::any_io_executor ex, const ProbeOptions& o, ProbeReport& r)
      : ex_(ex), opt_(o), rep_(r), ctx_(asio::ssl::context::tls_client), stream_(ex, ctx_),
        start_(std::chrono::steady_clock::now()) {
    ctx_.set_verify_mode(asio::ssl::verify_none);  // verified after the handshake, see inspect_certificate
    ctx_.set_options(asio::ssl::context::no_compression);
    asio::error_code ec;
    if (!o.ca_file.empty()) {
      ctx_.load_verify_file(o.ca_file, ec);
      if (ec) ca_error_ = "cannot load CA file " + o.ca_file + ": " + ec.message();
    } else {
      ctx_.set_default_verify_paths(ec);
    }
  }

  asio::awaitable<void> run() {
    if (!co_await connect()) co_return;
    if (opt_.tls == ProbeTls::implicit && !co_await handshake()) co_return;
    Reply greeting;
    if (!co_await read_reply(ProbeStage::greeting, greeting)) co_return;
    rep_.banner = greeting.lines().empty() ? "" : greeting.lines().front();
    if (greeting.code() != 220) {
      fail(ProbeStage::greeting, greeting);
      co_await quit();
      co_return;
    }
    if (!co_await ehlo()) co_return;
    if (opt_.tls == ProbeTls::opportunistic || opt_.tls == ProbeTls::required) {
      if (rep_.starttls_offered) {
        Reply r;
        if (!co_await command("STARTTLS", ProbeStage::starttls, r)) co_return;
        if (r.code() != 220) {
          fail(ProbeStage::starttls, r);
          co_await quit();
          co_return;
        }
        in_.clear();  // anything sent before the handshake is not protected (CVE-2011-0411 class)
        if (!co_await handshake()) co_return;
        if (!co_await ehlo()) co_return;
      } else if (opt_.tls == ProbeTls::required) {
        fail(ProbeStage::starttls, opt_.host + " did not offer STARTTLS");
        co_await quit();
        co_return;
      }
    }
    if (opt_.auth && !co_await auth()) {
      co_await quit();
      co_return;
    }
    if (!opt_.mail_from.empty() || !opt_.rcpt_to.empty()) {
      if (!co_await transaction()) {
        co_await quit();
        co_return;
      }
    }
    co_await quit();
  }

 private:
  void note(char dir, std::string text) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_);
    rep_.transcript.push_back({dir, std::move(text), static_cast<long>(ms.count())});
  }
  bool fail(ProbeStage stage, std::string why) {
    if (rep_.ok) {
      rep_.ok = false;
      rep_.failed_stage = stage;
      rep_.failure = std::move(why);
      note('*', std::string("failed at ") + to_string(stage) + ": " + rep_.failure);
    }
    return false;
  }
  bool fail(ProbeStage stage, const Reply& r) {
    if (rep_.ok) rep_.failure_reply = r;
    return fail(stage, r.text());
  }

  asio::awaitable<bool> connect() {
    std::vector<tcp::endpoint> endpoints;
    asio::error_code ec;
    if (!opt_.connect_ip.empty()) {
      auto addr = asio::ip::make_address(opt_.connect_ip, ec);
      if (ec) co_return fail(ProbeStage::resolve, "not an IP address: " + opt_.connect_ip);
      endpoints.emplace_back(addr, opt_.port);
    } else {
      tcp::resolver resolver(ex_);
      auto [rec, results] = co_await resolver.async_resolve(opt_.host, std::to_string(opt_.port), kTuple);
      if (rec) co_return fail(ProbeStage::resolve, "cannot resolve " + opt_.host + ": " + rec.message());
      for (const auto& e : results) endpoints.push_back(e.endpoint());
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& ep : endpoints) {
      auto& sock = stream_.next_layer();
      if (sock.is_open()) sock.close(ec);
      const std::string where = (ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string()) +
                                ":" + std::to_string(ep.port());
      note('*', "connecting to " + where);
      asio::steady_timer timer(ex_);
      timer.expires_after(opt_.connect_timeout);
      auto result = co_await (sock.async_connect(ep, kTuple) || timer.async_wait(kTuple));
      if (result.index() == 1) {
        sock.close(ec);
        last_connect_error_ = "Connection timed out (no answer within " +
                              std::to_string(opt_.connect_timeout.count() / 1000) + " s)";
        note('*', last_connect_error_);
        continue;
      }
      auto [cec] = std::get<0>(result);
      if (cec) {
        last_connect_error_ = cec.message();
        if (!last_connect_error_.empty()) last_connect_error_[0] = static_cast<char>(std::toupper(last_connect_error_[0]));
        note('*', last_connect_error_);
        continue;
      }
      rep_.address = where;
      rep_.connect_ms = static_cast<long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
      note('*', "connected to " + where + " in " + std::to_string(rep_.connect_ms) + " ms");
      co_return true;
    }
    co_return fail(ProbeStage::connect, last_connect_error_.empty() ? "no address to connect to" : last_connect_error_);
  }

  asio::awaitable<bool> handshake() {
    if (!ca_error_.empty()) co_return fail(ProbeStage::tls, ca_error_);
    SSL* ssl = stream_.native_handle();
    if (!is_ip_literal(opt_.host)) SSL_set_tlsext_host_name(ssl, opt_.host.c_str());
    note('*', "TLS handshake");
    asio::steady_timer timer(ex_);
    timer.expires_after(opt_.command_timeout);
    auto result = co_await (stream_.async_handshake(asio::ssl::stream_base::client, kTuple) || timer.async_wait(kTuple));
    if (result.index() == 1) co_return fail(ProbeStage::tls, "timed out during the TLS handshake");
    auto [ec] = std::get<0>(result);
    if (ec) {
      lost_ = true;
      co_return fail(ProbeStage::tls, "TLS handshake failed: " + ec.message());
    }
    tls_ = true;
    rep_.tls = true;
    rep_.tls_version = SSL_get_version(ssl);
    rep_.tls_cipher = SSL_get_cipher_name(ssl);
    rep_.certificate = inspect_certificate(ssl, opt_.host);
    const auto& c = *rep_.certificate;
    note('*', "TLS " + rep_.tls_version + " " + rep_.tls_cipher);
    note('*', "certificate subject " + c.subject + ", issuer " + c.issuer + ", expires " + c.not_after +
                  (c.verified() ? " (verified)"
                                : " (not verified: " + (c.chain_verified ? std::string("name mismatch") : c.verify_error) + ")"));
    co_return true;
  }

  // Coroutine parameters are taken by value: GCC 12 mishandles temporaries bound to references
  // across co_await.
  asio::awaitable<bool> write(std::string line, std::string shown, ProbeStage stage) {
    note('>', shown.empty() ? line : shown);
    const std::string bytes = line + "\r\n";
    asio::steady_timer timer(ex_);
    timer.expires_after(opt_.command_timeout);
    asio::error_code ec;
    bool timed_out = false;
    if (tls_) {
      auto r = co_await (asio::async_write(stream_, asio::buffer(bytes), kTuple) || timer.async_wait(kTuple));
      if (r.index() == 1) timed_out = true; else ec = std::get<0>(std::get<0>(r));
    } else {
      auto r = co_await (asio::async_write(stream_.next_layer(), asio::buffer(bytes), kTuple) || timer.async_wait(kTuple));
      if (r.index() == 1) timed_out = true; else ec = std::get<0>(std::get<0>(r));
    }
    if (timed_out) co_return fail(stage, "timed out sending");
    if (ec) {
      lost_ = true;
      co_return fail(stage, "connection lost while sending: " + ec.message());
    }
    co_return true;
  }

  // Reads one whole reply (all continuation lines) within the command timeout.
  asio::awaitable<bool> read_reply(ProbeStage stage, Reply& out) {
    std::vector<std::string> lines;
    int code = 0;
    std::string enhanced;
    char buf[4096];
    for (;;) {
      const size_t eol = in_.find('\n');
      if (eol != std::string::npos) {
        std::string line = in_.substr(0, eol);
        in_.erase(0, eol + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        note('<', line);
        if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
            !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2])) ||
            (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
          co_return fail(stage, "malformed reply: " + line);
        }
        code = std::stoi(line.substr(0, 3));
        std::string text = line.size() > 4 ? line.substr(4) : "";
        const std::string e = enhanced_code(text);
        if (!e.empty()) {
          if (enhanced.empty()) enhanced = e;
          text = text.size() > e.size() ? text.substr(e.size() + 1) : "";
        }
        lines.push_back(text);
        if (line.size() == 3 || line[3] == ' ') {
          out = Reply(code, enhanced, lines);
          co_return true;
        }
        continue;
      }
      if (in_.size() > kMaxReplyBytes) co_return fail(stage, "reply longer than 64 KB");
      asio::steady_timer timer(ex_);
      timer.expires_after(opt_.command_timeout);
      asio::error_code ec;
      size_t n = 0;
      bool timed_out = false;
      if (tls_) {
        auto r = co_await (stream_.async_read_some(asio::buffer(buf), kTuple) || timer.async_wait(kTuple));
        if (r.index() == 1) timed_out = true; else std::tie(ec, n) = std::get<0>(r);
      } else {
        auto r = co_await (stream_.next_layer().async_read_some(asio::buffer(buf), kTuple) || timer.async_wait(kTuple));
        if (r.index() == 1) timed_out = true; else std::tie(ec, n) = std::get<0>(r);
      }
      if (timed_out) {
        lost_ = true;  // the server may still be mid-reply: nothing more can be said sensibly
        co_return fail(stage, "timed out after " + std::to_string(opt_.command_timeout.count() / 1000) +
                                  " s waiting for the " + (stage == ProbeStage::greeting ? std::string("banner") : std::string("reply to ") + to_string(stage)));
      }
      if (ec) {
        lost_ = true;
        co_return fail(stage, ec == asio::error::eof ? std::string("the server closed the connection")
                                                     : "connection lost: " + ec.message());
      }
      in_.append(buf, n);
    }
  }

  asio::awaitable<bool> command(std::string line, ProbeStage stage, Reply& r, std::string shown = {}) {
    if (!co_await write(std::move(line), std::move(shown), stage)) co_return false;
    const bool replied = co_await read_reply(stage, r);
    co_return replied;
  }

  asio::awaitable<bool> ehlo() {
    Reply r;
    if (!co_await command("EHLO " + opt_.helo_name, ProbeStage::ehlo, r)) co_return false;
    if (r.permanent()) {
      if (!co_await command("HELO " + opt_.helo_name, ProbeStage::ehlo, r)) co_return false;
      if (r.code() != 250) co_return fail(ProbeStage::ehlo, r);
      rep_.extensions.clear();
      co_return true;
    }
    if (r.code() != 250) co_return fail(ProbeStage::ehlo, r);
    rep_.extensions.assign(r.lines().begin() + (r.lines().empty() ? 0 : 1), r.lines().end());
    // What was offered before TLS stays known: the EHLO after the handshake omits STARTTLS.
    if (!tls_) rep_.starttls_offered = false;
    rep_.auth_mechanisms.clear();
    for (const auto& ext : rep_.extensions) {
      std::string up;
      for (char c : ext) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (up == "STARTTLS") rep_.starttls_offered = true;
      if (up.rfind("AUTH ", 0) == 0 || up.rfind("AUTH=", 0) == 0) {
        size_t pos = 5;
        while (pos < up.size()) {
          size_t end = up.find(' ', pos);
          if (end == std::string::npos) end = up.size();
          if (end > pos) rep_.auth_mechanisms.push_back(up.substr(pos, end - pos));
          pos = end + 1;
        }
      }
    }
    co_return true;
  }

  asio::awaitable<bool> auth() {
    const auto& [user, password] = *opt_.auth;
    if (!tls_) co_return fail(ProbeStage::auth, "not sending credentials without TLS (use STARTTLS or implicit TLS)");
    auto offered = [&](const char* m) {
      for (const auto& a : rep_.auth_mechanisms) if (a == m) return true;
      return false;
    };
    Reply r;
    if (offered("PLAIN")) {
      std::string token = base64(std::string(1, '\0') + user + std::string(1, '\0') + password);
      if (!co_await command("AUTH PLAIN " + token, ProbeStage::auth, r, "AUTH PLAIN ****")) co_return false;
    } else if (offered("LOGIN")) {
      if (!co_await command("AUTH LOGIN", ProbeStage::auth, r)) co_return false;
      // No co_await inside && or ?: (GCC 12 mishandles temporaries in conditional co_await).
      if (r.code() == 334) {
        std::string token = base64(user);
        if (!co_await command(std::move(token), ProbeStage::auth, r, "****")) co_return false;
      }
      if (r.code() == 334) {
        std::string token = base64(password);
        if (!co_await command(std::move(token), ProbeStage::auth, r, "****")) co_return false;
      }
    } else {
      co_return fail(ProbeStage::auth, rep_.auth_mechanisms.empty()
                                           ? std::string("the server offers no AUTH")
                                           : "no mechanism we can use (PLAIN or LOGIN) among the offered ones");
    }
    if (r.code() != 235) co_return fail(ProbeStage::auth, r);
    rep_.authenticated = true;
    co_return true;
  }

  asio::awaitable<bool> transaction() {
    Reply r;
    if (!co_await command("MAIL FROM:<" + opt_.mail_from + ">", ProbeStage::mail, r)) co_return false;
    if (r.code() != 250) co_return fail(ProbeStage::mail, r);
    size_t accepted = 0;
    std::optional<Reply> first_refusal;
    for (const auto& rcpt : opt_.rcpt_to) {
      if (!co_await command("RCPT TO:<" + rcpt + ">", ProbeStage::rcpt, r)) co_return false;
      rep_.rcpt_replies.emplace_back(rcpt, r);
      if (r.positive()) ++accepted; else if (!first_refusal) first_refusal = r;
    }
    if (first_refusal) fail(ProbeStage::rcpt, *first_refusal);
    if (!opt_.send_data || accepted == 0) {
      if (!lost_) {
        Reply ignored;
        co_await command("RSET", ProbeStage::quit, ignored);
      }
      co_return !first_refusal;
    }
    if (!co_await command("DATA", ProbeStage::data, r)) co_return false;
    if (r.code() != 354) co_return fail(ProbeStage::data, r);
    char date[64];
    std::time_t now = std::time(nullptr);
    struct tm tm {};
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const std::string body = "From: <" + opt_.mail_from + ">\r\nTo: <" + opt_.rcpt_to.front() +
                             ">\r\nSubject: sluice test message\r\nDate: " + date +
                             "\r\n\r\nThis is a test message sent by 'sluice test'.\r\n.";
    note('>', "(test message, " + std::to_string(body.size()) + " bytes)");
    if (!co_await write(body, "", ProbeStage::data)) co_return false;
    rep_.transcript.pop_back();  // the body itself is not part of the transcript
    if (!co_await read_reply(ProbeStage::data, r)) co_return false;
    rep_.data_reply = r;
    if (r.code() != 250) co_return fail(ProbeStage::data, r);
    co_return !first_refusal;
  }

  asio::awaitable<void> quit() {
    if (lost_) co_return;
    Reply r;
    // A failed QUIT is not a finding worth reporting over the real one: keep the first failure.
    co_await command("QUIT", ProbeStage::quit, r);
    asio::error_code ec;
    stream_.next_layer().close(ec);
  }

  asio::any_io_executor ex_;
  const ProbeOptions& opt_;
  ProbeReport& rep_;
  asio::ssl::context ctx_;
  asio::ssl::stream<tcp::socket> stream_;
  std::chrono::steady_clock::time_point start_;
  std::string in_;
  bool tls_ = false;
  bool lost_ = false;
  std::string ca_error_;
  std::string last_connect_error_;
};

}  // namespace

ProbeReport probe_smtp(const ProbeOptions& options) {
  ProbeReport report;
  asio::io_context loop;
  auto probe = std::make_unique<Probe>(loop.get_executor(), options, report);
  asio::co_spawn(loop, probe->run(), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        report.ok = false;
        report.failure = std::string("internal error: ") + ex.what();
      }
    }
  });
  loop.run();
  return report;
}

std::string probe_advice(const ProbeReport& r, const ProbeOptions& o) {
  if (r.ok) {
    if (r.certificate && !r.certificate->verified()) {
      const auto& c = *r.certificate;
      if (c.expired) return "the certificate expired on " + c.not_after + ": renew it (senders that verify will refuse it)";
      if (!c.chain_verified) return "the certificate does not verify (" + c.verify_error + "): install one from a public CA, with its intermediate chain";
      return "the certificate does not name " + o.host + ": add it to the certificate's names (SANs)";
    }
    return "";
  }
  const std::string& f = r.failure;
  switch (r.failed_stage) {
    case ProbeStage::resolve:
      return "the host name does not resolve: check its A/AAAA records";
    case ProbeStage::connect:
      if (f.find("refused") != std::string::npos)
        return "nothing listens on port " + std::to_string(o.port) + " there (or a firewall rejects): start the server or open the port";
      if (f.find("timed out") != std::string::npos)
        return "no answer at all: a firewall drops the packets (often the ISP or cloud provider blocks port 25), or the host is down";
      return "the network refused the connection: check routing and firewalls";
    case ProbeStage::greeting:
      if (f.find("timed out") != std::string::npos)
        return "the server accepted the connection but never sent its banner: it is overloaded, tarpitting us, or a proxy in between is stuck";
      return "the server refused us at connect: read its reply (often a blocklist or connection limit)";
    case ProbeStage::ehlo:
      return "the server refused our EHLO/HELO: use a fully qualified --helo name that resolves";
    case ProbeStage::starttls:
      if (f.find("did not offer STARTTLS") != std::string::npos)
        return "the server does not offer STARTTLS: configure a certificate on it, or send without required TLS";
      return "the server offers STARTTLS but refused it: check its TLS configuration";
    case ProbeStage::tls:
      return "the TLS handshake failed: check protocol versions and ciphers on both sides (" + f + ")";
    case ProbeStage::auth:
      if (r.failure_reply && r.failure_reply->code() == 535)
        return "the credentials were refused: check the user name and password (expired or changed?)";
      if (r.failure_reply && r.failure_reply->code() == 534)
        return "the provider wants a different login method (app password or OAuth)";
      if (r.failure_reply && r.failure_reply->code() == 538)
        return "the server wants TLS before AUTH";
      return "AUTH failed: " + f;
    case ProbeStage::mail:
      return "the sender was refused: check that this client may send as that address (SPF, AUTH, relay rules)";
    case ProbeStage::rcpt:
      if (r.failure_reply && (r.failure_reply->code() == 554 || r.failure_reply->enhanced() == "5.7.1"))
        return "relaying denied or policy refusal: authenticate, or send from an address the server allows to relay";
      if (r.failure_reply && r.failure_reply->permanent())
        return "the recipient was refused: check the address (does the mailbox exist?)";
      return "the recipient was deferred: greylisting or a temporary problem; a retry later should pass";
    case ProbeStage::data:
      return "the message was refused at DATA: read the reply (content, size or policy)";
    case ProbeStage::quit:
    case ProbeStage::done:
      return "";
  }
  return "";
}

}  // namespace sluice::diagnose
