// queue/smtp_transport.hpp: the real Transport — resolves the next hop's targets (MX or smart
// hosts, routing::TargetResolver) and runs delivery::deliver_batch over them, as one
// coroutine on the delivery context's executor.
// Owns: turning a failed target resolution into outcomes for every recipient (queue scope:
// SERVFAIL puts the queue in Retry, NXDOMAIN and null MX bounce). Not: what the outcomes
// mean for the queue (queue_manager), DNS, SMTP (routing/, delivery/).
// RFC 5321 §5.1 (the targets), RFC 7505 (null MX), through routing/ and delivery/.
#pragma once

#include "delivery/smtp_delivery.hpp"
#include "queue/transport.hpp"
#include "routing/target_resolver.hpp"

namespace sluice::queue {

class SmtpTransport final : public Transport {
 public:
  // Both borrowed; they must outlive every delivery started here. `targets` must call back
  // on (or be resolved through) the loop of `context.executor`.
  SmtpTransport(delivery::SmtpDeliveryContext& context, routing::TargetResolver& targets)
      : context_(context), targets_(targets) {}

  void deliver(const routing::NextHop& hop, std::vector<delivery::DeliveryJob> jobs, Done done) override;

  // Every recipient of every job gets `outcome` (a failed resolution, or a hop no connector
  // serves): the result deliver() reports when no connection was tried.
  static delivery::BatchResult failed_batch(const std::vector<delivery::DeliveryJob>& jobs,
                                            const delivery::Outcome& outcome);

 private:
  delivery::SmtpDeliveryContext& context_;
  routing::TargetResolver& targets_;
};

}  // namespace sluice::queue
