// delivery/smtp_channel.cpp: see smtp_channel.hpp.
#include "delivery/smtp_channel.hpp"

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "log/log_format.hpp"

namespace sluice::delivery {

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
// Bytes written under one deadline.
constexpr size_t kWriteBlock = 64 * 1024;

std::string unmapped_text(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

}  // namespace

SmtpChannel::SmtpChannel(asio::any_io_executor executor, asio::ssl::context& tls) : stream_(executor, tls) {}

asio::awaitable<Result<void>> SmtpChannel::connect(const std::string& ip, uint16_t port,
                                                   const std::string& source_ip,
                                                   std::chrono::milliseconds timeout) {
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(ip, ec);
  if (ec) co_return fail(ErrorClass::transient, "not an IP address: " + ip);
  const tcp::endpoint remote(address, port);
  tcp::socket& socket = stream_.next_layer();
  socket.open(remote.protocol(), ec);
  if (ec) co_return fail(ErrorClass::io, "cannot open a socket: " + ec.message());
  if (!source_ip.empty()) {
    const asio::ip::address source = asio::ip::make_address(source_ip, ec);
    if (ec) co_return fail(ErrorClass::config, "source_ip " + source_ip + " is not an IP address");
    if (source.is_v4() != address.is_v4()) {
      co_return fail(ErrorClass::config, "source_ip " + source_ip + " cannot reach an IPv" +
                                             (address.is_v4() ? "4" : "6") + " address");
    }
    socket.bind(tcp::endpoint(source, 0), ec);
    if (ec) co_return fail(ErrorClass::config, "cannot bind source_ip " + source_ip + ": " + ec.message());
  }

  asio::steady_timer timer(socket.get_executor(), timeout);
  auto result = co_await (socket.async_connect(remote, use_tuple) || timer.async_wait(use_tuple));
  if (result.index() != 0) {
    socket.close(ec);
    co_return fail(ErrorClass::transient, "Connection timed out");
  }
  auto [connect_ec] = std::get<0>(result);
  if (connect_ec) {
    socket.close(ec);
    co_return fail(ErrorClass::transient, connect_ec.message());
  }
  socket.set_option(tcp::no_delay(true), ec);
  const tcp::endpoint local = socket.local_endpoint(ec);
  if (!ec) local_ = log::format_endpoint(unmapped_text(local.address()), local.port());
  remote_ = log::format_endpoint(unmapped_text(address), port);
  co_return ok();
}

asio::awaitable<ChannelRead> SmtpChannel::read_some(std::span<char> buffer, std::chrono::milliseconds timeout) {
  asio::steady_timer timer(stream_.get_executor(), timeout);
  auto buf = asio::buffer(buffer.data(), buffer.size());
  ChannelRead r;
  std::variant<std::tuple<asio::error_code, size_t>, std::tuple<asio::error_code>> result;
  if (tls_active_) result = co_await (stream_.async_read_some(buf, use_tuple) || timer.async_wait(use_tuple));
  else result = co_await (stream_.next_layer().async_read_some(buf, use_tuple) || timer.async_wait(use_tuple));
  if (result.index() != 0) {
    r.status = ChannelRead::Status::timeout;
    r.what = "timeout";
    co_return r;
  }
  auto [ec, n] = std::get<0>(result);
  r.bytes = n;
  if (!ec) {
    r.status = ChannelRead::Status::ok;
  } else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    // A peer that closes a TLS connection without close_notify is common among MTAs and
    // means the same as a TCP close here: SMTP has its own end (QUIT / 221).
    r.status = n > 0 ? ChannelRead::Status::ok : ChannelRead::Status::eof;
    r.what = "connection closed by the remote";
  } else {
    r.status = n > 0 ? ChannelRead::Status::ok : ChannelRead::Status::error;
    r.what = ec.message();
  }
  co_return r;
}

asio::awaitable<Result<void>> SmtpChannel::write_all(std::string_view bytes, std::chrono::milliseconds timeout) {
  // The deadline is per block, not for the whole write (RFC 5321 §4.5.3.2.5, "Data Block"):
  // a large message on a slow link is fine as long as it keeps moving.
  while (!bytes.empty()) {
    const std::string_view block = bytes.substr(0, kWriteBlock);
    bytes.remove_prefix(block.size());
    asio::steady_timer timer(stream_.get_executor(), timeout);
    auto buf = asio::buffer(block.data(), block.size());
    std::variant<std::tuple<asio::error_code, size_t>, std::tuple<asio::error_code>> result;
    if (tls_active_) result = co_await (asio::async_write(stream_, buf, use_tuple) || timer.async_wait(use_tuple));
    else result = co_await (asio::async_write(stream_.next_layer(), buf, use_tuple) || timer.async_wait(use_tuple));
    if (result.index() != 0) co_return fail(ErrorClass::transient, "timeout");
    auto [ec, n] = std::get<0>(result);
    if (ec) co_return fail(ErrorClass::transient, ec.message());
  }
  co_return ok();
}

asio::awaitable<Result<TlsSessionInfo>> SmtpChannel::start_tls(const std::string& server_name,
                                                               std::chrono::milliseconds timeout,
                                                               const TlsPeerIdentity& expected) {
  auto info = co_await tls_handshake_client(stream_, server_name, timeout, expected);
  if (info) tls_active_ = true;
  co_return info;
}

void SmtpChannel::close() {
  asio::error_code ec;
  tcp::socket& socket = stream_.next_layer();
  if (!socket.is_open()) return;
  // No TLS close_notify: the SMTP dialog has its own end (QUIT, 221), and waiting for the
  // peer's close_notify would add a round trip with its own deadline for nothing.
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace sluice::delivery
