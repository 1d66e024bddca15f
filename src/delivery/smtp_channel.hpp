// delivery/smtp_channel.hpp: one outbound TCP connection that may turn into TLS midway
// (STARTTLS), with a deadline on every operation.
// Owns: connecting (with an optional source address to bind, RFC 5321 leaves the choice to
// the client; admins need it for SPF and reputation), reads and writes with deadlines, the
// switch to TLS. Not: what is said on it (smtp::ClientSession), which host to try
// (routing/), classifying failures (delivery/outcome).
// Every await has a deadline (STYLE.md "Async"); RFC 5321 §4.5.3.2 gives their lengths,
// chosen by the caller.
// Includes Asio's SSL headers: keep it out of widely included headers.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "delivery/tls_client.hpp"

namespace sluice::delivery {

struct ChannelRead {
  enum class Status { ok, timeout, eof, error };
  Status status = Status::error;
  size_t bytes = 0;
  std::string what;  // for eof/error/timeout: words for the log ("Connection reset by peer")
};

class SmtpChannel {
 public:
  SmtpChannel(asio::any_io_executor executor, asio::ssl::context& tls);

  // Connects to ip:port, bound to `source_ip` when it is not empty. A failure's text is what
  // classify_connect_error expects: "Connection refused", "Connection timed out", "Network is
  // unreachable", "cannot bind source_ip 192.0.2.1: Cannot assign requested address"...
  asio::awaitable<Result<void>> connect(const std::string& ip, uint16_t port, const std::string& source_ip,
                                        std::chrono::milliseconds timeout);

  asio::awaitable<ChannelRead> read_some(std::span<char> buffer, std::chrono::milliseconds timeout);
  // Fails with "timeout" or the socket's error text. `timeout` applies to each 64 KB block.
  asio::awaitable<Result<void>> write_all(std::string_view bytes, std::chrono::milliseconds timeout);

  // The TLS handshake (see tls_handshake_client); afterwards reads and writes are encrypted.
  // The certificate is checked against `expected` and the result reported, never enforced.
  asio::awaitable<Result<TlsSessionInfo>> start_tls(const std::string& server_name,
                                                    std::chrono::milliseconds timeout,
                                                    const TlsPeerIdentity& expected = {});
  bool tls_active() const { return tls_active_; }

  // "ip:port" (log::format_endpoint); "" before connect.
  const std::string& local_endpoint() const { return local_; }
  const std::string& remote_endpoint() const { return remote_; }

  // Closes the socket, with a TLS close_notify first when it can be sent at once. Idempotent.
  void close();

 private:
  TlsClientStream stream_;
  bool tls_active_ = false;
  std::string local_, remote_;
};

}  // namespace sluice::delivery
