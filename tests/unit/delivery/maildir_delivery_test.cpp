// Tests for delivery/maildir_delivery.cpp: where a message lands and what it looks like,
// unique names under concurrent deliveries, failures that leave nothing behind, loops, and
// local parts that try to leave the root.
#include "delivery/maildir_delivery.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace sluice::delivery {
namespace {

namespace fs = std::filesystem;

fs::path make_temp_dir() {
  std::string tmpl = testing::TempDir() + "/maildir_XXXXXX";
  const char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return dir;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

// 2023-11-14T22:13:20.123456Z
const SystemTime kT0 = SystemTime(std::chrono::microseconds(1700000000123456LL));

// Fails one kind of call, the Nth time it is made, with a chosen errno; counts calls.
class FailingFileOps : public FileOps {
 public:
  enum class Op { none, mkdir, open, write, fsync, close, rename };
  FailingFileOps(Op op, int nth, int err) : op_(op), nth_(nth), err_(err) {}

  int mkdir(const char* p, mode_t m) override { return hit(Op::mkdir) ? -1 : FileOps::mkdir(p, m); }
  int open(const char* p, int f, mode_t m) override { return hit(Op::open) ? -1 : FileOps::open(p, f, m); }
  ssize_t write(int fd, const void* d, size_t n) override {
    // Write one byte at a time before failing, so partial writes are exercised too.
    if (hit(Op::write)) return -1;
    return FileOps::write(fd, d, n > 1 ? 1 : n);
  }
  int fsync(int fd) override { return hit(Op::fsync) ? -1 : FileOps::fsync(fd); }
  int close(int fd) override {
    if (hit(Op::close)) {
      FileOps::close(fd);  // really close it, report failure (as NFS may)
      return -1;
    }
    return FileOps::close(fd);
  }
  int rename(const char* a, const char* b) override { return hit(Op::rename) ? -1 : FileOps::rename(a, b); }

 private:
  bool hit(Op op) {
    if (op != op_) return false;
    if (++calls_ != nth_) return false;
    errno = err_;
    return true;
  }
  Op op_;
  int nth_;
  int err_;
  int calls_ = 0;
};

constexpr std::string_view kMessage =
    "Received: from client.remote.test by mx.example.test; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: Bob <bob@remote.test>\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "first line\r\n"
    ".\r\n"
    ".leading dot (was \"..leading\" on the wire)\r\n"
    "..two dots (was \"...\" on the wire)\r\n"
    "bare\rcarriage return stays\r\n";

std::string crlf_to_lf(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i)
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out += s[i];
  return out;
}

TEST(MaildirDeliveryTest, MessageLandsInNewWithHeadersAndLfLineEndings) {
  const fs::path root = make_temp_dir();
  MaildirDelivery maildir(root, "mx.example.test");
  auto r = maildir.deliver("alice@example.test", "bob@remote.test", kMessage);
  ASSERT_TRUE(r.has_value()) << r.error().message();

  const fs::path box = root / "example.test" / "alice";
  EXPECT_EQ(r->parent_path(), box / "new");
  EXPECT_TRUE(files_in(box / "tmp").empty());
  EXPECT_TRUE(fs::is_directory(box / "cur"));
  for (const auto& dir : {root / "example.test", box, box / "tmp", box / "new", box / "cur"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << dir;
  }
  ASSERT_EQ(files_in(box / "new").size(), 1u);

  const std::string stored = read_file(*r);
  // The dot-stuffed lines are byte-identical to what was spooled, after CRLF -> LF.
  EXPECT_EQ(stored, "Return-Path: <bob@remote.test>\nDelivered-To: alice@example.test\n" + crlf_to_lf(kMessage));
  EXPECT_EQ(stored.find("\r\n"), std::string::npos);
  EXPECT_NE(stored.find("bare\rcarriage"), std::string::npos);

  // ",S=" is the stored size, as Dovecot expects.
  const std::string name = r->filename().string();
  EXPECT_TRUE(name.ends_with(",S=" + std::to_string(stored.size()))) << name;
}

TEST(MaildirDeliveryTest, NullSenderAndCaseFolding) {
  const fs::path root = make_temp_dir();
  MaildirDelivery maildir(root, "mx");
  auto r = maildir.deliver("Alice@Example.TEST", "", "Subject: x\r\n\r\nbody\r\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->parent_path(), root / "example.test" / "alice" / "new");
  EXPECT_EQ(read_file(*r), "Return-Path: <>\nDelivered-To: alice@example.test\nSubject: x\n\nbody\n");
}

TEST(MaildirDeliveryTest, ReturnPathCannotInjectHeaders) {
  const fs::path root = make_temp_dir();
  MaildirDelivery maildir(root, "mx");
  auto r = maildir.deliver("alice@example.test", "a@b\r\nX-Evil: 1", "\r\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(read_file(*r), "Return-Path: <a@bX-Evil: 1>\nDelivered-To: alice@example.test\n\n");
}

TEST(MaildirDeliveryTest, UniqueNameFormat) {
  ManualClock clock(kT0);
  FileOps real;
  MaildirDelivery maildir(make_temp_dir(), "mail/x:y,z", clock, real);
  const std::string pid = std::to_string(::getpid());
  const std::regex first("1700000000\\.M123456P" + pid + "Q0R[0-9a-f]{16}\\.mail\\\\057x\\\\072y\\\\054z,S=42");
  const std::regex second("1700000000\\.M123456P" + pid + "Q1R[0-9a-f]{16}\\.mail\\\\057x\\\\072y\\\\054z,S=7");
  const std::string a = maildir.unique_name(42);
  const std::string b = maildir.unique_name(7);
  EXPECT_TRUE(std::regex_match(a, first)) << a;
  EXPECT_TRUE(std::regex_match(b, second)) << b;
}

TEST(MaildirDeliveryTest, EscapeHostname) {
  EXPECT_EQ(MaildirDelivery::escape_hostname("mx.example.test"), "mx.example.test");
  EXPECT_EQ(MaildirDelivery::escape_hostname("a/b:c,d"), "a\\057b\\072c\\054d");
  EXPECT_EQ(MaildirDelivery::escape_hostname(""), "localhost");
}

TEST(MaildirDeliveryTest, ManyDeliveriesFromSeveralThreadsGetDistinctFiles) {
  const fs::path root = make_temp_dir();
  // Two deliverers (as two pool workers or two processes would have) and a clock that
  // never moves: the names must still differ.
  ManualClock clock(kT0);
  FileOps real;
  MaildirDelivery first(root, "mx", clock, real);
  MaildirDelivery second(root, "mx", clock, real);
  constexpr int kThreads = 4;
  constexpr int kEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      MaildirDelivery& m = (t % 2 == 0) ? first : second;
      for (int i = 0; i < kEach; ++i) {
        const std::string body = "Subject: " + std::to_string(t) + "/" + std::to_string(i) + "\r\n\r\nx\r\n";
        if (!m.deliver("alice@example.test", "bob@remote.test", body)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  const fs::path box = root / "example.test" / "alice";
  const auto delivered = files_in(box / "new");
  ASSERT_EQ(delivered.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_TRUE(files_in(box / "tmp").empty());
  std::set<std::string> subjects;
  for (const auto& f : delivered) {
    const std::string text = read_file(f);
    const auto at = text.find("Subject: ");
    ASSERT_NE(at, std::string::npos);
    subjects.insert(text.substr(at, text.find('\n', at) - at));
  }
  EXPECT_EQ(subjects.size(), static_cast<size_t>(kThreads * kEach));  // none overwritten
}

struct FailureCase {
  const char* name;
  FailingFileOps::Op op;
  int nth;
  int err;
  int code;
  const char* enhanced;
  const char* text;
};

class MaildirFailureTest : public testing::TestWithParam<FailureCase> {};

TEST_P(MaildirFailureTest, FailureLeavesNoFileAndGivesTheRightReply) {
  const FailureCase& c = GetParam();
  const fs::path root = make_temp_dir();
  ManualClock clock(kT0);
  FailingFileOps failing(c.op, c.nth, c.err);
  MaildirDelivery maildir(root, "mx", clock, failing);
  auto r = maildir.deliver("alice@example.test", "bob@remote.test", kMessage);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().klass, ErrorClass::transient);
  ASSERT_TRUE(r.error().reply.has_value());
  EXPECT_EQ(r.error().reply->code(), c.code);
  EXPECT_EQ(r.error().reply->enhanced(), c.enhanced);
  EXPECT_NE(r.error().reply->text().find(c.text), std::string::npos) << r.error().reply->text();
  const fs::path box = root / "example.test" / "alice";
  EXPECT_TRUE(files_in(box / "tmp").empty());
  EXPECT_TRUE(files_in(box / "new").empty());

  // The same mailbox works once the disk does.
  FileOps real;
  MaildirDelivery healthy(root, "mx", clock, real);
  auto again = healthy.deliver("alice@example.test", "bob@remote.test", kMessage);
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(files_in(box / "new").size(), 1u);
}

// Call numbering on a first delivery: mkdir 1-5 (domain, mailbox, tmp, new, cur); open 1-3
// the parent directories synced (root, domain, mailbox), 4 the tmp file, 5 new/; fsync the
// same; close likewise.
INSTANTIATE_TEST_SUITE_P(
    Failures, MaildirFailureTest,
    testing::Values(
        FailureCase{"write_enospc", FailingFileOps::Op::write, 3, ENOSPC, 452, "4.2.2", "Mailbox full"},
        FailureCase{"write_edquot", FailingFileOps::Op::write, 1, EDQUOT, 452, "4.2.2", "insufficient storage"},
        FailureCase{"fsync_file_eio", FailingFileOps::Op::fsync, 4, EIO, 451, "4.3.0", "fsync /"},
        FailureCase{"close_file", FailingFileOps::Op::close, 4, EIO, 451, "4.3.0", "close "},
        FailureCase{"rename_eacces", FailingFileOps::Op::rename, 1, EACCES, 451, "4.3.0",
                    "rename into new/"},
        FailureCase{"create_tmp_file", FailingFileOps::Op::open, 4, EACCES, 451, "4.3.0", "Permission denied"},
        FailureCase{"fsync_new_dir", FailingFileOps::Op::fsync, 5, EIO, 451, "4.3.0", "fsync directory"},
        FailureCase{"mkdir_tmp", FailingFileOps::Op::mkdir, 3, EACCES, 451, "4.3.0", "create directory"},
        FailureCase{"mkdir_enospc", FailingFileOps::Op::mkdir, 1, ENOSPC, 452, "4.2.2", "Mailbox full"}),
    [](const testing::TestParamInfo<FailureCase>& info) { return std::string(info.param.name); });

TEST(MaildirDeliveryTest, ErrorTextNamesPathAndStrerror) {
  const fs::path root = make_temp_dir();
  ManualClock clock(kT0);
  FailingFileOps failing(FailingFileOps::Op::fsync, 4, EIO);
  MaildirDelivery maildir(root, "mx", clock, failing);
  auto r = maildir.deliver("alice@example.test", "", "x\r\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().context.find((root / "example.test" / "alice" / "tmp").string()), std::string::npos)
      << r.error().context;
  EXPECT_NE(r.error().context.find(std::strerror(EIO)), std::string::npos) << r.error().context;
}

TEST(MaildirDeliveryTest, DirectoryThatCannotBeCreatedIsTransient) {
  const fs::path root = make_temp_dir();
  { std::ofstream(root / "example.test") << "a file where the domain directory should be"; }
  MaildirDelivery maildir(root, "mx");
  auto r = maildir.deliver("alice@example.test", "", "x\r\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().klass, ErrorClass::transient);
  EXPECT_EQ(r.error().reply->code(), 451);
  EXPECT_EQ(r.error().reply->enhanced(), "4.3.0");
  EXPECT_NE(r.error().context.find(std::strerror(ENOTDIR)), std::string::npos) << r.error().context;
}

TEST(MaildirDeliveryTest, MissingRootIsTransientAndNotCreated) {
  const fs::path root = make_temp_dir() / "not-mounted";
  MaildirDelivery maildir(root, "mx");
  auto r = maildir.deliver("alice@example.test", "", "x\r\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reply->code(), 451);
  EXPECT_FALSE(fs::exists(root));
}

TEST(MaildirDeliveryTest, PathEscapingAddressesAreRefused) {
  const fs::path root = make_temp_dir();
  MaildirDelivery maildir(root, "mx");
  const std::string cases[] = {
      "../etc@example.test", "..@example.test", ".@example.test",  ".hidden@example.test",
      "a/b@example.test",    "@example.test",   "alice@",          "alice@../x",
      "alice@.",             "alice",           "a\r\nb@example.test",
      std::string("a\0b@example.test", 16),
  };
  for (const auto& address : cases) {
    auto r = maildir.deliver(address, "", "x\r\n");
    ASSERT_FALSE(r.has_value()) << address;
    EXPECT_EQ(r.error().klass, ErrorClass::permanent) << address;
    EXPECT_EQ(r.error().reply->code(), 550) << address;
    EXPECT_EQ(r.error().reply->enhanced(), "5.1.3") << address;
  }
  EXPECT_TRUE(files_in(root).empty());
}

TEST(MaildirDeliveryTest, DeliveredToForThisAddressIsALoop) {
  const fs::path root = make_temp_dir();
  MaildirDelivery maildir(root, "mx");
  const std::string looped = "Delivered-To: Alice@Example.test\r\nSubject: x\r\n\r\nbody\r\n";
  auto r = maildir.deliver("alice@example.test", "", looped);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().klass, ErrorClass::permanent);
  EXPECT_EQ(r.error().reply->code(), 550);
  EXPECT_EQ(r.error().reply->enhanced(), "5.4.6");
  EXPECT_TRUE(files_in(root / "example.test" / "alice" / "new").empty());

  const std::string folded = "Subject: x\r\ndelivered-to:\r\n <alice@example.test>\r\n\r\nbody\r\n";
  EXPECT_FALSE(maildir.deliver("alice@example.test", "", folded).has_value());
}

TEST(MaildirDeliveryTest, OtherDeliveredToOrOneInTheBodyIsNoLoop) {
  const fs::path root = make_temp_dir();
  MaildirDelivery maildir(root, "mx");
  // Forwarded from bob to alice: bob's Delivered-To is expected.
  auto r = maildir.deliver("alice@example.test", "", "Delivered-To: bob@example.test\r\n\r\nbody\r\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  // A quoted header in the body is not a header.
  auto b = maildir.deliver("alice@example.test", "", "Subject: x\r\n\r\nDelivered-To: alice@example.test\r\n");
  ASSERT_TRUE(b.has_value()) << b.error().message();
  // Our own header, written by a first delivery, makes a second pass through alice a loop.
  auto again = maildir.deliver("alice@example.test", "", std::string(kMessage));
  ASSERT_TRUE(again.has_value());
  std::string stored = read_file(*again);
  EXPECT_FALSE(maildir.deliver("alice@example.test", "", stored).has_value());
  EXPECT_EQ(files_in(root / "example.test" / "alice" / "new").size(), 3u);
}

}  // namespace
}  // namespace sluice::delivery
