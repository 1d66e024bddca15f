// Tests of smtp/received_header: clause layout, the "for" rule, sanitizing of client text,
// IPv6 literals, folding at 78 columns, the RFC 5322 date.
#include "smtp/received_header.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace sluice::smtp {
namespace {

// 2025-07-01 10:02:03 UTC, a Tuesday.
SystemTime july_first() { return SystemTime{std::chrono::seconds{1751364123}}; }

ReceivedInfo sample() {
  ReceivedInfo info;
  info.helo = "client.example.test";
  info.ip = "192.0.2.1";
  info.hostname = "mx.sluice.test";
  info.protocol = "ESMTP";
  info.queue_id = "0CHG5V1M2KT01";
  info.for_recipient = "bob@example.test";
  info.when = july_first();
  return info;
}

TEST(Rfc5322Date, FormatsUtc) {
  EXPECT_EQ(rfc5322_date(july_first()), "Tue, 01 Jul 2025 10:02:03 +0000");
  EXPECT_EQ(rfc5322_date(SystemTime{}), "Thu, 01 Jan 1970 00:00:00 +0000");
  // A leap day, with sub-second time truncated.
  EXPECT_EQ(rfc5322_date(SystemTime{std::chrono::seconds{951868799} + std::chrono::milliseconds{999}}),
            "Tue, 29 Feb 2000 23:59:59 +0000");
}

TEST(ReceivedHeader, OneRecipientGetsAForClause) {
  EXPECT_EQ(make_received_header(sample()),
            "Received: from client.example.test (unknown [192.0.2.1])\r\n"
            "\tby mx.sluice.test (sluice) with ESMTP id 0CHG5V1M2KT01\r\n"
            "\tfor <bob@example.test>; Tue, 01 Jul 2025 10:02:03 +0000\r\n");
}

TEST(ReceivedHeader, WithoutASingleRecipientTheDateStandsAlone) {
  ReceivedInfo info = sample();
  info.for_recipient.clear();
  info.reverse_name = "client.example.test";
  EXPECT_EQ(make_received_header(info),
            "Received: from client.example.test (client.example.test [192.0.2.1])\r\n"
            "\tby mx.sluice.test (sluice) with ESMTP id 0CHG5V1M2KT01;\r\n"
            "\tTue, 01 Jul 2025 10:02:03 +0000\r\n");
}

TEST(ReceivedHeader, Ipv6LiteralIsTagged) {
  ReceivedInfo info = sample();
  info.ip = "2001:db8::1";
  EXPECT_NE(make_received_header(info).find("(unknown [IPv6:2001:db8::1])"), std::string::npos);
}

TEST(ReceivedHeader, ClientTextCannotForgeStructure) {
  ReceivedInfo info = sample();
  info.helo = "evil\r\nX-Injected: yes (by x; )";
  info.for_recipient = "a>\r\nb@x";
  const std::string h = make_received_header(info);
  EXPECT_EQ(h.find("\r\nX-Injected"), std::string::npos);
  EXPECT_NE(h.find("from evil??X-Injected:?yes??by?x???"), std::string::npos);
  EXPECT_NE(h.find("<a???b@x>;"), std::string::npos);
}

TEST(ReceivedHeader, Utf8KeptOnlyForUtf8Transactions) {
  ReceivedInfo info = sample();
  info.for_recipient = "j\xc3\xb6rg@example.test";
  EXPECT_NE(make_received_header(info).find("<j??rg@example.test>"), std::string::npos);
  info.protocol = "UTF8SMTP";
  EXPECT_NE(make_received_header(info).find("<j\xc3\xb6rg@example.test>"), std::string::npos);
}

TEST(ReceivedHeader, LongLinesAreFoldedAt78) {
  ReceivedInfo info = sample();
  info.helo = std::string(40, 'h') + ".example.test";
  info.reverse_name = std::string(30, 'r') + ".example.test";
  info.for_recipient = std::string(40, 'b') + "@example.test";
  const std::string h = make_received_header(info);
  size_t start = 0;
  int lines = 0;
  while (start < h.size()) {
    const size_t end = h.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << h.substr(start, end - start);
    if (start > 0) {
      EXPECT_EQ(h[start], '\t');
    }
    start = end + 2;
    ++lines;
  }
  EXPECT_GT(lines, 3);  // the long clauses needed extra folds
  // Unfolding gives back single spaces between the words.
  std::string unfolded;
  for (size_t i = 0; i < h.size(); ++i) {
    if (h.compare(i, 3, "\r\n\t") == 0) {
      unfolded += ' ';
      i += 2;
    } else {
      unfolded += h[i];
    }
  }
  EXPECT_NE(unfolded.find("from " + info.helo + " (" + info.reverse_name + " [192.0.2.1])"), std::string::npos);
}

TEST(ReceivedHeader, AnUnbreakableWordStaysWhole) {
  ReceivedInfo info = sample();
  info.helo = std::string(100, 'x');
  const std::string h = make_received_header(info);
  EXPECT_NE(h.find("\r\n\t" + std::string(100, 'x') + "\r\n"), std::string::npos);
}

}  // namespace
}  // namespace sluice::smtp
