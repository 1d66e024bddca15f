#include "spool/record_codec.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "spool_test_util.hpp"

namespace sluice::spool {
namespace {

SpooledMessage sample(int i) {
  smtp::Message m = testutil::make_message(i);
  SpooledMessage s{m.envelope, {}, m.content.size()};
  for (size_t r = 0; r < m.envelope.recipients.size(); ++r) {
    RecipientState st;
    st.status = static_cast<RecipientStatus>((r + static_cast<size_t>(i)) % 4);
    st.last_reply = r == 0 ? "" : "451 4.4.1 Connection timed out";
    st.attempts = static_cast<uint32_t>(r * 3 + 1);
    st.next_attempt_us = 1'700'000'123'000'000 + static_cast<int64_t>(r);
    st.updated_us = -5;  // negative times must survive too (zigzag)
    st.remote_mta = r == 0 ? "" : "mx" + std::to_string(r) + ".example.net";
    st.delay_notified = (r + static_cast<size_t>(i)) % 2 == 1;
    st.dsn_pending = (r + static_cast<size_t>(i)) % 3 == 1;
    s.recipients.push_back(st);
  }
  return s;
}

TEST(RecordCodec, RoundTripsEveryField) {
  for (int i = 0; i < 12; ++i) {
    SpooledMessage s = sample(i);
    Result<SpooledMessage> back = decode_meta(encode_meta(s));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, s) << "message " << i;
  }
}

TEST(RecordCodec, RoundTripsExtremeValues) {
  SpooledMessage s = sample(2);
  s.envelope.declared_size = std::numeric_limits<uint64_t>::max();
  s.envelope.client_port = 65535;
  s.envelope.received_at_us = std::numeric_limits<int64_t>::min();
  s.content_size = std::numeric_limits<uint64_t>::max();
  s.recipients[0].attempts = std::numeric_limits<uint32_t>::max();
  s.recipients[0].next_attempt_us = std::numeric_limits<int64_t>::max();
  s.envelope.mail_from = std::string("a\0b", 3);
  Result<SpooledMessage> back = decode_meta(encode_meta(s));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, s);
}

TEST(RecordCodec, EveryTruncationFails) {
  const std::string full = encode_meta(sample(5));
  for (size_t n = 0; n < full.size(); ++n)
    EXPECT_FALSE(decode_meta(std::string_view(full).substr(0, n))) << "prefix of " << n << " bytes";
}

TEST(RecordCodec, TrailingBytesFail) {
  EXPECT_FALSE(decode_meta(encode_meta(sample(1)) + "x"));
}

TEST(RecordCodec, UnknownVersionFailsAndSaysSo) {
  std::string v = encode_meta(sample(1));
  v[0] = static_cast<char>(kMetaFormatVersion + 1);
  Result<SpooledMessage> r = decode_meta(v);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context.find("version"), std::string::npos) << r.error().context;
}

TEST(RecordCodec, EnumOutOfRangeFails) {
  SpooledMessage s = sample(0);
  s.envelope.queue_id = "Q";
  s.envelope.mail_from = "";
  const std::string v = encode_meta(s);
  // version, len 1, 'Q', len 0, then the body byte at offset 4.
  ASSERT_EQ(v[4], static_cast<char>(s.envelope.body));
  std::string bad = v;
  bad[4] = 3;
  EXPECT_FALSE(decode_meta(bad));
}

TEST(RecordCodec, Version1RecordsStillDecode) {
  // A version 1 record is a version 2 one without each recipient's remote_mta and DSN
  // flags. With one recipient whose remote_mta is empty and flags are 0, those are the last
  // two bytes (length 0, flags 0): cut them and set the version byte.
  SpooledMessage s = sample(0);
  s.envelope.recipients.resize(1);
  s.recipients.resize(1);
  s.recipients[0].remote_mta.clear();
  s.recipients[0].delay_notified = false;
  s.recipients[0].dsn_pending = false;
  s.recipients[0].last_reply = "451 4.4.0 No route";
  std::string v = encode_meta(s);
  ASSERT_EQ(v.substr(v.size() - 2), std::string("\0\0", 2));
  v.resize(v.size() - 2);
  v[0] = static_cast<char>(kMetaFormatVersion1);
  Result<SpooledMessage> back = decode_meta(v);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, s);
  // And a version 1 record is not read as version 2 (the missing fields are noticed).
  v[0] = static_cast<char>(kMetaFormatVersion);
  EXPECT_FALSE(decode_meta(v));
}

TEST(RecordCodec, BadDsnFlagsFail) {
  SpooledMessage s = sample(0);
  s.envelope.recipients.resize(1);
  s.recipients.resize(1);
  std::string v = encode_meta(s);
  v.back() = 4;
  EXPECT_FALSE(decode_meta(v));
}

TEST(RecordCodec, HugeRecipientCountIsRefusedWithoutAllocating) {
  SpooledMessage s;
  s.envelope.queue_id = "Q";
  std::string v = encode_meta(s);
  v.pop_back();  // the recipient count 0
  v += "\xff\xff\xff\xff\xff\xff\xff\xff\x7f";
  EXPECT_FALSE(decode_meta(v));
}

}  // namespace
}  // namespace sluice::spool
