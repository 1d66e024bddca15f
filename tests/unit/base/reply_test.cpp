#include "base/reply.hpp"
#include "base/result.hpp"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Reply, SingleLineCarriesTheEnhancedCode) {
  EXPECT_EQ(Reply(250, "2.0.0", "Ok").wire(), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Reply(220, "", "mx ESMTP").wire(), "220 mx ESMTP\r\n");
}

TEST(Reply, MultiLineUsesContinuationOnAllButTheLast) {
  Reply r(250, "", std::vector<std::string>{"mx", "PIPELINING", "SIZE 100"});
  EXPECT_EQ(r.wire(), "250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
  EXPECT_EQ(r.text(), "250 mx; PIPELINING; SIZE 100");
}

TEST(Result, CarriesValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 7);
  Result<int> bad = fail(ErrorClass::permanent, Reply(550, "5.1.1", "no such user"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().klass, ErrorClass::permanent);
  EXPECT_EQ(bad.error().reply->code(), 550);
  Result<void> v = ok();
  EXPECT_TRUE(v);
  Result<void> e = fail(ErrorClass::io, "disk full");
  EXPECT_EQ(e.error().message(), "disk full");
}

}  // namespace
}  // namespace sluice
