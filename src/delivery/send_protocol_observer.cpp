// delivery/send_protocol_observer.cpp: see send_protocol_observer.hpp.
#include "delivery/send_protocol_observer.hpp"

namespace sluice::delivery {

void SendProtocolObserver::on_attempt(std::string remote, std::string_view host) {
  remote_ = std::move(remote);
  write('*', host, "attempting to connect");
}

void SendProtocolObserver::on_connect(std::string local) {
  local_ = std::move(local);
  write('+', "", "");
}

void SendProtocolObserver::on_sent(std::string_view line) {
  if (line.ends_with("\r\n")) line.remove_suffix(2);
  write('>', line, "");
}

void SendProtocolObserver::on_received(const Reply& reply) {
  // One record per reply line, so that a multi-line EHLO reply stays greppable.
  const std::string wire = reply.wire();
  size_t start = 0;
  while (start < wire.size()) {
    size_t end = wire.find("\r\n", start);
    if (end == std::string::npos) end = wire.size();
    write('<', std::string_view(wire).substr(start, end - start), "");
    start = end + 2;
  }
}

void SendProtocolObserver::on_received_line(std::string_view line) {
  if (line.ends_with("\r\n")) line.remove_suffix(2);
  write('<', line, "");
}

void SendProtocolObserver::write(char event, std::string_view data, std::string_view context) {
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

}  // namespace sluice::delivery
