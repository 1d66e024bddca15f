// tests/unit/log/log_test_util.hpp: helpers shared by the log tests — a fresh temporary
// folder per test, reading a folder's files, and a small RFC 4180 reader to check that what
// the logs write parses back field for field.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/clock.hpp"

namespace sluice::log::testing_util {

inline std::filesystem::path make_temp_dir() {
  std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "sluice-log-XXXXXX").string();
  char* made = ::mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return std::filesystem::path(tmpl);
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::filesystem::path& p, size_t size) {
  std::ofstream out(p, std::ios::binary);
  out << std::string(size, 'x');
}

// File names in `dir`, sorted.
inline std::vector<std::string> list_files(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// 2024-03-09 at hh:mm:ss.ms UTC.
inline SystemTime at_utc(int day, int h, int m, int s, int ms = 0) {
  using namespace std::chrono;
  return SystemTime{sys_days{year{2024} / March / day}} + hours{h} + minutes{m} + seconds{s} +
         milliseconds{ms};
}

// Splits CSV text into records of fields (RFC 4180 §2; records end in LF or CRLF). Lines
// starting with '#' outside quotes are header lines and are skipped. Sets `ok` false on a
// stray quote or an unterminated quoted field.
inline std::vector<std::vector<std::string>> parse_csv(const std::string& text, bool& ok) {
  ok = true;
  std::vector<std::vector<std::string>> records;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '#') {
      const size_t nl = text.find('\n', i);
      i = nl == std::string::npos ? text.size() : nl + 1;
      continue;
    }
    std::vector<std::string> fields;
    std::string field;
    bool end_of_record = false;
    while (!end_of_record) {
      if (i < text.size() && text[i] == '"') {
        ++i;
        for (;;) {
          if (i >= text.size()) { ok = false; return records; }
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') { field += '"'; i += 2; continue; }
            ++i;
            break;
          }
          field += text[i++];
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') { ok = false; return records; }
          field += text[i++];
        }
      }
      if (i >= text.size()) { ok = false; return records; }  // every record ends in a newline
      if (text[i] == ',') { ++i; fields.push_back(std::move(field)); field.clear(); continue; }
      if (text[i] == '\r') ++i;
      if (i >= text.size() || text[i] != '\n') { ok = false; return records; }
      ++i;
      fields.push_back(std::move(field));
      end_of_record = true;
    }
    records.push_back(std::move(fields));
  }
  return records;
}

// The lines of `text` that start with '#'.
inline std::vector<std::string> header_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("#")) out.push_back(line);
  return out;
}

}  // namespace sluice::log::testing_util
