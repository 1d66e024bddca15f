// Tests of smtp/message_reader: end of DATA only at <CRLF>.<CRLF>, dot-unstuffing, every
// bare CR/LF smuggling variant, the size limit, BDAT chunks, header lookups. Every DATA input
// is also fed split at every byte position, and the result must not change.
#include "smtp/message_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::smtp {
namespace {

struct DataOutcome {
  bool done = false;
  size_t consumed = 0;  // octets taken from the input, end marker included
  std::string content;
  bool bare = false;
  bool too_big = false;
  bool operator==(const DataOutcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const DataOutcome& o) {
  return os << "{done=" << o.done << " consumed=" << o.consumed << " bare=" << o.bare
            << " too_big=" << o.too_big << " content=\"" << o.content << "\"}";
}

DataOutcome read_whole(std::string_view input, uint64_t max_size = 0) {
  MessageReader r(max_size);
  r.begin_data();
  DataOutcome o;
  o.consumed = r.consume(input);
  o.done = r.done();
  o.content = r.content();
  o.bare = r.bare_line_ending();
  o.too_big = r.too_big();
  return o;
}

// Feeds `input` in pieces cut at `cuts` positions, as a socket might deliver it.
DataOutcome read_split(std::string_view input, size_t cut, uint64_t max_size = 0) {
  MessageReader r(max_size);
  r.begin_data();
  DataOutcome o;
  std::string_view parts[2] = {input.substr(0, cut), input.substr(cut)};
  for (std::string_view p : parts) {
    if (r.done()) break;
    o.consumed += r.consume(p);
  }
  o.done = r.done();
  o.content = r.content();
  o.bare = r.bare_line_ending();
  o.too_big = r.too_big();
  return o;
}

DataOutcome read_bytewise(std::string_view input, uint64_t max_size = 0) {
  MessageReader r(max_size);
  r.begin_data();
  DataOutcome o;
  for (size_t i = 0; i < input.size() && !r.done(); ++i) o.consumed += r.consume(input.substr(i, 1));
  o.done = r.done();
  o.content = r.content();
  o.bare = r.bare_line_ending();
  o.too_big = r.too_big();
  return o;
}

// The outcome of the whole input, checked to be the same however it is split.
DataOutcome read_checked(std::string_view input, uint64_t max_size = 0) {
  DataOutcome whole = read_whole(input, max_size);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(read_split(input, cut, max_size), whole) << "split at " << cut;
  }
  EXPECT_EQ(read_bytewise(input, max_size), whole);
  return whole;
}

TEST(MessageReader, EndsAtCrLfDotCrLfAndKeepsTheLastLineEnding) {
  const std::string in = "Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b>\r\n";
  DataOutcome o = read_checked(in);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(o.consumed, in.find("MAIL"));  // the pipelined command is left for the session
  EXPECT_FALSE(o.bare);
}

TEST(MessageReader, EmptyMessage) {
  DataOutcome o = read_checked(".\r\nQUIT\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, "");
  EXPECT_EQ(o.consumed, 3u);
}

TEST(MessageReader, DotUnstuffing) {
  DataOutcome o = read_checked("..\r\n..x\r\n.y\r\na.b\r\n...\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, ".\r\n.x\r\ny\r\na.b\r\n..\r\n");
  EXPECT_FALSE(o.bare);
}

TEST(MessageReader, DotLineNotAtLineStartIsContent) {
  DataOutcome o = read_checked("a\r\nb.\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, "a\r\nb.\r\n");
}

TEST(MessageReader, IncompleteInputIsNotDone) {
  DataOutcome o = read_checked("line\r\n.\r");
  EXPECT_FALSE(o.done);
  EXPECT_EQ(o.consumed, 8u);
  EXPECT_EQ(o.content, "line\r\n");
}

// Each smuggling variant: the fake end must be kept as content, the message flagged, and
// only the real <CRLF>.<CRLF> afterwards ends it.
struct SmuggleCase {
  const char* name;
  std::string fake_end;
};

class Smuggling : public testing::TestWithParam<SmuggleCase> {};

TEST_P(Smuggling, NeverEndsTheDataAndIsFlagged) {
  const std::string smuggled = "MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nforged\r\n";
  const std::string in = "Subject: a\r\n\r\nhello" + GetParam().fake_end + smuggled + ".\r\nNEXT\r\n";
  DataOutcome o = read_checked(in);
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.bare) << GetParam().name;
  EXPECT_EQ(o.consumed, in.find("NEXT")) << GetParam().name;
  EXPECT_NE(o.content.find("MAIL FROM:<evil@x>"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, Smuggling,
    testing::Values(SmuggleCase{"lf_dot_lf", "\n.\n"}, SmuggleCase{"lf_dot_crlf", "\n.\r\n"},
                    SmuggleCase{"cr_dot_cr", "\r.\r"}, SmuggleCase{"crlf_dot_lf", "\r\n.\n"},
                    SmuggleCase{"crlf_dot_cr", "\r\n.\r"}, SmuggleCase{"cr_dot_crlf", "\r.\r\n"},
                    SmuggleCase{"lf_dot_cr", "\n.\r"}, SmuggleCase{"cr_dot_lf", "\r.\n"},
                    SmuggleCase{"crlf_dot_cr_crlf", "\r\n.\r\r\n"},
                    SmuggleCase{"crlf_dot_lf_crlf", "\r\n.\n\r\n"}),
    [](const testing::TestParamInfo<SmuggleCase>& info) { return std::string(info.param.name); });

TEST(MessageReader, BareLfAloneIsFlagged) {
  DataOutcome o = read_checked("a\nb\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.bare);
  EXPECT_EQ(o.content, "a\nb\r\n");
}

TEST(MessageReader, BareCrAloneIsFlagged) {
  DataOutcome o = read_checked("a\rb\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.bare);
  EXPECT_EQ(o.content, "a\rb\r\n");
}

TEST(MessageReader, CrCrLfIsOneBareCrThenALineEnd) {
  DataOutcome o = read_checked("a\r\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.bare);
  EXPECT_EQ(o.content, "a\r\r\n");
}

TEST(MessageReader, TooBigIsReadToTheEndAndDiscarded) {
  std::string in = "Subject: big\r\n\r\n";
  for (int i = 0; i < 20; ++i) in += "0123456789\r\n";
  const size_t end = in.size();
  in += ".\r\nQUIT\r\n";
  DataOutcome o = read_checked(in, 100);
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.too_big);
  EXPECT_EQ(o.content, "");
  EXPECT_EQ(o.consumed, end + 3);
}

TEST(MessageReader, ExactlyAtTheLimitIsAccepted) {
  DataOutcome o = read_checked("12345678\r\n.\r\n", 10);
  EXPECT_TRUE(o.done);
  EXPECT_FALSE(o.too_big);
  EXPECT_EQ(o.content, "12345678\r\n");
  EXPECT_TRUE(read_checked("123456789\r\n.\r\n", 10).too_big);
}

TEST(MessageReader, ChunksAreExactAndBinary) {
  MessageReader r;
  r.begin_chunk(7, false);
  const std::string in("a\n.\n\r\x00zBDAT", 11);
  EXPECT_EQ(r.consume(std::string_view(in.data(), 3)), 3u);
  EXPECT_FALSE(r.done());
  EXPECT_EQ(r.chunk_remaining(), 4u);
  EXPECT_EQ(r.consume(std::string_view(in.data() + 3, in.size() - 3)), 4u);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.content(), std::string("a\n.\n\r\x00z", 7));
  EXPECT_FALSE(r.bare_line_ending());  // BDAT is binary: no line-ending rules
  r.begin_chunk(2, false);
  EXPECT_EQ(r.consume("xyz"), 2u);
  EXPECT_EQ(r.content(), std::string("a\n.\n\r\x00zxy", 9));
}

TEST(MessageReader, DiscardedChunkIsSkippedExactly) {
  MessageReader r;
  r.begin_chunk(5, true);
  EXPECT_EQ(r.consume("12345RSET\r\n"), 5u);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.content(), "");
  EXPECT_EQ(r.octets(), 5u);
}

TEST(MessageReader, ZeroChunkIsDoneAtOnce) {
  MessageReader r;
  r.begin_chunk(0, false);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.consume("QUIT\r\n"), 0u);
}

TEST(MessageReader, ChunksOverTheLimitAreDiscarded) {
  MessageReader r(5);
  r.begin_chunk(4, false);
  EXPECT_EQ(r.consume("abcd"), 4u);
  EXPECT_FALSE(r.too_big());
  r.begin_chunk(4, false);
  EXPECT_EQ(r.consume("efgh"), 4u);
  EXPECT_TRUE(r.too_big());
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.content(), "");
}

TEST(MessageReader, ResetClearsEverything) {
  MessageReader r(4);
  r.begin_data();
  EXPECT_EQ(r.consume("a\nbcdef\r\n.\r\n"), 12u);
  EXPECT_TRUE(r.too_big());
  EXPECT_TRUE(r.bare_line_ending());
  r.reset();
  EXPECT_FALSE(r.too_big());
  EXPECT_FALSE(r.bare_line_ending());
  EXPECT_EQ(r.octets(), 0u);
  r.begin_data();
  EXPECT_EQ(r.consume("ok\r\n.\r\n"), 7u);
  EXPECT_EQ(r.content(), "ok\r\n");
}

TEST(HeaderScan, CountsReceivedOnlyInTheHeaderSection) {
  const std::string m =
      "Received: from a\r\n\tby b\r\nreceived : from c\r\nRECEIVED:x\r\nX-Received: no\r\n"
      "Subject: Received: no\r\n\r\nReceived: in the body\r\n";
  EXPECT_EQ(count_received_headers(m), 3);
  EXPECT_EQ(count_received_headers("\r\nReceived: x\r\n"), 0);
  EXPECT_EQ(count_received_headers(""), 0);
  EXPECT_EQ(count_received_headers("Received: x"), 1);
}

TEST(HeaderScan, FindsAndUnfoldsMessageId) {
  EXPECT_EQ(find_message_id("Subject: a\r\nMessage-ID: <1@x.test>\r\n\r\nb\r\n"), "<1@x.test>");
  EXPECT_EQ(find_message_id("message-id:\r\n <2@x.test>\r\nTo: a\r\n\r\n"), "<2@x.test>");
  EXPECT_EQ(find_message_id("Message-ID: <3@x.test>"), "<3@x.test>");
  EXPECT_EQ(find_message_id("Subject: a\r\n\r\nMessage-ID: <4@x.test>\r\n"), "");
  EXPECT_EQ(find_message_id("X-Message-ID: <5@x.test>\r\n\r\n"), "");
}

}  // namespace
}  // namespace sluice::smtp
