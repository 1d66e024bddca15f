// tests/unit/log/protocol_log_test.cpp: the protocol log's header block and records (parsed
// back as CSV), file names for receive and send, rotation across midnight UTC, and many
// threads writing at once producing whole records only.
#include "log/protocol_log.hpp"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "log/log_format.hpp"
#include "log_test_util.hpp"

namespace sluice::log {
namespace {

namespace fs = std::filesystem;
using testing_util::at_utc;
using testing_util::header_lines;
using testing_util::list_files;
using testing_util::parse_csv;
using testing_util::read_file;
using Strings = std::vector<std::string>;

constexpr uint64_t kSession = 0x08D675E58CA1DA38ull;

ProtocolEvent event(uint32_t seq, char kind, std::string_view data, std::string_view context = "") {
  return ProtocolEvent{"Default Frontend", kSession, seq, "10.0.0.6:25", "192.0.2.7:61061",
                       kind, data, context};
}

class ProtocolLogTest : public ::testing::Test {
 protected:
  fs::path dir_ = testing_util::make_temp_dir() / "logs" / "protocol";
  ManualClock clock_{at_utc(9, 0, 3, 58, 478)};
};

TEST_F(ProtocolLogTest, ReceiveFileStartsWithHeaderBlock) {
  ProtocolLog log(dir_, ProtocolLogKind::receive, "mx1", clock_);
  log.write(event(0, '+', ""));
  log.flush();
  EXPECT_EQ(list_files(dir_), Strings{"RECV20240309-1.LOG"});
  const std::string text = read_file(dir_ / "RECV20240309-1.LOG");
  EXPECT_EQ(header_lines(text),
            (Strings{"#Software: sluice", "#Version: 0.1.0", "#Log-type: SMTP Receive Protocol Log",
                     "#Date: 2024-03-09T00:03:58.478Z",
                     "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,"
                     "remote-endpoint,event,data,context"}));
  EXPECT_TRUE(text.starts_with("#Software: sluice\n"));  // the header comes first
}

TEST_F(ProtocolLogTest, SendLogHasItsOwnNameAndType) {
  ProtocolLog log(dir_, ProtocolLogKind::send, "mx1", clock_);
  log.write(event(0, '*', "", "attempting to connect"));
  log.flush();
  EXPECT_EQ(list_files(dir_), Strings{"SEND20240309-1.LOG"});
  const Strings header = header_lines(read_file(dir_ / "SEND20240309-1.LOG"));
  ASSERT_EQ(header.size(), 5u);
  EXPECT_EQ(header[2], "#Log-type: SMTP Send Protocol Log");
}

TEST_F(ProtocolLogTest, ReceiveAndSendLogsShareAFolder) {
  ProtocolLog recv(dir_, ProtocolLogKind::receive, "mx1", clock_);
  ProtocolLog send(dir_, ProtocolLogKind::send, "mx1", clock_);
  recv.write(event(0, '+', ""));
  send.write(event(0, '+', ""));
  EXPECT_EQ(list_files(dir_), (Strings{"RECV20240309-1.LOG", "SEND20240309-1.LOG"}));
}

TEST_F(ProtocolLogTest, RecordHasTheNineExchangeFields) {
  ProtocolLog log(dir_, ProtocolLogKind::receive, "mx1", clock_);
  log.write(event(0, '+', ""));
  clock_.advance(std::chrono::milliseconds(16));
  log.write(event(1, '*', "SMTPSubmit SMTPAcceptAnySender", "Set Session Permissions"));
  log.write(event(2, '>', "220 mx1.example.test ESMTP ready"));
  log.write(ProtocolEvent{"Submission", 1, 0, format_endpoint("2001:db8::25", 587),
                          format_endpoint("2001:db8::7", 40000), '<', "EHLO client", ""});
  log.flush();
  bool ok = false;
  const auto records = parse_csv(read_file(dir_ / "RECV20240309-1.LOG"), ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0], (Strings{"2024-03-09T00:03:58.478Z", "mx1\\Default Frontend",
                                 "08D675E58CA1DA38", "0", "10.0.0.6:25", "192.0.2.7:61061", "+",
                                 "", ""}));
  EXPECT_EQ(records[1], (Strings{"2024-03-09T00:03:58.494Z", "mx1\\Default Frontend",
                                 "08D675E58CA1DA38", "1", "10.0.0.6:25", "192.0.2.7:61061", "*",
                                 "SMTPSubmit SMTPAcceptAnySender", "Set Session Permissions"}));
  EXPECT_EQ(records[2][6], ">");
  EXPECT_EQ(records[2][7], "220 mx1.example.test ESMTP ready");
  EXPECT_EQ(records[3], (Strings{"2024-03-09T00:03:58.494Z", "mx1\\Submission",
                                 "0000000000000001", "0", "[2001:db8::25]:587",
                                 "[2001:db8::7]:40000", "<", "EHLO client", ""}));
}

TEST_F(ProtocolLogTest, ExactLineForASimpleEvent) {
  ProtocolLog log(dir_, ProtocolLogKind::receive, "EX1", clock_);
  EXPECT_EQ(log.format(clock_.now(), event(3, '>', "250 2.0.0 Ok, queued", "sending \"x\"")),
            "2024-03-09T00:03:58.478Z,EX1\\Default Frontend,08D675E58CA1DA38,3,10.0.0.6:25,"
            "192.0.2.7:61061,>,\"250 2.0.0 Ok, queued\",\"sending \"\"x\"\"\"\n");
}

TEST_F(ProtocolLogTest, ConnectorNameWithCommaIsQuoted) {
  ProtocolLog log(dir_, ProtocolLogKind::receive, "mx1", clock_);
  ProtocolEvent e = event(0, '+', "");
  e.connector = "Inbound, internet";
  bool ok = false;
  const auto records = parse_csv(log.format(clock_.now(), e), ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(records.size(), 1u);
  ASSERT_EQ(records[0].size(), 9u);
  EXPECT_EQ(records[0][1], "mx1\\Inbound, internet");
}

TEST_F(ProtocolLogTest, HostileDataStaysInItsField) {
  ProtocolLog log(dir_, ProtocolLogKind::receive, "mx1", clock_);
  const std::string nasty = "MAIL FROM:<\"a,b\"@x>\r\n2024-01-01T00:00:00.000Z,fake,line\n\"";
  log.write(event(5, '<', nasty, "ctx,with,commas"));
  log.write(event(6, '-', "", ""));
  log.flush();
  bool ok = false;
  const auto records = parse_csv(read_file(dir_ / "RECV20240309-1.LOG"), ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(records.size(), 2u);
  ASSERT_EQ(records[0].size(), 9u);
  EXPECT_EQ(records[0][7], nasty);
  EXPECT_EQ(records[0][8], "ctx,with,commas");
  EXPECT_EQ(records[1][6], "-");
}

TEST_F(ProtocolLogTest, MidnightUtcStartsNextDaysFileWithItsOwnHeader) {
  ManualClock clock(at_utc(9, 23, 59, 59, 900));
  ProtocolLog log(dir_, ProtocolLogKind::receive, "mx1", clock);
  log.write(event(0, '+', ""));
  clock.advance(std::chrono::milliseconds(100));
  log.write(event(1, '<', "QUIT"));
  log.flush();
  EXPECT_EQ(list_files(dir_), (Strings{"RECV20240309-1.LOG", "RECV20240310-1.LOG"}));
  bool ok = false;
  const std::string day1 = read_file(dir_ / "RECV20240309-1.LOG");
  const std::string day2 = read_file(dir_ / "RECV20240310-1.LOG");
  EXPECT_EQ(header_lines(day1)[3], "#Date: 2024-03-09T23:59:59.900Z");
  EXPECT_EQ(header_lines(day2)[3], "#Date: 2024-03-10T00:00:00.000Z");
  const auto r1 = parse_csv(day1, ok);
  ASSERT_TRUE(ok);
  const auto r2 = parse_csv(day2, ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(r1.size(), 1u);
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r1[0][3], "0");
  EXPECT_EQ(r2[0][3], "1");
  EXPECT_EQ(r2[0][7], "QUIT");
}

TEST_F(ProtocolLogTest, ConcurrentWritersProduceWholeRecordsOnly) {
  LogRetention r;
  r.max_file_size = 200 << 10;  // several files, so rotation races with writers too
  ProtocolLog log(dir_, ProtocolLogKind::receive, "mx1", clock_, r);
  constexpr int kThreads = 6;
  constexpr uint32_t kPerThread = 3000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&log, t] {
      const std::string data = "RCPT TO:<user" + std::to_string(t) + "@example.test>, \"quoted\"";
      const std::string remote = format_endpoint("192.0.2." + std::to_string(t), 40000);
      for (uint32_t i = 0; i < kPerThread; ++i)
        log.write(ProtocolEvent{"Default", static_cast<uint64_t>(t), i, "10.0.0.6:25", remote,
                                '<', data, "thread context, long enough to fill buffers"});
    });
  for (auto& th : threads) th.join();
  log.flush();
  EXPECT_EQ(log.error_count(), 0u);

  Strings files = list_files(dir_);
  EXPECT_GT(files.size(), 1u);
  // In the order they were written: by n as a number ("-10" after "-9").
  auto number = [](const std::string& name) {
    return std::stoul(name.substr(name.find('-') + 1));
  };
  std::sort(files.begin(), files.end(),
            [&](const std::string& a, const std::string& b) { return number(a) < number(b); });
  std::map<std::string, std::vector<uint32_t>> seen;  // session id -> sequence numbers
  size_t total = 0;
  for (const auto& name : files) {
    const std::string text = read_file(dir_ / name);
    EXPECT_EQ(header_lines(text).size(), 5u) << name;
    EXPECT_LE(text.size(), r.max_file_size) << name;
    bool ok = false;
    const auto records = parse_csv(text, ok);
    ASSERT_TRUE(ok) << name;
    for (const auto& rec : records) {
      ASSERT_EQ(rec.size(), 9u);
      const int t = std::stoi(rec[2], nullptr, 16);
      ASSERT_GE(t, 0);
      ASSERT_LT(t, kThreads);
      EXPECT_EQ(rec[5], "192.0.2." + std::to_string(t) + ":40000");
      EXPECT_EQ(rec[7], "RCPT TO:<user" + std::to_string(t) + "@example.test>, \"quoted\"");
      seen[rec[2]].push_back(static_cast<uint32_t>(std::stoul(rec[3])));
      ++total;
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads) * kPerThread);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kThreads));
  for (const auto& [session, seqs] : seen) {
    // One thread's records keep their order, across files too (files are read in n order).
    ASSERT_EQ(seqs.size(), kPerThread) << session;
    for (uint32_t i = 0; i < kPerThread; ++i) ASSERT_EQ(seqs[i], i) << session;
  }
}

}  // namespace
}  // namespace sluice::log
