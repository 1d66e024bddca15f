// Tests for auth/dkim_canon: the canonicalization examples of RFC 6376 §3.4.5, body edge
// cases (empty body, trailing empty lines, missing final CRLF, l=), header splitting with
// folding, and bottom-up header selection with oversigning.
#include "auth/dkim_canon.hpp"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

// RFC 6376 §3.4.5.
constexpr const char* kExample = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";

std::string canon_headers(DkimCanon c, const DkimMessage& m) {
  std::string out;
  for (const auto& h : m.headers) out += canon_header(c, h);
  return out;
}

TEST(DkimCanon, Rfc6376Example) {
  const DkimMessage m = split_message(kExample);
  ASSERT_EQ(m.headers.size(), 2u);
  EXPECT_EQ(m.headers[1].name, "B");
  EXPECT_EQ(canon_headers(DkimCanon::relaxed, m), "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(canon_body(DkimCanon::relaxed, m.body), " C\r\nD E\r\n");
  EXPECT_EQ(canon_headers(DkimCanon::simple, m), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(canon_body(DkimCanon::simple, m.body), " C \r\nD \t E\r\n");
}

TEST(DkimCanon, LfLinesAreReadAsCrlf) {
  const DkimMessage m = split_message("A: X\nB : Y\t\n\tZ  \n\n C \nD \t E\n\n\n");
  EXPECT_EQ(canon_headers(DkimCanon::relaxed, m), "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(canon_body(DkimCanon::simple, m.body), " C \r\nD \t E\r\n");
}

TEST(DkimCanon, EmptyBodies) {
  EXPECT_EQ(canon_body(DkimCanon::simple, ""), "\r\n");
  EXPECT_EQ(canon_body(DkimCanon::simple, "\r\n\r\n"), "\r\n");
  EXPECT_EQ(canon_body(DkimCanon::relaxed, ""), "");
  EXPECT_EQ(canon_body(DkimCanon::relaxed, " \r\n\t\r\n"), "");
}

TEST(DkimCanon, MissingFinalLineEndIsAdded) {
  EXPECT_EQ(canon_body(DkimCanon::simple, "abc"), "abc\r\n");
  EXPECT_EQ(canon_body(DkimCanon::relaxed, "abc  "), "abc\r\n");
  const DkimMessage m = split_message("A: b\r\n\r\nlast line");
  EXPECT_EQ(m.body, "last line");
}

TEST(DkimCanon, BodyLengthCuts) {
  EXPECT_EQ(canon_body(DkimCanon::simple, "hello\r\nworld\r\n", 7), "hello\r\n");
  EXPECT_EQ(canon_body(DkimCanon::simple, "hello\r\n", 0), "");
  EXPECT_EQ(canon_body(DkimCanon::simple, "hi\r\n", 100), "hi\r\n");
}

TEST(DkimCanon, MessageWithoutBodyIsAllHeader) {
  const DkimMessage m = split_message("From: a@example.org\r\nSubject: x\r\n");
  EXPECT_EQ(m.headers.size(), 2u);
  EXPECT_EQ(m.body, "");
}

TEST(DkimCanon, HeaderSelectionIsBottomUpAndOversigningSelectsNothing) {
  const DkimMessage m = split_message("Received: 1\r\nFrom: a\r\nreceived: 2\r\nTo: b\r\n\r\n");
  auto sel = select_headers(m, {"received", "Received", "received", "from", "FROM", "x-absent"});
  ASSERT_EQ(sel.size(), 3u);
  EXPECT_EQ(sel[0]->raw, "received: 2\r\n");
  EXPECT_EQ(sel[1]->raw, "Received: 1\r\n");
  EXPECT_EQ(sel[2]->raw, "From: a\r\n");
}

TEST(DkimCanon, RelaxedHeaderKeepsInnerTextAndDropsSpaceAroundColon) {
  DkimHeaderField f{"Subject ", "Subject :   Hello \t  World \r\n"};
  EXPECT_EQ(canon_header(DkimCanon::relaxed, f), "subject:Hello World\r\n");
  DkimHeaderField empty{"X-Empty", "X-Empty:\r\n"};
  EXPECT_EQ(canon_header(DkimCanon::relaxed, empty), "x-empty:\r\n");
}

}  // namespace
}  // namespace sluice::auth
