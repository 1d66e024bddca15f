// config/diagnostic.cpp: see diagnostic.hpp.
#include "config/diagnostic.hpp"

namespace sluice::config {

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out + ": " + message;
}

std::string Diagnostic::to_string(std::string_view severity) const {
  Diagnostic d = *this;
  d.message = std::string(severity) + ": " + message;
  return d.to_string();
}

}  // namespace sluice::config
