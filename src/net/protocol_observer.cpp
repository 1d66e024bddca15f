// net/protocol_observer.cpp: see protocol_observer.hpp.
#include "net/protocol_observer.hpp"

namespace sluice::net {

void ProtocolObserver::on_reply(const Reply& reply) {
  if (metrics_ && reply.code() >= 400) {
    metrics_->rejected(session_.connector(), reply.code());
    if (reply.code() == 535) metrics_->auth_failure(session_.connector());  // RFC 4954 §6: credentials invalid
  }
  session_.write_reply('>', reply);
}

}  // namespace sluice::net
