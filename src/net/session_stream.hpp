// net/session_stream.hpp: the byte stream of one SMTP session, plain TCP or TLS over it, so
// the session loop in smtp_server.cpp is one piece of code before and after STARTTLS.
// Owns: the switch to TLS (server handshake with a deadline) and what it negotiated.
// Not: the socket's lifetime (the Connection that stop() cancels), certificates
// (tls_context.hpp), SMTP.
// Includes Asio with SSL: include it only from .cpp files.
#pragma once

#include <openssl/ssl.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "net/tls_context.hpp"
#include "smtp/session_policy.hpp"

namespace sluice::net {

class SessionStream {
 public:
  using Socket = asio::ip::tcp::socket;
  explicit SessionStream(Socket& socket) : socket_(socket) {}

  bool secure() const { return tls_ != nullptr; }

  asio::awaitable<std::tuple<asio::error_code, size_t>> read_some(asio::mutable_buffer buffer) {
    constexpr auto token = asio::experimental::as_tuple(asio::use_awaitable);
    if (tls_) co_return co_await tls_->async_read_some(buffer, token);
    co_return co_await socket_.async_read_some(buffer, token);
  }

  asio::awaitable<std::tuple<asio::error_code, size_t>> write(asio::const_buffer buffer) {
    constexpr auto token = asio::experimental::as_tuple(asio::use_awaitable);
    if (tls_) co_return co_await asio::async_write(*tls_, buffer, token);
    co_return co_await asio::async_write(socket_, buffer, token);
  }

  // The server handshake over the socket, within `timeout`. On success every later read
  // and write goes through TLS; on failure the error (a timeout is asio::error::timed_out).
  asio::awaitable<asio::error_code> start_tls(TlsConnection connection, std::chrono::seconds timeout) {
    using namespace asio::experimental::awaitable_operators;
    constexpr auto token = asio::experimental::as_tuple(asio::use_awaitable);
    if (!connection.ssl) co_return asio::error::no_memory;
    keep_ = std::move(connection.keep);
    tls_ = std::make_unique<asio::ssl::stream<Socket&>>(socket_, connection.ssl);
    asio::steady_timer timer(socket_.get_executor(), timeout);
    auto result = co_await (tls_->async_handshake(asio::ssl::stream_base::server, token) || timer.async_wait(token));
    if (result.index() != 0) co_return asio::error::timed_out;
    auto [ec] = std::get<0>(result);
    co_return ec;
  }

  // What the handshake negotiated ("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256).
  smtp::TlsInfo tls_info() const {
    smtp::TlsInfo info;
    if (!tls_) return info;
    SSL* ssl = const_cast<asio::ssl::stream<Socket&>&>(*tls_).native_handle();
    info.version = SSL_get_version(ssl);
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
      info.cipher = SSL_CIPHER_get_name(c);
      info.bits = SSL_CIPHER_get_bits(c, nullptr);
    }
    return info;
  }

  // The TLS close_notify, bounded: a client that went away must not hold the session.
  asio::awaitable<void> shutdown(std::chrono::seconds timeout) {
    using namespace asio::experimental::awaitable_operators;
    constexpr auto token = asio::experimental::as_tuple(asio::use_awaitable);
    if (!tls_) co_return;
    asio::steady_timer timer(socket_.get_executor(), timeout);
    co_await (tls_->async_shutdown(token) || timer.async_wait(token));
  }

 private:
  Socket& socket_;
  std::shared_ptr<const void> keep_;  // the certificates the SNI choice may use
  std::unique_ptr<asio::ssl::stream<Socket&>> tls_;
};

}  // namespace sluice::net
