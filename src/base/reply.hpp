// base/reply.hpp: an SMTP reply — a three-digit code, an RFC 3463 enhanced status code and
// text of one or more lines — and its wire form (RFC 5321 §4.2, RFC 2034).
// Owns: reply formatting, multi-line continuation. Not: which reply to give (the session).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class Reply {
 public:
  Reply() = default;
  // `enhanced` may be empty (greeting, replies before ENHANCEDSTATUSCODES applies).
  Reply(int code, std::string enhanced, std::string text);
  Reply(int code, std::string enhanced, std::vector<std::string> lines);

  int code() const { return code_; }
  const std::string& enhanced() const { return enhanced_; }
  const std::vector<std::string>& lines() const { return lines_; }
  std::string text() const;  // "250 2.0.0 Ok" style, lines joined with "; "

  bool positive() const { return code_ >= 200 && code_ < 400; }
  bool transient() const { return code_ >= 400 && code_ < 500; }
  bool permanent() const { return code_ >= 500; }

  // "250-2.0.0 a\r\n250 2.0.0 b\r\n"; the enhanced code goes on every line (RFC 2034 §4).
  std::string wire() const;

  bool operator==(const Reply&) const = default;

 private:
  int code_ = 0;
  std::string enhanced_;
  std::vector<std::string> lines_;
};

}  // namespace sluice
