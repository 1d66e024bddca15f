// base/assert.hpp: SLUICE_ASSERT for states that cannot happen. It logs the place and aborts:
// continuing from a broken invariant could lose or duplicate mail.
// Not: validation of untrusted input (that returns Result, see result.hpp).
#pragma once

namespace sluice::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line);
}

#define SLUICE_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::sluice::detail::assert_failed(#expr, __FILE__, __LINE__))
