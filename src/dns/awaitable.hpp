// dns/awaitable.hpp: coroutine adapters over the callback Resolver, for code that already
// lives in Asio coroutines (routing's MX target resolution, the delivery transport).
// Owns: resuming the awaiting coroutine on its own executor, which may belong to another
// loop than the resolver's. Not: resolving (resolver.hpp), what answers mean (routing/).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/dispatch.hpp>
#include <asio/use_awaitable.hpp>

#include "dns/resolver.hpp"

namespace sluice::dns {

namespace detail {
// `start(callback)` issues one query; the coroutine resumes with its Answer.
template <typename T, typename Start>
asio::awaitable<Answer<T>> await_answer(Start start) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(Answer<T>)>(
      [start = std::move(start)](auto handler) mutable {
        // std::function needs a copyable callable; the handler is move-only.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start([h](Answer<T> answer) {
          auto ex = asio::get_associated_executor(*h);
          asio::dispatch(ex, [h, answer = std::move(answer)]() mutable { (*h)(std::move(answer)); });
        });
      },
      asio::use_awaitable);
}
}  // namespace detail

inline asio::awaitable<Answer<MxRecord>> async_mx(Resolver& r, std::string name) {
  return detail::await_answer<MxRecord>([&r, name = std::move(name)](auto cb) mutable { r.mx(std::move(name), std::move(cb)); });
}
inline asio::awaitable<Answer<std::string>> async_a(Resolver& r, std::string name) {
  return detail::await_answer<std::string>([&r, name = std::move(name)](auto cb) mutable { r.a(std::move(name), std::move(cb)); });
}
inline asio::awaitable<Answer<std::string>> async_aaaa(Resolver& r, std::string name) {
  return detail::await_answer<std::string>([&r, name = std::move(name)](auto cb) mutable { r.aaaa(std::move(name), std::move(cb)); });
}
inline asio::awaitable<Answer<std::string>> async_txt(Resolver& r, std::string name) {
  return detail::await_answer<std::string>([&r, name = std::move(name)](auto cb) mutable { r.txt(std::move(name), std::move(cb)); });
}
inline asio::awaitable<Answer<std::string>> async_ptr(Resolver& r, std::string ip) {
  return detail::await_answer<std::string>([&r, ip = std::move(ip)](auto cb) mutable { r.ptr(std::move(ip), std::move(cb)); });
}

}  // namespace sluice::dns
