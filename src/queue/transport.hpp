// queue/transport.hpp: the seam between the queue's scheduler and the network — "deliver
// these messages to this next hop over one connection and tell me what happened to each
// recipient". The daemon plugs in SmtpTransport (target resolution + delivery::deliver_batch);
// the queue's unit tests plug in a fake that answers as a script says.
// Owns: the interface only. Not: DNS, SMTP, classification (routing/, delivery/).
#pragma once

#include <functional>
#include <vector>

#include "delivery/smtp_delivery.hpp"
#include "routing/send_routing.hpp"

namespace sluice::queue {

class Transport {
 public:
  using Done = std::function<void(delivery::BatchResult)>;
  virtual ~Transport() = default;

  // Delivers `jobs` (every one has at least one recipient) to `hop`, whose connector is not
  // null, over one connection when it can. `done` runs exactly once, on any thread (the
  // queue moves the result to its own loop); every recipient of every job must get an
  // outcome in `per_job`. The jobs' envelopes and contents stay valid until `done` has run.
  virtual void deliver(const routing::NextHop& hop, std::vector<delivery::DeliveryJob> jobs, Done done) = 0;
};

}  // namespace sluice::queue
