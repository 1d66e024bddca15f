// delivery/send_protocol_observer.cpp: see send_protocol_observer.hpp.
#include "delivery/send_protocol_observer.hpp"

namespace sluice::delivery {

void SendProtocolObserver::on_attempt(std::string remote, std::string_view host) {
  session_.set_remote_endpoint(std::move(remote));
  session_.write('*', host, "attempting to connect");
}

void SendProtocolObserver::on_connect(std::string local) {
  session_.set_local_endpoint(std::move(local));
  session_.write('+', "", "");
}

void SendProtocolObserver::on_sent(std::string_view line) {
  if (line.ends_with("\r\n")) line.remove_suffix(2);
  session_.write('>', line, "");
}

void SendProtocolObserver::on_received(const Reply& reply) { session_.write_reply('<', reply); }

void SendProtocolObserver::on_received_line(std::string_view line) {
  if (line.ends_with("\r\n")) line.remove_suffix(2);
  session_.write('<', line, "");
}

}  // namespace sluice::delivery
