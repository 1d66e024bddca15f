// Crash recovery: a child process commits messages from several threads, reports each one
// the committer confirmed, and is killed with SIGKILL while more commits are in flight. The
// parent then opens the spool and must find every confirmed message, intact. The child is a
// fresh exec of this test binary (running CrashChild only), not a bare fork, so it does not
// inherit the parent's threads and locks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "spool/committer.hpp"
#include "spool/store.hpp"
#include "spool_test_util.hpp"

extern char** environ;

namespace sluice::spool {
namespace {

using testutil::make_message;
using testutil::TempDir;

constexpr int kThreads = 4, kPerThread = 60, kTotal = kThreads * kPerThread;
constexpr int kKillAfter = 100;  // confirmed commits before the child kills itself
constexpr char kDirVar[] = "SLUICE_SPOOL_CRASH_DIR";
constexpr char kFdVar[] = "SLUICE_SPOOL_CRASH_FD";

// The child's half. Skipped unless started by SpoolCrash below.
TEST(CrashChild, CommitReportAndDie) {
  const char* dir = std::getenv(kDirVar);
  const char* fd_text = std::getenv(kFdVar);
  if (dir == nullptr || fd_text == nullptr) GTEST_SKIP() << "runs only as SpoolCrash's child";
  const int fd = std::atoi(fd_text);
  auto store = Store::open(dir);
  if (!store) _exit(3);
  std::vector<smtp::Message> msgs;
  for (int i = 0; i < kTotal; ++i) msgs.push_back(make_message(i, 2000 + 37 * i));
  std::atomic<int> confirmed{0};
  Committer committer(**store);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k) {
        int i = t * kPerThread + k;
        committer.commit(&msgs[i], [&, i](Result<void> r) {
          if (!r) _exit(4);
          int32_t v = i;
          if (write(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) _exit(5);
          if (++confirmed == kKillAfter) raise(SIGKILL);  // no destructor, no Close
        });
      }
    });
  for (auto& th : threads) th.join();
  for (;;) pause();  // the committer's callback kills us; never returns
}

TEST(SpoolCrash, EveryConfirmedMessageSurvivesSigkill) {
  TempDir tmp;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string dir_env = std::string(kDirVar) + "=" + tmp.path().string();
  const std::string fd_env = std::string(kFdVar) + "=" + std::to_string(fds[1]);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(dir_env);
  env_strings.push_back(fd_env);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string self = "/proc/self/exe", filter = "--gtest_filter=CrashChild.CommitReportAndDie";
  char* argv[] = {self.data(), filter.data(), nullptr};

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    execve(self.c_str(), argv, envp.data());
    _exit(127);
  }
  close(fds[1]);
  std::set<int> confirmed;
  int32_t v = 0;
  for (;;) {
    ssize_t n = read(fds[0], &v, sizeof v);
    if (n <= 0) break;  // EOF: the child is gone
    ASSERT_EQ(n, static_cast<ssize_t>(sizeof v));
    ASSERT_TRUE(v >= 0 && v < kTotal);
    EXPECT_TRUE(confirmed.insert(v).second) << "confirmed twice: " << v;
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_GE(confirmed.size(), static_cast<size_t>(kKillAfter));

  auto store = Store::open(tmp.path());
  ASSERT_TRUE(store) << store.error().message();
  std::vector<QuarantinedRecord> bad;
  auto loaded = (*store)->load_all(&bad);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_TRUE(bad.empty());
  std::map<std::string, int> index_of;
  for (int i = 0; i < kTotal; ++i) index_of[testutil::queue_id_for(i)] = i;
  std::set<int> found;
  for (const SpooledMessage& s : *loaded) {
    auto it = index_of.find(s.envelope.queue_id);
    ASSERT_NE(it, index_of.end()) << s.envelope.queue_id;
    // Whatever is there (confirmed or caught in flight) is whole.
    smtp::Message want = make_message(it->second, 2000 + 37 * it->second);
    EXPECT_EQ(s.envelope, want.envelope);
    auto content = (*store)->read_content(s.envelope.queue_id);
    ASSERT_TRUE(content) << content.error().message();
    EXPECT_EQ(*content, want.content);
    found.insert(it->second);
  }
  for (int i : confirmed) EXPECT_TRUE(found.count(i)) << "confirmed message " << i << " lost";
}

}  // namespace
}  // namespace sluice::spool
