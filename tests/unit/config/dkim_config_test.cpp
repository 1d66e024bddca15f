// Tests for the [[dkim]] section of config/loader: values and defaults, the algorithm's
// spellings, every missing key, rsa-sha1 refused, duplicates and typos reported with lines.
#include <gtest/gtest.h>

#include "config/loader.hpp"

namespace sluice::config {
namespace {

constexpr std::string_view kMinimal =
    "[[receive_connector]]\n"
    "name = \"internet\"\n"
    "listen = [\"127.0.0.1:2525\"]\n"
    "\n";

LoadResult load(std::string_view extra) { return load_string(std::string(kMinimal) + std::string(extra), "test.toml"); }

std::string errors_of(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

TEST(DkimConfig, NoSectionMeansNoSigning) {
  auto r = load("");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  EXPECT_TRUE(r.config->dkim.empty());
}

TEST(DkimConfig, SectionsLoadWithDefaultAlgorithm) {
  auto r = load(
      "[[dkim]]\ndomain = \"Example.ORG\"\nselector = \"s2024\"\nkey_file = \"/etc/sluice/dkim/example.org.key\"\n"
      "[[dkim]]\ndomain = \"example.org\"\nselector = \"ed\"\nkey_file = \"ed.key\"\nalgorithm = \"ed25519\"\n"
      "[[dkim]]\ndomain = \"example.net\"\nselector = \"s\"\nkey_file = \"k\"\nalgorithm = \"RSA-SHA256\"\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  ASSERT_EQ(r.config->dkim.size(), 3u);
  EXPECT_EQ(r.config->dkim[0].domain, "example.org");
  EXPECT_EQ(r.config->dkim[0].selector, "s2024");
  EXPECT_EQ(r.config->dkim[0].key_file, "/etc/sluice/dkim/example.org.key");
  EXPECT_EQ(r.config->dkim[0].algorithm, "rsa-sha256");
  EXPECT_EQ(r.config->dkim[1].algorithm, "ed25519-sha256");
  EXPECT_EQ(r.config->dkim[2].algorithm, "rsa-sha256");
}

TEST(DkimConfig, MissingKeysAreNamed) {
  auto r = load("[[dkim]]\ndomain = \"example.org\"\n");
  ASSERT_FALSE(r.ok());
  const std::string e = errors_of(r);
  EXPECT_NE(e.find("test.toml:5:1: [[dkim]] needs 'selector'"), std::string::npos) << e;
  EXPECT_NE(e.find("[[dkim]] needs 'key_file' (create one with: sluice dkim keygen --domain D --selector S)"),
            std::string::npos) << e;
}

TEST(DkimConfig, Sha1AndUnknownAlgorithmsAreRefused) {
  for (const char* a : {"rsa-sha1", "dsa"}) {
    auto r = load(std::string("[[dkim]]\ndomain = \"example.org\"\nselector = \"s\"\nkey_file = \"k\"\nalgorithm = \"") + a + "\"\n");
    ASSERT_FALSE(r.ok()) << a;
    EXPECT_NE(errors_of(r).find("test.toml:9:13: 'algorithm' must be \"rsa-sha256\" or \"ed25519-sha256\" (rsa-sha1 is not allowed: RFC 8301)"),
              std::string::npos) << errors_of(r);
  }
}

TEST(DkimConfig, DuplicateAndTypo) {
  auto r = load(
      "[[dkim]]\ndomain = \"example.org\"\nselector = \"s\"\nkey_file = \"a\"\n"
      "[[dkim]]\ndomain = \"EXAMPLE.org\"\nselector = \"s\"\nkey_file = \"b\"\n"
      "[[dkim]]\ndomain = \"example.net\"\nselector = \"s\"\nkeyfile = \"b\"\n");
  ASSERT_FALSE(r.ok());
  const std::string e = errors_of(r);
  EXPECT_NE(e.find("[[dkim]] for domain 'example.org' with selector 's' is already defined on line 5"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'keyfile' in [[dkim]]; did you mean 'key_file'?"), std::string::npos) << e;
}

}  // namespace
}  // namespace sluice::config
