// net/protocol_observer.cpp: see protocol_observer.hpp.
#include "net/protocol_observer.hpp"

namespace sluice::net {

void ProtocolObserver::on_reply(const Reply& reply) {
  if (metrics_ && reply.code() >= 400) {
    metrics_->rejected(connector_, reply.code());
    if (reply.code() == 535) metrics_->auth_failure(connector_);  // RFC 4954 §6: credentials invalid
  }
  // One log line per reply line, so that a multi-line reply (EHLO) stays greppable.
  const std::string wire = reply.wire();
  size_t start = 0;
  while (start < wire.size()) {
    size_t end = wire.find("\r\n", start);
    if (end == std::string::npos) end = wire.size();
    write('>', std::string_view(wire).substr(start, end - start), "");
    start = end + 2;
  }
}

void ProtocolObserver::write(char event, std::string_view data, std::string_view context) {
  if (!log_) return;
  log::ProtocolEvent e;
  e.connector = connector_;
  e.session_id = session_id_;
  e.sequence = sequence_++;
  e.local_endpoint = local_;
  e.remote_endpoint = remote_;
  e.event = event;
  e.data = data;
  e.context = context;
  log_->write(e);
}

}  // namespace sluice::net
