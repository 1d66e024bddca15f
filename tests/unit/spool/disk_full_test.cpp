// The spool on a disk that fills up and frees again: a RocksDB FileSystem wrapper that,
// while "full", writes half of each append and then fails with NoSpace (as a real ENOSPC
// does), and fails syncs and new files.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <future>

#include "spool/committer.hpp"
#include "spool/store.hpp"
#include "spool_test_util.hpp"

namespace sluice::spool {
namespace {

using testutil::make_message;
using testutil::TempDir;

class FullableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FullableFile(std::unique_ptr<rocksdb::FSWritableFile> f, const std::atomic<bool>& full)
      : FSWritableFileOwnerWrapper(std::move(f)), full_(full) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* d) override {
    if (!full_) return target()->Append(data, o, d);
    // A torn write: the part that fitted is in the file.
    (void)target()->Append(rocksdb::Slice(data.data(), data.size() / 2), o, d);
    return rocksdb::IOStatus::NoSpace("fake disk is full");
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext* d) override {
    return Append(data, o, d);
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    return full_ ? rocksdb::IOStatus::NoSpace("fake disk is full") : target()->Flush(o, d);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    return full_ ? rocksdb::IOStatus::NoSpace("fake disk is full") : target()->Sync(o, d);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    return full_ ? rocksdb::IOStatus::NoSpace("fake disk is full") : target()->Fsync(o, d);
  }

 private:
  const std::atomic<bool>& full_;
};

class FullableFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FullableFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FullableFileSystem"; }
  void set_full(bool full) { full_ = full; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    if (full_) return rocksdb::IOStatus::NoSpace("fake disk is full");
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(f, fo, &file, d);
    if (s.ok()) *r = std::make_unique<FullableFile>(std::move(file), full_);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    if (full_) return rocksdb::IOStatus::NoSpace("fake disk is full");
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->ReopenWritableFile(f, fo, &file, d);
    if (s.ok()) *r = std::make_unique<FullableFile>(std::move(file), full_);
    return s;
  }

 private:
  std::atomic<bool> full_{false};
};

Result<void> commit_and_wait(Committer& committer, smtp::Message& m) {
  std::promise<Result<void>> done;
  auto result = done.get_future();
  committer.commit(&m, [&](Result<void> r) { done.set_value(std::move(r)); });
  // Bounded: a hang fails the test instead of blocking the suite.
  if (result.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
    return fail(ErrorClass::io, "commit never completed");
  return result.get();
}

void expect_disk_full(const Result<void>& r) {
  ASSERT_FALSE(r);
  ASSERT_TRUE(r.error().reply.has_value()) << r.error().message();
  SCOPED_TRACE(r.error().message());
  EXPECT_EQ(r.error().reply->code(), 452);
  EXPECT_EQ(r.error().reply->enhanced(), "4.3.1");
  EXPECT_EQ(r.error().reply->text(), "452 4.3.1 Insufficient system storage");
  EXPECT_EQ(r.error().klass, ErrorClass::transient);
}

TEST(SpoolDiskFull, Answers452KeepsWhatIsStoredAndRecoversWhenSpaceReturns) {
  TempDir tmp;
  auto fs = std::make_shared<FullableFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::vector<smtp::Message> msgs;
  for (int i = 0; i < 8; ++i) msgs.push_back(make_message(i, 4000));
  std::vector<RecipientState> delivered(msgs[0].envelope.recipients.size(),
                                        RecipientState{RecipientStatus::delivered, "250 2.0.0 Ok", 1, 0, 5});
  {
    auto store = Store::open(tmp.path(), StoreOptions{env.get()});
    ASSERT_TRUE(store) << store.error().message();
    Committer committer(**store);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(commit_and_wait(committer, msgs[i]));

    fs->set_full(true);
    expect_disk_full(commit_and_wait(committer, msgs[3]));
    // Still full: the next commit, a state update and a removal fail the same way, and the
    // process goes on.
    expect_disk_full(commit_and_wait(committer, msgs[4]));
    expect_disk_full((*store)->update_recipients(msgs[0].envelope.queue_id, delivered));
    expect_disk_full((*store)->remove(msgs[1].envelope.queue_id));
    // Reading works on a full disk.
    auto content = (*store)->read_content(msgs[2].envelope.queue_id);
    ASSERT_TRUE(content) << content.error().message();
    EXPECT_EQ(*content, msgs[2].content);

    fs->set_full(false);
    for (int i = 5; i < 8; ++i) {
      auto r = commit_and_wait(committer, msgs[i]);
      ASSERT_TRUE(r) << r.error().message();
    }
    ASSERT_TRUE((*store)->update_recipients(msgs[0].envelope.queue_id, delivered));
    EXPECT_GE(committer.stats().failed_batches, 2u);

    auto loaded = (*store)->load_all();
    ASSERT_TRUE(loaded) << loaded.error().message();
    std::vector<std::string> ids;
    for (const auto& m : *loaded) ids.push_back(m.envelope.queue_id);
    std::vector<std::string> want;
    for (int i : {0, 1, 2, 5, 6, 7}) want.push_back(msgs[i].envelope.queue_id);
    EXPECT_EQ(ids, want);
  }
  // Reopen on the real filesystem, replaying whatever is in the WAL: no torn write from the
  // full period may hide the acknowledged writes that came after it.
  auto store = Store::open(tmp.path());
  ASSERT_TRUE(store) << store.error().message();
  auto loaded = (*store)->load_all();
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 6u);
  size_t k = 0;
  for (int i : {0, 1, 2, 5, 6, 7}) {
    const SpooledMessage& s = (*loaded)[k++];
    EXPECT_EQ(s.envelope, msgs[i].envelope);
    auto content = (*store)->read_content(msgs[i].envelope.queue_id);
    ASSERT_TRUE(content) << content.error().message();
    EXPECT_EQ(*content, msgs[i].content);
  }
  EXPECT_EQ((*loaded)[0].recipients, delivered);
}

}  // namespace
}  // namespace sluice::spool
