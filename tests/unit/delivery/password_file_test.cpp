// Tests for delivery/password_file.cpp: the password is the first line without its ending;
// missing, empty, multi-line, NUL-holding and oversized files are refused with words that
// name the file.
#include "delivery/password_file.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace sluice::delivery {
namespace {

namespace fs = std::filesystem;

class PasswordFileTest : public ::testing::Test {
 protected:
  PasswordFileTest() {
    std::string tmpl = testing::TempDir() + "/password_file_XXXXXX";
    const char* d = mkdtemp(tmpl.data());
    EXPECT_NE(d, nullptr);
    dir_ = d;
  }
  fs::path write(const std::string& content) {
    const fs::path p = dir_ / "secret";
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  fs::path dir_;
};

TEST_F(PasswordFileTest, FirstLineWithoutItsEnding) {
  EXPECT_EQ(*read_password_file(write("s3cret\n")), "s3cret");
  EXPECT_EQ(*read_password_file(write("s3cret\r\n")), "s3cret");
  EXPECT_EQ(*read_password_file(write("s3cret")), "s3cret");
  EXPECT_EQ(*read_password_file(write("two words \n\n")), "two words ");  // inner and trailing blanks kept
}

TEST_F(PasswordFileTest, MissingFileNamesThePath) {
  auto r = read_password_file(dir_ / "nope.secret");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().klass, ErrorClass::config);
  EXPECT_NE(r.error().context.find("nope.secret"), std::string::npos);
  EXPECT_NE(r.error().context.find("No such file"), std::string::npos) << r.error().context;
}

TEST_F(PasswordFileTest, RefusesWhatCannotBeAPassword) {
  auto empty = read_password_file(write(""));
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().context.find("empty"), std::string::npos);
  auto blank = read_password_file(write("\n"));
  ASSERT_FALSE(blank);
  EXPECT_NE(blank.error().context.find("empty"), std::string::npos);
  auto two = read_password_file(write("one\ntwo\n"));
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().context.find("more than one line"), std::string::npos);
  auto nul = read_password_file(write(std::string("a\0b", 3)));
  ASSERT_FALSE(nul);
  EXPECT_NE(nul.error().context.find("NUL"), std::string::npos);
}

TEST_F(PasswordFileTest, SizeLimitIsExact) {
  EXPECT_TRUE(read_password_file(write(std::string(kMaxPasswordFile, 'x'))));
  auto big = read_password_file(write(std::string(kMaxPasswordFile + 1, 'x')));
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().context.find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace sluice::delivery
