// routing/target_resolver_awaitable.hpp: `co_await async_resolve_targets(resolver, hop)` for
// the queue's and the transport's coroutines.
// Owns: resuming the awaiting coroutine on its own executor (the resolver calls back on its
// loop, which may be another). Not: the resolution (target_resolver.hpp).
// Kept apart from target_resolver.hpp so that Asio stays out of code that only needs the
// callback form.
#pragma once

#include <memory>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/dispatch.hpp>
#include <asio/use_awaitable.hpp>

#include "routing/target_resolver.hpp"

namespace sluice::routing {

// `hop` is copied: its connector pointer must stay valid until the resolution has started
// (the resolution itself copies what it needs from the connector).
inline asio::awaitable<TargetList> async_resolve_targets(TargetResolver& resolver, NextHop hop) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(TargetList)>(
      [&resolver, hop = std::move(hop)](auto handler) mutable {
        // std::function needs a copyable callable; the handler is move-only.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        resolver.resolve(hop, [h](TargetList list) {
          auto ex = asio::get_associated_executor(*h);
          asio::dispatch(ex, [h, list = std::move(list)]() mutable { (*h)(std::move(list)); });
        });
      },
      asio::use_awaitable);
}

}  // namespace sluice::routing
