// queue/smtp_transport.cpp: see smtp_transport.hpp.
#include "queue/smtp_transport.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <cstdio>
#include <exception>
#include <memory>

#include "routing/target_resolver_awaitable.hpp"

namespace sluice::queue {

delivery::BatchResult SmtpTransport::failed_batch(const std::vector<delivery::DeliveryJob>& jobs,
                                                  const delivery::Outcome& outcome) {
  delivery::BatchResult r;
  r.attempt.session_failure = outcome;
  r.per_job.reserve(jobs.size());
  for (const auto& job : jobs) {
    std::vector<delivery::RecipientOutcome> out;
    for (size_t i : job.recipients) out.push_back(delivery::RecipientOutcome{i, outcome});
    r.per_job.push_back(std::move(out));
  }
  return r;
}

void SmtpTransport::deliver(const routing::NextHop& hop, std::vector<delivery::DeliveryJob> jobs, Done done) {
  if (hop.connector == nullptr) {
    done(failed_batch(jobs, delivery::classify_route_error(
                                Error{ErrorClass::transient, hop.unreachable_reason,
                                      Reply(451, "4.4.0", "No route to " + hop.domain + ": " + hop.unreachable_reason)})));
    return;
  }
  // The connector is copied: a reload may swap the config (and free the one `hop` points
  // into) while this coroutine waits on the network.
  auto connector = std::make_shared<config::SendConnector>(*hop.connector);
  routing::NextHop own = hop;
  own.connector = connector.get();
  auto shared_done = std::make_shared<Done>(std::move(done));
  asio::co_spawn(
      context_.executor,
      [this, own = std::move(own), connector, jobs = std::move(jobs), shared_done]() mutable -> asio::awaitable<void> {
        routing::TargetList targets = co_await routing::async_resolve_targets(targets_, own);
        if (targets.targets.empty()) {
          Error e = targets.error ? *targets.error
                                  : Error{ErrorClass::transient, "no target for " + own.name,
                                          Reply(451, "4.4.0", "No target found for " + own.name)};
          (*shared_done)(failed_batch(jobs, delivery::classify_route_error(e)));
          co_return;
        }
        delivery::BatchResult r = co_await delivery::deliver_batch(context_, targets, *connector, jobs);
        (*shared_done)(std::move(r));
      },
      [shared_done](std::exception_ptr e) {
        // deliver_batch promises not to throw for network trouble; anything else (a bug,
        // bad_alloc) must still answer the queue, or the recipients would stay busy forever.
        if (!e) return;
        std::string what = "unexpected error";
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          what = ex.what();
        } catch (...) {
        }
        std::fprintf(stderr, "sluiced: outbound delivery failed: %s\n", what.c_str());
        (void)what;
        // The jobs were moved into the coroutine; the queue applies a session failure to
        // every recipient of the batch when per_job is empty.
        delivery::BatchResult r;
        r.attempt.session_failure = delivery::Outcome{false, delivery::Scope::queue,
                                                      Reply(451, "4.3.0", "Local error in outbound delivery: " + what),
                                                      "sluice hit an internal error while delivering; it will try again."};
        (*shared_done)(std::move(r));
      });
}

}  // namespace sluice::queue
