// cli/local_submission.cpp: see local_submission.hpp.
#include "cli/local_submission.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sluice::cli {
namespace {

using config::ConnectorUsage;

// The address a loopback client connects to for a listener bound to `host`.
std::string connect_host(const std::string& host) {
  if (host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = std::strerror(errno);
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One reply, all its lines; the code is 0 when the connection failed or the reply is not SMTP.
  int read_reply(std::string& text) {
    text.clear();
    while (true) {
      std::string line;
      if (!read_line(line)) return 0;
      if (line.size() < 3) return 0;
      if (!text.empty()) text += ' ';
      text += line.size() > 4 ? line.substr(4) : "";
      if (line.size() == 3 || line[3] == ' ') {
        const int code = std::atoi(line.substr(0, 3).c_str());
        text = line.substr(0, 3) + " " + text;
        return code >= 200 && code < 600 ? code : 0;
      }
    }
  }

  const std::string& error() const { return error_; }

 private:
  bool read_line(std::string& line) {
    while (true) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        line = buffer_.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        buffer_.erase(0, nl + 1);
        return true;
      }
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        error_ = "connection closed by sluiced";
        return false;
      }
      if (n < 0) {
        error_ = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out waiting for sluiced" : std::strerror(errno);
        return false;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
      if (buffer_.size() > 1 << 20) {
        error_ = "reply line too long";
        return false;
      }
    }
  }

  int fd_;
  std::string buffer_;
  std::string error_;
};

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

std::string notify_param(const smtp::DsnNotify& n) {
  if (!n.specified) return {};
  if (n.never) return " NOTIFY=NEVER";
  std::string v;
  if (n.success) v += ",SUCCESS";
  if (n.failure) v += ",FAILURE";
  if (n.delay) v += ",DELAY";
  return v.empty() ? std::string{} : " NOTIFY=" + v.substr(1);
}

bool has_keyword(const std::string& ehlo_text, std::string_view keyword) {
  // The EHLO text is "250 name kw1 kw2 ..." (lines joined by spaces); keywords are words.
  size_t pos = 0;
  while ((pos = ehlo_text.find(keyword, pos)) != std::string::npos) {
    const bool start = pos == 0 || ehlo_text[pos - 1] == ' ';
    const size_t end = pos + keyword.size();
    const bool stop = end == ehlo_text.size() || ehlo_text[end] == ' ' || ehlo_text[end] == '=';
    if (start && stop) return true;
    pos = end;
  }
  return false;
}

SubmitResult temporary(std::string detail) { return {SubmitVerdict::temporary, std::move(detail), {}, false}; }

SubmitResult by_code(int code, const std::string& text, std::string_view what, const std::string& socket_error) {
  if (code == 0) return temporary(std::string(what) + ": " + (socket_error.empty() ? "no valid reply" : socket_error));
  if (code >= 500) return {SubmitVerdict::refused, std::string(what) + ": " + text, {}, false};
  return temporary(std::string(what) + ": " + text);
}

}  // namespace

std::optional<LocalEndpoint> find_local_endpoint(const config::Config& config, std::string* why) {
  std::optional<LocalEndpoint> internet;
  for (const config::ReceiveConnector& c : config.receive_connectors) {
    if (c.implicit_tls || c.require_tls) continue;
    if (c.usage != ConnectorUsage::relay && c.usage != ConnectorUsage::internet) continue;
    for (const config::ListenAddress& l : c.listen) {
      if (l.port == 0) continue;
      const std::string host = connect_host(l.host);
      auto client = config::IpAddress::parse(host);
      if (!client || !c.accepts(*client)) continue;
      LocalEndpoint ep{host, l.port, c.name};
      if (c.usage == ConnectorUsage::relay) return ep;
      if (!internet) internet = ep;
    }
  }
  if (!internet && why) {
    *why = "no receive connector in " + config.source +
           " accepts mail from this machine without AUTH or TLS (add a usage = \"relay\" connector listening on "
           "127.0.0.1 with remote_ip_ranges = [\"127.0.0.1\"])";
  }
  return internet;
}

std::string xtext_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int connect_local(const LocalEndpoint& endpoint, int timeout_seconds, std::string* error) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&addr); ::inet_pton(AF_INET, endpoint.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(endpoint.port);
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
             ::inet_pton(AF_INET6, endpoint.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(endpoint.port);
    len = sizeof(sockaddr_in6);
    family = AF_INET6;
  } else {
    if (error) *error = "bad address " + endpoint.host;
    return -1;
  }
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (error) *error = std::strerror(errno);
    return -1;
  }
  timeval tv{timeout_seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect() on Linux
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (error) *error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

SubmitResult submit_local(const LocalEndpoint& endpoint, const smtp::Envelope& envelope, std::string_view content,
                          std::string_view helo_name, int timeout_seconds) {
  std::string error;
  const int fd = connect_local(endpoint, timeout_seconds, &error);
  const std::string where = "sluiced on " + endpoint.host + ":" + std::to_string(endpoint.port);
  if (fd < 0) return temporary("cannot connect to " + where + " (" + error + ")");
  Socket sock(fd);
  std::string text;

  int code = sock.read_reply(text);
  if (code != 220) return by_code(code, text, "greeting of " + where, sock.error());
  if (!sock.send_all("EHLO " + std::string(helo_name) + "\r\n")) return temporary(sock.error());
  code = sock.read_reply(text);
  if (code != 250) return by_code(code, text, "EHLO", sock.error());
  const std::string ehlo = text;

  std::string mail = "MAIL FROM:<" + envelope.mail_from + ">";
  const bool eight_bit = !is_ascii(content);
  bool utf8 = !is_ascii(envelope.mail_from);
  for (const auto& r : envelope.recipients) utf8 = utf8 || !is_ascii(r.address);
  if (eight_bit && has_keyword(ehlo, "8BITMIME")) mail += " BODY=8BITMIME";
  if (utf8) {
    if (!has_keyword(ehlo, "SMTPUTF8"))
      return {SubmitVerdict::refused, "the addresses are not ASCII and " + where + " does not offer SMTPUTF8", {}, false};
    mail += " SMTPUTF8";
  }
  const bool dsn = has_keyword(ehlo, "DSN");
  if (dsn && envelope.ret == smtp::DsnRet::full) mail += " RET=FULL";
  if (dsn && envelope.ret == smtp::DsnRet::headers) mail += " RET=HDRS";
  if (dsn && !envelope.envid.empty()) mail += " ENVID=" + xtext_encode(envelope.envid);
  if (!sock.send_all(mail + "\r\n")) return temporary(sock.error());
  code = sock.read_reply(text);
  if (code != 250) return by_code(code, text, "MAIL FROM:<" + envelope.mail_from + ">", sock.error());

  unsigned accepted = 0;
  std::string refusals;
  for (const smtp::Recipient& r : envelope.recipients) {
    std::string rcpt = "RCPT TO:<" + r.address + ">";
    if (dsn) rcpt += notify_param(r.notify);
    if (!sock.send_all(rcpt + "\r\n")) return temporary(sock.error());
    code = sock.read_reply(text);
    if (code == 250 || code == 251) {
      ++accepted;
    } else if (code >= 500) {
      refusals += (refusals.empty() ? "" : "; ") + r.address + ": " + text;
    } else {
      // One recipient that must wait: the whole message goes to the maildrop, so that no
      // recipient is left behind and none gets it twice.
      return by_code(code, text, "RCPT TO:<" + r.address + ">", sock.error());
    }
  }
  if (accepted == 0) {
    sock.send_all("QUIT\r\n");
    return {SubmitVerdict::refused, refusals, {}, true};
  }

  if (!sock.send_all("DATA\r\n")) return temporary(sock.error());
  code = sock.read_reply(text);
  if (code != 354) return by_code(code, text, "DATA", sock.error());
  // Dot-stuffing (RFC 5321 §4.5.2): a line that starts with "." gets another one.
  std::string wire;
  wire.reserve(content.size() + content.size() / 64 + 8);
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '.') wire += '.';
    wire += c;
    line_start = c == '\n';
  }
  if (!wire.empty() && !wire.ends_with("\r\n")) wire += "\r\n";
  wire += ".\r\n";
  if (!sock.send_all(wire)) return temporary(sock.error());
  code = sock.read_reply(text);
  if (code != 250) return by_code(code, text, "end of data", sock.error());
  SubmitResult result{SubmitVerdict::queued, text, {}, false};
  if (const size_t at = text.find("queued as "); at != std::string::npos) {
    result.queue_id = text.substr(at + 10);
    if (const size_t sp = result.queue_id.find(' '); sp != std::string::npos) result.queue_id.resize(sp);
  }
  if (!refusals.empty()) result.detail = "some recipients were refused: " + refusals;
  sock.send_all("QUIT\r\n");
  sock.read_reply(text);
  return result;
}

}  // namespace sluice::cli
