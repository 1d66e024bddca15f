// config/diagnostic.hpp: one finding about a configuration file, with its position, in the
// form compilers use so that editors can jump to it ("file:line:col: message").
// Owns: the message shape. Not: severity policy (the loader decides error vs warning).
#pragma once

#include <string>
#include <string_view>

namespace sluice::config {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the finding concerns the whole file (e.g. unreadable)
  int column = 0;  // 1-based; 0 when unknown
  std::string message;

  // "file:line:col: message", or "file: message" when there is no position.
  std::string to_string() const;
  // The same with a severity after the position: "file:3:1: error: message".
  std::string to_string(std::string_view severity) const;

  bool operator==(const Diagnostic&) const = default;
};

}  // namespace sluice::config
