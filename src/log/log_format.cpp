// log/log_format.cpp: see log_format.hpp.
#include "log/log_format.hpp"

#include <chrono>

#include <fmt/format.h>

namespace sluice::log {

namespace {
struct UtcParts {
  int year;
  unsigned month, day;
  long hours, minutes, seconds, millis;
};

UtcParts split_utc(SystemTime t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  return UtcParts{int(ymd.year()),          unsigned(ymd.month()),
                  unsigned(ymd.day()),      long(hms.hours().count()),
                  long(hms.minutes().count()), long(hms.seconds().count()),
                  long(hms.subseconds().count())};
}
}  // namespace

std::string format_timestamp(SystemTime t) {
  const UtcParts p = split_utc(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", p.year, p.month, p.day,
                     p.hours, p.minutes, p.seconds, p.millis);
}

std::string format_day(SystemTime t) {
  const UtcParts p = split_utc(t);
  return fmt::format("{:04}{:02}{:02}", p.year, p.month, p.day);
}

void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string csv_field(std::string_view field) {
  std::string out;
  append_csv_field(out, field);
  return out;
}

std::string format_endpoint(std::string_view ip, uint16_t port) {
  if (ip.empty()) return {};
  const bool bracket = ip.find(':') != std::string_view::npos && ip.front() != '[';
  return bracket ? fmt::format("[{}]:{}", ip, port) : fmt::format("{}:{}", ip, port);
}

}  // namespace sluice::log
