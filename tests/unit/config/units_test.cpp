// Tests for config/units: durations need a unit, sizes use binary multiples.
#include "config/units.hpp"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

using std::chrono::seconds;

TEST(Duration, EveryUnit) {
  EXPECT_EQ(parse_duration("30s").value(), seconds(30));
  EXPECT_EQ(parse_duration("5m").value(), seconds(300));
  EXPECT_EQ(parse_duration("2h").value(), seconds(7200));
  EXPECT_EQ(parse_duration("1d").value(), seconds(86400));
  EXPECT_EQ(parse_duration("0s").value(), seconds(0));
}

TEST(Duration, BareNumberAsksForAUnit) {
  auto r = parse_duration("300");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().klass, ErrorClass::config);
  EXPECT_NE(r.error().context.find("no unit"), std::string::npos) << r.error().context;
  EXPECT_NE(r.error().context.find("\"300s\""), std::string::npos) << r.error().context;
}

TEST(Duration, RejectsGarbage) {
  for (const char* bad : {"", "m", "-5m", "5 minutes", "5ms", "1.5h", "5M", "s5", "99999999999999999999s"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
  EXPECT_NE(parse_duration("5w").error().context.find("use s, m, h or d"), std::string::npos);
}

TEST(Duration, RejectsAbsurdlyLong) {
  EXPECT_TRUE(parse_duration("36500d"));
  EXPECT_FALSE(parse_duration("36501d"));
  EXPECT_FALSE(parse_duration("18446744073709551615d"));
}

TEST(Size, BinaryUnits) {
  EXPECT_EQ(parse_size("512").value(), 512u);
  EXPECT_EQ(parse_size("512B").value(), 512u);
  EXPECT_EQ(parse_size("64KB").value(), 64u * 1024);
  EXPECT_EQ(parse_size("35MB").value(), 35u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GB").value(), 1ull << 30);
  EXPECT_EQ(parse_size("2TB").value(), 2ull << 40);
  EXPECT_EQ(parse_size("35mb").value(), 35u * 1024 * 1024);
}

TEST(Size, RejectsGarbageAndOverflow) {
  for (const char* bad : {"", "MB", "-1", "1.5MB", "10XB", "10 M", "99999999999999999999",
                          "17179869184GB"}) {
    EXPECT_FALSE(parse_size(bad)) << bad;
  }
  EXPECT_NE(parse_size("10XB").error().context.find("1 KB = 1024"), std::string::npos);
}

TEST(Units, FormatRoundTrips) {
  EXPECT_EQ(format_duration(seconds(300)), "5m");
  EXPECT_EQ(format_duration(seconds(90)), "90s");
  EXPECT_EQ(format_duration(seconds(86400)), "1d");
  EXPECT_EQ(format_size(35u << 20), "35MB");
  EXPECT_EQ(format_size(1000), "1000");
  EXPECT_EQ(format_size(1536), "1536");
  EXPECT_EQ(format_size(3072), "3KB");
  for (uint64_t v : {1ull, 1024ull, 1536ull, 35ull << 20, 5ull << 30}) {
    EXPECT_EQ(parse_size(format_size(v)).value(), v);
  }
  for (long v : {1L, 59L, 60L, 3600L, 7260L, 86400L * 3}) {
    EXPECT_EQ(parse_duration(format_duration(seconds(v))).value(), seconds(v));
  }
}

}  // namespace
}  // namespace sluice::config
