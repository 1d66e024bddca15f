// tests/unit/log/log_format_test.cpp: timestamps, CSV quoting (RFC 4180) and endpoints.
#include "log/log_format.hpp"

#include <gtest/gtest.h>

#include "log_test_util.hpp"

namespace sluice::log {
namespace {

using testing_util::at_utc;
using testing_util::parse_csv;

TEST(LogFormat, TimestampIsUtcWithMilliseconds) {
  EXPECT_EQ(format_timestamp(SystemTime{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(at_utc(9, 0, 3, 58, 478)), "2024-03-09T00:03:58.478Z");
  EXPECT_EQ(format_timestamp(at_utc(9, 23, 59, 59, 999)), "2024-03-09T23:59:59.999Z");
  // Sub-millisecond parts are cut, not rounded: rounding could show the next day.
  EXPECT_EQ(format_timestamp(at_utc(9, 23, 59, 59, 999) + std::chrono::microseconds(999)),
            "2024-03-09T23:59:59.999Z");
}

TEST(LogFormat, DayIsUtcDate) {
  EXPECT_EQ(format_day(at_utc(9, 23, 59, 59, 999)), "20240309");
  EXPECT_EQ(format_day(at_utc(10, 0, 0, 0)), "20240310");
  EXPECT_EQ(format_day(SystemTime{}), "19700101");
}

TEST(LogFormat, CsvFieldLeavesPlainTextAlone) {
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("EHLO mail.example.test"), "EHLO mail.example.test");
  EXPECT_EQ(csv_field(" padded "), " padded ");  // RFC 4180: spaces are part of the field
  EXPECT_EQ(csv_field("it's"), "it's");
}

TEST(LogFormat, CsvFieldQuotesSpecialCharacters) {
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("\""), "\"\"\"\"");
  EXPECT_EQ(csv_field("a\rb"), "\"a\rb\"");
  EXPECT_EQ(csv_field("a\nb"), "\"a\nb\"");
  EXPECT_EQ(csv_field(","), "\",\"");
}

TEST(LogFormat, CsvFieldsParseBackToTheOriginal) {
  const std::vector<std::string> fields = {
      "", "plain", "a,b", "\"", "\"\"", "x\"y", "line1\r\nline2", "\n", ",\",\r\n,", " , "};
  std::string record;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) record += ',';
    append_csv_field(record, fields[i]);
  }
  record += '\n';
  bool ok = false;
  auto records = parse_csv(record, ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], fields);
}

TEST(LogFormat, Endpoints) {
  EXPECT_EQ(format_endpoint("192.0.2.1", 25), "192.0.2.1:25");
  EXPECT_EQ(format_endpoint("2001:db8::1", 587), "[2001:db8::1]:587");
  EXPECT_EQ(format_endpoint("::ffff:192.0.2.1", 465), "[::ffff:192.0.2.1]:465");
  EXPECT_EQ(format_endpoint("[2001:db8::1]", 25), "[2001:db8::1]:25");
  EXPECT_EQ(format_endpoint("", 25), "");
  EXPECT_EQ(format_endpoint("10.0.0.6", 0), "10.0.0.6:0");
}

}  // namespace
}  // namespace sluice::log
