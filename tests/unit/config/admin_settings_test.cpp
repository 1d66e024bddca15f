// Tests for the [admin] section of config/loader: defaults (loopback 8025, the token under
// data_dir), every key read, and each mistake reported at its line.
#include <gtest/gtest.h>

#include "config/loader.hpp"

namespace sluice::config {
namespace {

constexpr std::string_view kMinimal =
    "[server]\n"
    "data_dir = \"/srv/sluice\"\n"
    "[[receive_connector]]\n"
    "name = \"internet\"\n"
    "listen = [\"127.0.0.1:2525\"]\n";

LoadResult load(std::string_view extra) { return load_string(std::string(kMinimal) + std::string(extra), "t.toml"); }

TEST(AdminSettings, DefaultsListenOnLoopbackAndKeepTheTokenUnderDataDir) {
  auto r = load("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->admin.listen.to_string(), "127.0.0.1:8025");
  EXPECT_TRUE(r.config->admin.enabled);
  EXPECT_EQ(r.config->admin.token_file, "/srv/sluice/admin.token");
  EXPECT_FALSE(r.config->admin.token_file_explicit);
}

TEST(AdminSettings, ReadsEveryKey) {
  auto r = load("[admin]\nlisten = \"[::1]:9025\"\nenabled = false\ntoken_file = \"/etc/sluice/token\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->admin.listen.to_string(), "[::1]:9025");
  EXPECT_FALSE(r.config->admin.enabled);
  EXPECT_EQ(r.config->admin.token_file, "/etc/sluice/token");
  EXPECT_TRUE(r.config->admin.token_file_explicit);
}

TEST(AdminSettings, ReportsABadListenAddressAtItsLine) {
  auto r = load("[admin]\nlisten = \"localhost:8025\"\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 7);
  EXPECT_NE(r.errors[0].message.find("'listen'"), std::string::npos) << r.errors[0].message;
}

TEST(AdminSettings, ReportsAnUnknownKey) {
  auto r = load("[admin]\ntoken = \"x\"\n");
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].line, 7);
}

}  // namespace
}  // namespace sluice::config
