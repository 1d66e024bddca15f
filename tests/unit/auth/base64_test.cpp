// Tests for auth/base64: RFC 4648 §10 vectors both ways, and strict rejection of everything
// that is not exactly one canonical encoding.
#include "auth/base64.hpp"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, EveryByteValueRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    auto decoded = base64_decode(base64_encode(all.substr(0, n)));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, all.substr(0, n));
  }
}

TEST(Base64, MalformedInputIs501WithEnhancedCode) {
  for (std::string_view bad : {"Zg", "Zg=", "Zm9v=", "Z===", "====", "Zg==Zg==", "Zm 9v", "Zm9v\r\n",
                               "Zh==", "Zm9=", "Zm-v", "Zm_v", "*"}) {
    auto r = base64_decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().klass, ErrorClass::protocol);
    ASSERT_TRUE(r.error().reply);
    EXPECT_EQ(r.error().reply->code(), 501) << bad;
    EXPECT_EQ(r.error().reply->enhanced(), "5.5.2");
  }
}

}  // namespace
}  // namespace sluice::auth
