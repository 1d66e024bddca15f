// tests/unit/delivery/test_smtp_peer.hpp: a small SMTP server for the transport's tests, run
// as coroutines on the test's own io_context (no threads, no sleeps): greeting, EHLO with
// chosen extensions, STARTTLS with a self-signed certificate made in memory (or one the test
// gives), AUTH PLAIN,
// per-recipient replies, a reply to the end of DATA, silence (for timeouts). It records each
// connection, each command line and each message it accepted.
// Not a conformance test of anything: just enough SMTP for smtp_delivery to talk to.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::delivery::testing_peer {

using asio::ip::tcp;

struct PeerBehaviour {
  std::string greeting = "220 peer.test ESMTP test peer";  // "" = never say anything
  bool starttls = false;
  bool pipelining = true;
  bool tls_garbage = false;  // answer 220 to STARTTLS, then close instead of a handshake
  std::optional<std::pair<std::string, std::string>> auth;  // required credentials
  std::map<std::string, std::string> rcpt_replies;          // address -> reply line
  std::string data_end_reply = "250 2.0.0 Ok: queued";
};

struct ReceivedMessage {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string content;  // dot-unstuffed, CRLF
  bool tls = false;
  std::string auth_user;
  std::string client_ip;
};

// A self-signed certificate and key, made once per process.
inline asio::ssl::context make_server_tls_context() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("peer.test"), -1,
                             -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  SSL_CTX_use_certificate(ctx.native_handle(), cert);
  SSL_CTX_use_PrivateKey(ctx.native_handle(), key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

inline std::string base64_decode(const std::string& in) {
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '='; ++it) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

class TestPeer {
 public:
  TestPeer(asio::io_context& io, std::string ip, PeerBehaviour b)
      : io_(io), behaviour_(std::move(b)), tls_(make_server_tls_context()),
        acceptor_(io, tcp::endpoint(asio::ip::make_address(ip), 0)) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }
  // The same with the server's certificate chosen by the test (tls_verify_test.cpp).
  TestPeer(asio::io_context& io, std::string ip, PeerBehaviour b, asio::ssl::context tls)
      : io_(io), behaviour_(std::move(b)), tls_(std::move(tls)),
        acceptor_(io, tcp::endpoint(asio::ip::make_address(ip), 0)) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections = 0;
  std::vector<std::string> commands;  // every line received, in order, over all connections
  std::vector<ReceivedMessage> messages;
  PeerBehaviour& behaviour() { return behaviour_; }

  void stop() {
    asio::error_code ec;
    acceptor_.close(ec);
  }

 private:
  struct Conn {
    explicit Conn(tcp::socket s, asio::ssl::context& tls) : stream(std::move(s), tls) {}
    asio::ssl::stream<tcp::socket> stream;
    bool tls = false;
    asio::streambuf in;

    asio::awaitable<std::optional<std::string>> line() {
      asio::error_code ec;
      size_t n = tls ? co_await asio::async_read_until(stream, in, "\r\n", asio::redirect_error(asio::use_awaitable, ec))
                     : co_await asio::async_read_until(stream.next_layer(), in, "\r\n",
                                                       asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return std::nullopt;
      std::string l(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<long>(n) - 2);
      in.consume(n);
      co_return l;
    }
    asio::awaitable<void> send(std::string s) {
      s += "\r\n";
      asio::error_code ec;
      if (tls) co_await asio::async_write(stream, asio::buffer(s), asio::redirect_error(asio::use_awaitable, ec));
      else co_await asio::async_write(stream.next_layer(), asio::buffer(s), asio::redirect_error(asio::use_awaitable, ec));
    }
  };

  asio::awaitable<void> accept_loop() {
    for (;;) {
      asio::error_code ec;
      tcp::socket s = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++connections;
      s.set_option(tcp::no_delay(true), ec);  // replies are many small writes
      asio::co_spawn(io_, serve(std::move(s)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    const std::string client_ip = socket.remote_endpoint().address().to_string();
    auto c = std::make_unique<Conn>(std::move(socket), tls_);
    if (behaviour_.greeting.empty()) {
      // Never answer: wait until the client gives up and closes.
      while (co_await c->line()) {
      }
      co_return;
    }
    co_await c->send(behaviour_.greeting);
    ReceivedMessage msg;
    std::string auth_user;
    for (;;) {
      auto line = co_await c->line();
      if (!line) co_return;
      commands.push_back(*line);
      std::string upper = *line;
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (upper.starts_with("EHLO")) {
        std::vector<std::string> ext{"peer.test", "SIZE 10000000", "8BITMIME", "ENHANCEDSTATUSCODES"};
        if (behaviour_.pipelining) ext.push_back("PIPELINING");
        if (behaviour_.starttls && !c->tls) ext.push_back("STARTTLS");
        if (behaviour_.auth) ext.push_back("AUTH PLAIN LOGIN");
        for (size_t i = 0; i < ext.size(); ++i)
          co_await c->send(std::string("250") + (i + 1 < ext.size() ? "-" : " ") + ext[i]);
      } else if (upper.starts_with("HELO")) {
        co_await c->send("250 peer.test");
      } else if (upper == "STARTTLS") {
        co_await c->send("220 2.0.0 Ready to start TLS");
        if (behaviour_.tls_garbage) co_return;
        asio::error_code ec;
        co_await c->stream.async_handshake(asio::ssl::stream_base::server,
                                           asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        c->tls = true;
        c->in.consume(c->in.size());
      } else if (upper.starts_with("AUTH PLAIN ")) {
        const std::string decoded = base64_decode(line->substr(11));
        // authzid NUL authcid NUL password (RFC 4616 §2)
        const size_t a = decoded.find('\0');
        const size_t b = a == std::string::npos ? a : decoded.find('\0', a + 1);
        if (behaviour_.auth && b != std::string::npos && decoded.substr(a + 1, b - a - 1) == behaviour_.auth->first &&
            decoded.substr(b + 1) == behaviour_.auth->second) {
          auth_user = behaviour_.auth->first;
          co_await c->send("235 2.7.0 Authentication successful");
        } else {
          co_await c->send("535 5.7.8 Authentication credentials invalid");
        }
      } else if (upper.starts_with("MAIL FROM:")) {
        if (behaviour_.auth && auth_user.empty()) {
          co_await c->send("530 5.7.0 Authentication required");
          continue;
        }
        msg = ReceivedMessage{};
        const size_t open = line->find('<'), close = line->find('>');
        msg.mail_from = line->substr(open + 1, close - open - 1);
        co_await c->send("250 2.1.0 Ok");
      } else if (upper.starts_with("RCPT TO:")) {
        const size_t open = line->find('<'), close = line->find('>');
        const std::string rcpt = line->substr(open + 1, close - open - 1);
        auto it = behaviour_.rcpt_replies.find(rcpt);
        const std::string reply = it != behaviour_.rcpt_replies.end() ? it->second : "250 2.1.5 Ok";
        if (reply.starts_with('2')) msg.rcpt_to.push_back(rcpt);
        co_await c->send(reply);
      } else if (upper == "DATA") {
        if (msg.rcpt_to.empty()) {
          co_await c->send("554 5.5.1 Error: no valid recipients");
          continue;
        }
        co_await c->send("354 End data with <CR><LF>.<CR><LF>");
        for (;;) {
          auto data = co_await c->line();
          if (!data) co_return;
          if (*data == ".") break;
          msg.content += (data->starts_with('.') ? data->substr(1) : *data) + "\r\n";
        }
        if (behaviour_.data_end_reply.starts_with('2')) {
          msg.tls = c->tls;
          msg.auth_user = auth_user;
          msg.client_ip = client_ip;
          messages.push_back(msg);
        }
        co_await c->send(behaviour_.data_end_reply);
      } else if (upper == "RSET") {
        co_await c->send("250 2.0.0 Ok");
      } else if (upper == "QUIT") {
        co_await c->send("221 2.0.0 Bye");
        co_return;
      } else {
        co_await c->send("502 5.5.2 Error: command not recognized");
      }
    }
  }

  asio::io_context& io_;
  PeerBehaviour behaviour_;
  asio::ssl::context tls_;
  tcp::acceptor acceptor_;
};

}  // namespace sluice::delivery::testing_peer
