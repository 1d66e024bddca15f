// base/base.cpp: the few out-of-line pieces of the base layer: reply formatting,
// error messages and the assertion handler.
#include <cstdio>
#include <cstdlib>

#include "base/assert.hpp"
#include "base/reply.hpp"
#include "base/result.hpp"

namespace sluice {

namespace detail {
void assert_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "sluice: assertion failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

Reply::Reply(int code, std::string enhanced, std::string text)
    : code_(code), enhanced_(std::move(enhanced)), lines_{std::move(text)} {}

Reply::Reply(int code, std::string enhanced, std::vector<std::string> lines)
    : code_(code), enhanced_(std::move(enhanced)), lines_(std::move(lines)) {
  if (lines_.empty()) lines_.emplace_back();
}

std::string Reply::text() const {
  std::string out = std::to_string(code_);
  if (!enhanced_.empty()) out += " " + enhanced_;
  for (size_t i = 0; i < lines_.size(); ++i) {
    out += i == 0 ? " " : "; ";
    out += lines_[i];
  }
  return out;
}

std::string Reply::wire() const {
  std::string out;
  const std::string code = std::to_string(code_);
  for (size_t i = 0; i < lines_.size(); ++i) {
    out += code;
    out += i + 1 < lines_.size() ? '-' : ' ';
    if (!enhanced_.empty()) {
      out += enhanced_;
      if (!lines_[i].empty()) out += ' ';
    }
    out += lines_[i];
    out += "\r\n";
  }
  return out;
}

const char* to_string(ErrorClass c) {
  switch (c) {
    case ErrorClass::transient: return "transient";
    case ErrorClass::permanent: return "permanent";
    case ErrorClass::protocol: return "protocol";
    case ErrorClass::io: return "io";
    case ErrorClass::config: return "config";
  }
  return "unknown";
}

std::string Error::message() const {
  if (!reply || context == reply->text()) return context;
  return context + " (" + reply->text() + ")";
}

}  // namespace sluice
