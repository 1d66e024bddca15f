// tests/unit/spool/spool_test_util.hpp: what the spool tests share — a fresh temporary
// directory per test and deterministic messages that exercise every envelope field.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/clock.hpp"
#include "base/queue_id.hpp"
#include "smtp/envelope.hpp"

namespace sluice::spool::testutil {

// A new empty directory under the test temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = testing::TempDir() + "sluice-spool-XXXXXX";
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The queue id of message `i`: generator 7, a fixed start time plus i milliseconds, so ids
// are valid, sorted by i, and the same in every process.
inline std::string queue_id_for(int i) {
  ManualClock clock(SystemTime(std::chrono::seconds(1'700'000'000)) + std::chrono::milliseconds(i));
  QueueIdGenerator gen(clock, 7);
  return gen.next();
}

// Message `i`, different in every field from message i+1, with non-ASCII and NUL bytes where
// an encoder might trip.
inline smtp::Message make_message(int i, size_t content_size = 300) {
  smtp::Message m;
  smtp::Envelope& e = m.envelope;
  const std::string n = std::to_string(i);
  e.queue_id = queue_id_for(i);
  e.mail_from = i % 5 == 0 ? "" : "sender" + n + "@example.test";
  for (int r = 0; r <= i % 3; ++r) {
    smtp::Recipient rcpt;
    rcpt.address = "rcpt" + std::to_string(r) + "-" + n + "@d\xc3\xa9.example";
    rcpt.notify = smtp::DsnNotify{r % 2 == 1, false, r == 1, true, r == 2};
    rcpt.orcpt = r == 1 ? "rfc822;orig" + n + "@example.test" : "";
    e.recipients.push_back(rcpt);
  }
  e.body = static_cast<smtp::BodyType>(i % 3);
  e.smtputf8 = i % 2 == 1;
  e.ret = static_cast<smtp::DsnRet>(i % 3);
  e.envid = "env-" + n;
  e.declared_size = 1000u + static_cast<uint64_t>(i);
  e.connector = "Default Frontend";
  e.client_ip = "2001:db8::" + n;
  e.client_port = static_cast<uint16_t>(40000 + i);
  e.client_helo = "client" + n + ".example.test";
  e.protocol = "ESMTPSA";
  e.auth_user = i % 4 == 0 ? "" : "user" + n;
  e.message_id = "<" + n + "@example.test>";
  e.received_at_us = 1'700'000'000'000'000 + i;
  m.content = "Subject: message " + n + "\r\n\r\n";
  while (m.content.size() < content_size) m.content += static_cast<char>('a' + (m.content.size() + i) % 26);
  m.content[m.content.size() / 2] = '\0';
  return m;
}

}  // namespace sluice::spool::testutil
