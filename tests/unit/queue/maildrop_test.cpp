// tests/unit/queue/maildrop_test.cpp: the maildrop file format, the atomic write and the
// pick-up (what is handed over, what is removed, what is moved aside, what is kept).
#include "queue/maildrop.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

MaildropEntry sample() {
  MaildropEntry e;
  e.envelope.mail_from = "cron@host.example";
  smtp::Recipient a;
  a.address = "root@example.org";
  smtp::Recipient b;
  b.address = "ops@example.net";
  b.notify = {.specified = true, .success = true, .failure = true};
  e.envelope.recipients = {a, b};
  e.envelope.ret = smtp::DsnRet::headers;
  e.envelope.envid = "job-17";
  e.content = "Subject: cron\r\nMessage-ID: <1@host.example>\r\n\r\nline\r\n.\r\n";
  e.submitter_uid = 1000;
  e.submitter_name = "alice";
  e.submitted_at_us = 1'700'000'000'000'000;
  return e;
}

std::string temp_dir(const char* name) {
  const fs::path dir = fs::path(testing::TempDir()) / (std::string("maildrop_") + name + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TEST(Maildrop, EncodeDecodeRoundTrip) {
  const MaildropEntry e = sample();
  auto back = decode_maildrop(encode_maildrop(e));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->envelope, e.envelope);
  EXPECT_EQ(back->content, e.content);
  EXPECT_EQ(back->submitter_uid, 1000u);
  EXPECT_EQ(back->submitter_name, "alice");
  EXPECT_EQ(back->submitted_at_us, e.submitted_at_us);
}

TEST(Maildrop, NullSenderAndNeverNotify) {
  MaildropEntry e = sample();
  e.envelope.mail_from = "";
  e.envelope.recipients[0].notify = {.specified = true, .never = true};
  auto back = decode_maildrop(encode_maildrop(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->envelope.mail_from, "");
  EXPECT_TRUE(back->envelope.recipients[0].notify.never);
}

TEST(Maildrop, TruncatedAndForeignFilesAreRefused) {
  const std::string bytes = encode_maildrop(sample());
  // Every cut short of the whole file is refused: a partial file is never taken as a message.
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(decode_maildrop(std::string_view(bytes).substr(0, cut))) << "cut at " << cut;
  }
  EXPECT_FALSE(decode_maildrop("sluice-maildrop 2\nsender a@b\n"));
  EXPECT_FALSE(decode_maildrop("sluice-maildrop 1\nsender a@b\ncontent 0\n"));  // no recipients
}

TEST(Maildrop, WriteIsPrivateAndReadable) {
  const std::string dir = temp_dir("write") + "/var/maildrop";  // created by the write, parent too
  auto path = write_maildrop(dir, sample());
  ASSERT_TRUE(path) << path.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(path->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(path->ends_with(".msg"));
  std::ifstream in(*path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, encode_maildrop(sample()));
  // Nothing else is left behind (no temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(Maildrop, WriteRefusesLineBreaksInTheEnvelope) {
  const std::string dir = temp_dir("inject");
  MaildropEntry e = sample();
  e.envelope.recipients[0].address = "a@b\nrecipient evil@x";
  EXPECT_FALSE(write_maildrop(dir, e));
  e = sample();
  e.envelope.mail_from = "a@b\r\n";
  EXPECT_FALSE(write_maildrop(dir, e));
}

TEST(Maildrop, PickUpHandsOverInOrderAndRemoves) {
  const std::string dir = temp_dir("pickup");
  MaildropEntry first = sample();
  MaildropEntry second = sample();
  second.submitted_at_us += 1'000'000;
  second.envelope.mail_from = "second@host.example";
  ASSERT_TRUE(write_maildrop(dir, second));
  ASSERT_TRUE(write_maildrop(dir, first));

  ManualClock clock{SystemTime{std::chrono::seconds(1'800'000'000)}};
  QueueIdGenerator ids(clock, 3);
  std::vector<smtp::Message> got;
  const PickupReport report =
      pick_up_maildrop(dir, {.hostname = "mx.example.org"}, ids, clock, [&](smtp::Message&& m) -> Result<void> {
        got.push_back(std::move(m));
        return {};
      });
  EXPECT_EQ(report.submitted, 2u);
  EXPECT_EQ(report.moved_aside, 0u);
  EXPECT_TRUE(report.problems.empty());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].envelope.mail_from, "cron@host.example");
  EXPECT_EQ(got[1].envelope.mail_from, "second@host.example");
  const smtp::Envelope& env = got[0].envelope;
  EXPECT_TRUE(QueueIdGenerator::valid(env.queue_id));
  EXPECT_NE(env.queue_id, got[1].envelope.queue_id);
  EXPECT_EQ(env.connector, "maildrop");
  EXPECT_EQ(env.protocol, "local");
  EXPECT_EQ(env.message_id, "<1@host.example>");
  EXPECT_EQ(env.received_at_us, 1'800'000'000'000'000);
  EXPECT_EQ(env.recipients.size(), 2u);
  EXPECT_TRUE(got[0].content.starts_with("Received: by mx.example.org (sluice, from userid 1000)\r\n\tid " +
                                         env.queue_id + "; "));
  EXPECT_TRUE(got[0].content.ends_with(sample().content));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 0);
}

TEST(Maildrop, FailedSubmitKeepsTheFileAndStops) {
  const std::string dir = temp_dir("keep");
  ASSERT_TRUE(write_maildrop(dir, sample()));
  MaildropEntry later = sample();
  later.submitted_at_us += 5;
  ASSERT_TRUE(write_maildrop(dir, later));
  ManualClock clock{SystemTime{}};
  QueueIdGenerator ids(clock, 0);
  unsigned calls = 0;
  const PickupReport report = pick_up_maildrop(dir, {.hostname = "h"}, ids, clock, [&](smtp::Message&&) -> Result<void> {
    ++calls;
    return fail(ErrorClass::io, "disk full");
  });
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(report.submitted, 0u);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("disk full"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);
}

TEST(Maildrop, UnreadableFilesAreMovedAside) {
  const std::string dir = temp_dir("corrupt");
  { std::ofstream(dir + "/1.1.1.msg") << "sluice-maildrop 1\nsender a@b\nrecipient c@d\ncontent 99\nshort"; }
  { std::ofstream(dir + "/tmp.2.2.2") << "half written"; }  // a writer still at work: ignored
  ASSERT_TRUE(write_maildrop(dir, sample()));
  ManualClock clock{SystemTime{}};
  QueueIdGenerator ids(clock, 0);
  unsigned calls = 0;
  const PickupReport report = pick_up_maildrop(dir, {.hostname = "h"}, ids, clock, [&](smtp::Message&&) -> Result<void> {
    ++calls;
    return {};
  });
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(report.submitted, 1u);
  EXPECT_EQ(report.moved_aside, 1u);
  EXPECT_TRUE(fs::exists(dir + "/corrupt/1.1.1.msg"));
  EXPECT_TRUE(fs::exists(dir + "/tmp.2.2.2"));
}

TEST(Maildrop, MissingDirectoryIsEmpty) {
  ManualClock clock{SystemTime{}};
  QueueIdGenerator ids(clock, 0);
  const PickupReport report = pick_up_maildrop(temp_dir("none") + "/absent", {.hostname = "h"}, ids, clock,
                                               [](smtp::Message&&) -> Result<void> { return {}; });
  EXPECT_EQ(report.submitted, 0u);
  EXPECT_TRUE(report.problems.empty());
}

}  // namespace
}  // namespace sluice::queue
