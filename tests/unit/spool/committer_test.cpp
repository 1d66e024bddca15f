#include "spool/committer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "spool_test_util.hpp"

namespace sluice::spool {
namespace {

using testutil::make_message;
using testutil::TempDir;

// Counts callbacks per message and lets the test wait (bounded) until all have come in.
class Tally {
 public:
  explicit Tally(size_t n) : calls_(n, 0), ok_(n, false) {}
  Committer::Done done_for(size_t i) {
    return [this, i](Result<void> r) {
      std::lock_guard lock(mu_);
      ++calls_[i];
      ok_[i] = r.has_value();
      ++total_;
      cv_.notify_all();
    };
  }
  // Bounded: a hang fails the test instead of blocking the suite.
  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return total_ >= n; });
  }
  std::vector<int> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<bool> oks() {
    std::lock_guard lock(mu_);
    return ok_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> calls_;
  std::vector<bool> ok_;
  size_t total_ = 0;
};

TEST(Committer, ConcurrentCommitsShareBatchesAndEachCallbackRunsOnce) {
  TempDir tmp;
  auto store = Store::open(tmp.path());
  ASSERT_TRUE(store);
  constexpr int kThreads = 4, kPerThread = 50, kTotal = kThreads * kPerThread + 1;
  std::vector<smtp::Message> msgs;
  for (int i = 0; i < kTotal; ++i) msgs.push_back(make_message(i));
  Tally tally(kTotal);

  // Message 0's callback holds the committer thread until every other message has been
  // handed over, so the test does not depend on timing: all 200 must go in one batch.
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open = false, entered = false;
  {
    Committer committer(**store);
    committer.commit(&msgs[0], [&, first = tally.done_for(0)](Result<void> r) {
      std::unique_lock lock(gate_mu);
      entered = true;
      gate_cv.notify_all();
      gate_cv.wait(lock, [&] { return open; });
      first(std::move(r));
    });
    {
      // Message 0 is in a batch of its own and its callback holds the committer.
      std::unique_lock lock(gate_mu);
      ASSERT_TRUE(gate_cv.wait_for(lock, std::chrono::seconds(60), [&] { return entered; }));
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int k = 0; k < kPerThread; ++k) {
          size_t i = 1 + static_cast<size_t>(t * kPerThread + k);
          committer.commit(&msgs[i], tally.done_for(i));
        }
      });
    for (auto& th : threads) th.join();
    {
      std::lock_guard lock(gate_mu);
      open = true;
    }
    gate_cv.notify_all();
    ASSERT_TRUE(tally.wait_for(kTotal));
    Committer::Stats st = committer.stats();
    EXPECT_EQ(st.messages, static_cast<uint64_t>(kTotal));
    EXPECT_EQ(st.batches, 2u);
    EXPECT_EQ(st.last_batch_size, static_cast<uint64_t>(kTotal - 1));
    EXPECT_EQ(st.failed_batches, 0u);
  }
  for (int c : tally.calls()) EXPECT_EQ(c, 1);
  for (bool ok : tally.oks()) EXPECT_TRUE(ok);
  auto loaded = (*store)->load_all();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), static_cast<size_t>(kTotal));
  for (int i = 0; i < kTotal; ++i) EXPECT_EQ((*loaded)[i].envelope, msgs[i].envelope);
}

TEST(Committer, FreeRunningThreadsNeedFewerBatchesThanMessages) {
  TempDir tmp;
  auto store = Store::open(tmp.path());
  ASSERT_TRUE(store);
  constexpr int kThreads = 8, kPerThread = 25, kTotal = kThreads * kPerThread;
  std::vector<smtp::Message> msgs;
  for (int i = 0; i < kTotal; ++i) msgs.push_back(make_message(i));
  Tally tally(kTotal);
  Committer committer(**store);
  // Each thread is a session: it waits for its commit before sending the next message, so
  // batching comes only from sessions overlapping, as in production.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k) {
        size_t i = static_cast<size_t>(t * kPerThread + k);
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
        committer.commit(&msgs[i], [&, record = tally.done_for(i)](Result<void> r) {
          record(std::move(r));
          std::lock_guard lock(mu);
          done = true;
          cv.notify_one();
        });
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; }));
      }
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(tally.wait_for(kTotal));
  for (int c : tally.calls()) EXPECT_EQ(c, 1);
  for (bool ok : tally.oks()) EXPECT_TRUE(ok);
  Committer::Stats st = committer.stats();
  EXPECT_EQ(st.messages, static_cast<uint64_t>(kTotal));
  // 8 sessions always have several messages waiting at once; a committer writing one at a
  // time would need 200 batches.
  EXPECT_LT(st.batches, static_cast<uint64_t>(kTotal));
}

TEST(Committer, DestructorCommitsEverythingHandedOver) {
  TempDir tmp;
  auto store = Store::open(tmp.path());
  ASSERT_TRUE(store);
  constexpr int kTotal = 30;
  std::vector<smtp::Message> msgs;
  for (int i = 0; i < kTotal; ++i) msgs.push_back(make_message(i));
  Tally tally(kTotal);
  {
    Committer committer(**store);
    for (int i = 0; i < kTotal; ++i) committer.commit(&msgs[i], tally.done_for(i));
  }
  for (int c : tally.calls()) EXPECT_EQ(c, 1);
  for (bool ok : tally.oks()) EXPECT_TRUE(ok);
  auto loaded = (*store)->load_all();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->size(), static_cast<size_t>(kTotal));
}

TEST(Committer, CallbackMayCommitTheNextMessage) {
  TempDir tmp;
  auto store = Store::open(tmp.path());
  ASSERT_TRUE(store);
  smtp::Message a = make_message(0), b = make_message(1);
  Tally tally(2);
  Committer committer(**store);
  committer.commit(&a, [&, first = tally.done_for(0)](Result<void> r) {
    first(std::move(r));
    committer.commit(&b, tally.done_for(1));
  });
  ASSERT_TRUE(tally.wait_for(2));
  EXPECT_EQ(tally.calls(), (std::vector<int>{1, 1}));
  EXPECT_EQ(tally.oks(), (std::vector<bool>{true, true}));
}

TEST(Committer, TheBatchObserverSeesEveryWriteWithItsSize) {
  TempDir tmp;
  auto store = Store::open(tmp.path());
  ASSERT_TRUE(store);
  constexpr int kTotal = 12;
  std::vector<smtp::Message> msgs;
  for (int i = 0; i < kTotal; ++i) msgs.push_back(make_message(i));
  Tally tally(kTotal);
  std::atomic<size_t> observed_messages{0}, observed_batches{0};
  std::atomic<bool> all_ok{true};
  {
    Committer committer(**store, [&](std::chrono::nanoseconds elapsed, size_t n, bool ok) {
      EXPECT_GE(elapsed.count(), 0);
      observed_messages += n;
      ++observed_batches;
      if (!ok) all_ok = false;
    });
    for (int i = 0; i < kTotal; ++i) committer.commit(&msgs[i], tally.done_for(i));
  }
  EXPECT_EQ(observed_messages.load(), static_cast<size_t>(kTotal));
  EXPECT_GE(observed_batches.load(), 1u);
  EXPECT_TRUE(all_ok.load());
}

}  // namespace
}  // namespace sluice::spool
