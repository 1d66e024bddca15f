// log/log_format.hpp: the small text formats the logs share — the UTC timestamp of every
// record, RFC 4180 quoting of CSV fields, and `ip:port` endpoints.
// Owns: these formats, so the protocol log, the tracking log and anyone who prints the same
// fields (the CLI, the admin API) agree byte for byte. Not: files, rotation (log_file.hpp).
// Follows RFC 4180 §2 (fields containing a comma, a double quote, CR or LF are enclosed in
// double quotes; a double quote inside is doubled) and RFC 3986 §3.2.2 (an IPv6 literal is
// written in brackets when a port follows).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/clock.hpp"

namespace sluice::log {

// "2019-01-25T00:03:58.478Z": UTC, milliseconds, as in Exchange's logs (ISO 8601).
std::string format_timestamp(SystemTime t);

// "20190125": the UTC day, as in log file names.
std::string format_day(SystemTime t);

// `field` as one CSV field: unchanged, or quoted when it holds ',', '"', CR or LF.
std::string csv_field(std::string_view field);
// Appends csv_field(field) to `out` without a temporary.
void append_csv_field(std::string& out, std::string_view field);

// "192.0.2.1:25", "[2001:db8::1]:25". An address already in brackets is kept as it is; an
// empty address gives "" (an endpoint that is not known yet, e.g. before connect).
std::string format_endpoint(std::string_view ip, uint16_t port);

}  // namespace sluice::log
