// tests/unit/log/log_file_test.cpp: RotatingLogFile — names, headers, buffering and flushing
// by size, by flush() and by tick(), rotation by UTC day and by size, numbering across
// restarts, retention by age and folder size (oldest first, own files only), I/O errors.
#include "log/log_file.hpp"

#include <gtest/gtest.h>

#include "log_test_util.hpp"

namespace sluice::log {
namespace {

namespace fs = std::filesystem;
using testing_util::at_utc;
using testing_util::list_files;
using testing_util::read_file;
using testing_util::write_file;
using Strings = std::vector<std::string>;

RotatingLogFile::HeaderFn test_header() {
  return [](SystemTime opened) { return "#H " + std::to_string(opened.time_since_epoch().count()) + "\n"; };
}

std::string header_at(SystemTime t) { return "#H " + std::to_string(t.time_since_epoch().count()) + "\n"; }

class LogFileTest : public ::testing::Test {
 protected:
  fs::path dir_ = testing_util::make_temp_dir() / "logs" / "x";
  ManualClock clock_{at_utc(9, 12, 0, 0)};
};

TEST_F(LogFileTest, FileNameFormat) {
  EXPECT_EQ(RotatingLogFile::file_name("RECV", "20240309", 1), "RECV20240309-1.LOG");
  EXPECT_EQ(RotatingLogFile::file_name("MSGTRK", "20240310", 12), "MSGTRK20240310-12.LOG");
}

TEST_F(LogFileTest, ConstructorCreatesFolderAndOpensNoFileUntilFirstRecord) {
  RotatingLogFile f(dir_, "RECV", clock_, {}, test_header());
  EXPECT_TRUE(fs::is_directory(dir_));
  EXPECT_TRUE(list_files(dir_).empty());
  EXPECT_TRUE(f.current_path().empty());
  f.append(clock_.now(), "one\n");
  EXPECT_EQ(list_files(dir_), Strings{"RECV20240309-1.LOG"});
  EXPECT_EQ(f.current_path(), dir_ / "RECV20240309-1.LOG");
  EXPECT_EQ(f.error_count(), 0u);
}

TEST_F(LogFileTest, HeaderIsWrittenAtOpenAndRecordsWaitForFlush) {
  RotatingLogFile f(dir_, "RECV", clock_, {}, test_header());
  f.append(clock_.now(), "one\n");
  f.append(clock_.now(), "two\n");
  const fs::path p = dir_ / "RECV20240309-1.LOG";
  EXPECT_EQ(read_file(p), header_at(clock_.now()));
  f.flush();
  EXPECT_EQ(read_file(p), header_at(clock_.now()) + "one\ntwo\n");
}

TEST_F(LogFileTest, TickFlushesOnlyRecordsThatWaitedASecond) {
  RotatingLogFile f(dir_, "RECV", clock_, {}, nullptr);
  f.tick();  // nothing buffered, nothing opened
  EXPECT_TRUE(list_files(dir_).empty());
  f.append(clock_.now(), "one\n");
  const fs::path p = dir_ / "RECV20240309-1.LOG";
  clock_.advance(std::chrono::milliseconds(999));
  f.tick();
  EXPECT_EQ(read_file(p), "");
  clock_.advance(std::chrono::milliseconds(1));
  f.tick();
  EXPECT_EQ(read_file(p), "one\n");
  // The wait counts from the oldest record still in memory, not the newest.
  f.append(clock_.now(), "two\n");
  clock_.advance(std::chrono::milliseconds(600));
  f.append(clock_.now(), "three\n");
  clock_.advance(std::chrono::milliseconds(400));
  f.tick();
  EXPECT_EQ(read_file(p), "one\ntwo\nthree\n");
}

TEST_F(LogFileTest, FullBufferIsWrittenWithoutFlush) {
  RotatingLogFile f(dir_, "RECV", clock_, {}, nullptr);
  const std::string record(1000, 'r');
  const size_t count = RotatingLogFile::kFlushBytes / (record.size() + 1) + 1;
  for (size_t i = 0; i < count; ++i) f.append(clock_.now(), record + "\n");
  EXPECT_EQ(read_file(dir_ / "RECV20240309-1.LOG").size(), count * (record.size() + 1));
}

TEST_F(LogFileTest, DestructorFlushes) {
  {
    RotatingLogFile f(dir_, "RECV", clock_, {}, nullptr);
    f.append(clock_.now(), "last words\n");
  }
  EXPECT_EQ(read_file(dir_ / "RECV20240309-1.LOG"), "last words\n");
}

TEST_F(LogFileTest, NewUtcDayOpensFileOneOfThatDay) {
  ManualClock clock(at_utc(9, 23, 59, 59, 500));
  RotatingLogFile f(dir_, "RECV", clock, {}, test_header());
  f.append(clock.now(), "before\n");
  f.append(clock.now(), "before again\n");
  const SystemTime midnight = at_utc(10, 0, 0, 0);
  clock.advance(std::chrono::milliseconds(500));
  ASSERT_EQ(clock.now(), midnight);
  f.append(clock.now(), "after\n");
  // A record stamped before midnight that arrives after the switch stays in today's file.
  f.append(at_utc(9, 23, 59, 59, 999), "late\n");
  f.flush();
  EXPECT_EQ(list_files(dir_), (Strings{"RECV20240309-1.LOG", "RECV20240310-1.LOG"}));
  EXPECT_EQ(read_file(dir_ / "RECV20240309-1.LOG"),
            header_at(at_utc(9, 23, 59, 59, 500)) + "before\nbefore again\n");
  EXPECT_EQ(read_file(dir_ / "RECV20240310-1.LOG"), header_at(midnight) + "after\nlate\n");
}

TEST_F(LogFileTest, SizeLimitOpensNextNumber) {
  LogRetention r;
  r.max_file_size = 30;
  RotatingLogFile f(dir_, "SEND", clock_, r, [](SystemTime) { return std::string("#hdr\n"); });
  // header 5 bytes + records of 10 bytes: two records fit (25), a third would make 35.
  for (int i = 0; i < 5; ++i) f.append(clock_.now(), "record-" + std::to_string(i) + "\n\n");
  f.flush();
  EXPECT_EQ(list_files(dir_),
            (Strings{"SEND20240309-1.LOG", "SEND20240309-2.LOG", "SEND20240309-3.LOG"}));
  EXPECT_EQ(read_file(dir_ / "SEND20240309-1.LOG"), "#hdr\nrecord-0\n\nrecord-1\n\n");
  EXPECT_EQ(read_file(dir_ / "SEND20240309-2.LOG"), "#hdr\nrecord-2\n\nrecord-3\n\n");
  EXPECT_EQ(read_file(dir_ / "SEND20240309-3.LOG"), "#hdr\nrecord-4\n\n");
  for (const auto& name : list_files(dir_)) EXPECT_LE(fs::file_size(dir_ / name), 30u);
}

TEST_F(LogFileTest, RecordLargerThanLimitStillGetsAFile) {
  LogRetention r;
  r.max_file_size = 10;
  RotatingLogFile f(dir_, "SEND", clock_, r, nullptr);
  const std::string big(50, 'b');
  f.append(clock_.now(), big + "\n");
  f.append(clock_.now(), big + "\n");
  f.flush();
  EXPECT_EQ(list_files(dir_), (Strings{"SEND20240309-1.LOG", "SEND20240309-2.LOG"}));
  EXPECT_EQ(read_file(dir_ / "SEND20240309-2.LOG"), big + "\n");
}

TEST_F(LogFileTest, RestartContinuesNumberingOfTheDay) {
  fs::create_directories(dir_);
  write_file(dir_ / "RECV20240309-1.LOG", 10);
  write_file(dir_ / "RECV20240309-7.LOG", 10);
  write_file(dir_ / "RECV20240308-9.LOG", 10);   // another day: does not count
  write_file(dir_ / "SEND20240309-12.LOG", 10);  // another log: does not count
  RotatingLogFile f(dir_, "RECV", clock_, {}, nullptr);
  f.append(clock_.now(), "x\n");
  EXPECT_EQ(f.current_path(), dir_ / "RECV20240309-8.LOG");
  EXPECT_EQ(fs::file_size(dir_ / "RECV20240309-7.LOG"), 10u);  // old files are not appended to
}

TEST_F(LogFileTest, RetentionDeletesFilesOlderThanMaxAge) {
  fs::create_directories(dir_);
  // now is 2024-03-09 12:00; max age 2 days: a file is deleted once its day ended 48 h ago.
  write_file(dir_ / "RECV20240306-1.LOG", 1);  // ended 03-07 00:00, 60 h ago: deleted
  write_file(dir_ / "RECV20240306-2.LOG", 1);  // deleted
  write_file(dir_ / "RECV20240307-1.LOG", 1);  // ended 03-08 00:00, 36 h ago: kept
  write_file(dir_ / "RECV20240308-1.LOG", 1);  // kept
  write_file(dir_ / "SEND20240301-1.LOG", 1);  // another log's file: not ours to delete
  write_file(dir_ / "notes.txt", 1);           // not a log file
  LogRetention r;
  r.max_age = std::chrono::hours(48);
  RotatingLogFile f(dir_, "RECV", clock_, r, nullptr);
  EXPECT_EQ(list_files(dir_).size(), 6u);  // nothing happens before a file is opened
  f.append(clock_.now(), "x\n");
  EXPECT_EQ(list_files(dir_), (Strings{"RECV20240307-1.LOG", "RECV20240308-1.LOG",
                                       "RECV20240309-1.LOG", "SEND20240301-1.LOG", "notes.txt"}));
}

TEST_F(LogFileTest, RetentionDeletesOldestFirstUntilUnderFolderLimit) {
  fs::create_directories(dir_);
  // Written out of order on purpose: the order comes from day and number, not from the disk.
  write_file(dir_ / "RECV20240308-10.LOG", 100);
  write_file(dir_ / "RECV20240308-2.LOG", 100);
  write_file(dir_ / "RECV20240307-3.LOG", 100);
  write_file(dir_ / "RECV20240309-1.LOG", 100);
  write_file(dir_ / "SEND20240101-1.LOG", 1000);  // another log's: neither counted nor deleted
  LogRetention r;
  r.max_directory_size = 250;
  RotatingLogFile f(dir_, "RECV", clock_, r, [](SystemTime) { return std::string(10, '#'); });
  f.append(clock_.now(), "x\n");
  // 400 bytes + the new file's 10-byte header = 410: deleting 03-07-3 and then 03-08-2 (2
  // before 10: numbers compare as numbers) leaves 210.
  EXPECT_EQ(list_files(dir_), (Strings{"RECV20240308-10.LOG", "RECV20240309-1.LOG",
                                       "RECV20240309-2.LOG", "SEND20240101-1.LOG"}));
}

TEST_F(LogFileTest, RetentionNeverDeletesTheOpenFile) {
  LogRetention r;
  r.max_file_size = 20;
  r.max_directory_size = 1;
  RotatingLogFile f(dir_, "RECV", clock_, r, nullptr);
  for (int i = 0; i < 3; ++i) f.append(clock_.now(), std::string(15, 'a' + i) + "\n");
  f.flush();
  // Each opening deleted all earlier files; the open one survives, whole.
  EXPECT_EQ(list_files(dir_), Strings{"RECV20240309-3.LOG"});
  EXPECT_EQ(read_file(dir_ / "RECV20240309-3.LOG"), std::string(15, 'c') + "\n");
  EXPECT_EQ(f.error_count(), 0u);
}

TEST_F(LogFileTest, IoErrorsAreCountedNotThrown) {
  fs::create_directories(dir_.parent_path());
  write_file(dir_, 3);  // a regular file where the folder should be: even root cannot mkdir
  RotatingLogFile f(dir_, "RECV", clock_, {}, nullptr);
  const uint64_t after_constructor = f.error_count();
  EXPECT_GE(after_constructor, 1u);
  f.append(clock_.now(), "lost\n");
  f.flush();
  f.tick();
  EXPECT_GT(f.error_count(), after_constructor);
  // Opening is retried, but not for every record: at most once per flush interval.
  const uint64_t after_first = f.error_count();
  for (int i = 0; i < 100; ++i) f.append(clock_.now(), "lost\n");
  EXPECT_EQ(f.error_count(), after_first);
  clock_.advance(RotatingLogFile::kFlushInterval);
  f.append(clock_.now(), "lost\n");
  EXPECT_GT(f.error_count(), after_first);
}

TEST_F(LogFileTest, RecoversWhenTheFolderBecomesUsable) {
  fs::create_directories(dir_.parent_path());
  write_file(dir_, 3);
  RotatingLogFile f(dir_, "RECV", clock_, {}, nullptr);
  f.append(clock_.now(), "lost\n");
  fs::remove(dir_);
  clock_.advance(RotatingLogFile::kFlushInterval);
  f.append(clock_.now(), "kept\n");
  f.flush();
  const auto files = list_files(dir_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(read_file(dir_ / files[0]), "kept\n");
}

}  // namespace
}  // namespace sluice::log
