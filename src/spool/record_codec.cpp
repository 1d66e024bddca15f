// spool/record_codec.cpp: see record_codec.hpp for the format.
#include "spool/record_codec.hpp"

#include <limits>

namespace sluice::spool {

namespace {

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void var(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  // Zigzag keeps small negative numbers short.
  void svar(int64_t v) { var((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void str(std::string_view s) {
    var(s.size());
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Every read checks bounds; the first failure sticks, so decode can read a whole record and
// check once, the way a parser of untrusted bytes should.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }

  uint8_t u8() {
    if (!ok_ || pos_ >= in_.size()) return bad<uint8_t>();
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t var() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8();
      if (!ok_) return 0;
      if (shift == 63 && b > 1) return bad<uint64_t>();  // would overflow 64 bits
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return bad<uint64_t>();
  }
  int64_t svar() {
    uint64_t z = var();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string str() {
    uint64_t n = var();
    if (!ok_ || n > in_.size() - pos_) return bad<std::string>();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  template <typename E>
  E enumeration(E last) {
    uint8_t v = u8();
    if (v > static_cast<uint8_t>(last)) return bad<E>();
    return static_cast<E>(v);
  }

 private:
  template <typename T>
  T bad() {
    ok_ = false;
    return T{};
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

constexpr uint8_t kDelayNotified = 1, kDsnPending = 2;

constexpr uint8_t kNotifySpecified = 1, kNotifyNever = 2, kNotifySuccess = 4,
                  kNotifyFailure = 8, kNotifyDelay = 16;

uint8_t notify_bits(const smtp::DsnNotify& n) {
  return static_cast<uint8_t>((n.specified ? kNotifySpecified : 0) | (n.never ? kNotifyNever : 0) |
                              (n.success ? kNotifySuccess : 0) | (n.failure ? kNotifyFailure : 0) |
                              (n.delay ? kNotifyDelay : 0));
}

smtp::DsnNotify notify_from(uint8_t b) {
  return smtp::DsnNotify{(b & kNotifySpecified) != 0, (b & kNotifyNever) != 0,
                         (b & kNotifySuccess) != 0, (b & kNotifyFailure) != 0,
                         (b & kNotifyDelay) != 0};
}

}  // namespace

const char* to_string(RecipientStatus s) {
  switch (s) {
    case RecipientStatus::pending: return "pending";
    case RecipientStatus::deferred: return "deferred";
    case RecipientStatus::delivered: return "delivered";
    case RecipientStatus::failed: return "failed";
  }
  return "unknown";
}

std::string encode_meta(const SpooledMessage& m) {
  SLUICE_ASSERT(m.recipients.size() == m.envelope.recipients.size());
  const smtp::Envelope& e = m.envelope;
  Writer w;
  w.u8(kMetaFormatVersion);
  w.str(e.queue_id);
  w.str(e.mail_from);
  w.u8(static_cast<uint8_t>(e.body));
  w.u8(e.smtputf8 ? 1 : 0);
  w.u8(static_cast<uint8_t>(e.ret));
  w.str(e.envid);
  w.var(e.declared_size);
  w.str(e.connector);
  w.str(e.client_ip);
  w.var(e.client_port);
  w.str(e.client_helo);
  w.str(e.protocol);
  w.str(e.auth_user);
  w.str(e.message_id);
  w.svar(e.received_at_us);
  w.var(m.content_size);
  w.var(e.recipients.size());
  for (size_t i = 0; i < e.recipients.size(); ++i) {
    const smtp::Recipient& r = e.recipients[i];
    const RecipientState& s = m.recipients[i];
    w.str(r.address);
    w.u8(notify_bits(r.notify));
    w.str(r.orcpt);
    w.u8(static_cast<uint8_t>(s.status));
    w.str(s.last_reply);
    w.var(s.attempts);
    w.svar(s.next_attempt_us);
    w.svar(s.updated_us);
    w.str(s.remote_mta);
    w.u8(static_cast<uint8_t>((s.delay_notified ? kDelayNotified : 0) | (s.dsn_pending ? kDsnPending : 0)));
  }
  return w.take();
}

Result<SpooledMessage> decode_meta(std::string_view value) {
  if (value.empty()) return fail(ErrorClass::io, "empty spool record");
  const uint8_t version = static_cast<uint8_t>(value[0]);
  if (version != kMetaFormatVersion && version != kMetaFormatVersion1)
    return fail(ErrorClass::io, "unknown spool record format version " +
                                    std::to_string(static_cast<uint8_t>(value[0])));
  Reader r(value.substr(1));
  SpooledMessage m;
  smtp::Envelope& e = m.envelope;
  e.queue_id = r.str();
  e.mail_from = r.str();
  e.body = r.enumeration(smtp::BodyType::binary_mime);
  uint8_t utf8 = r.u8();
  if (utf8 > 1) return fail(ErrorClass::io, "spool record has a bad SMTPUTF8 flag");
  e.smtputf8 = utf8 == 1;
  e.ret = r.enumeration(smtp::DsnRet::headers);
  e.envid = r.str();
  e.declared_size = r.var();
  e.connector = r.str();
  e.client_ip = r.str();
  uint64_t port = r.var();
  if (port > std::numeric_limits<uint16_t>::max())
    return fail(ErrorClass::io, "spool record has a bad client port");
  e.client_port = static_cast<uint16_t>(port);
  e.client_helo = r.str();
  e.protocol = r.str();
  e.auth_user = r.str();
  e.message_id = r.str();
  e.received_at_us = r.svar();
  m.content_size = r.var();
  uint64_t n = r.var();
  // Each recipient takes at least 8 bytes, so a count beyond that is a lie: refuse it before
  // reserving memory for it.
  if (!r.ok() || n > value.size() / 8) return fail(ErrorClass::io, "truncated spool record");
  e.recipients.reserve(n);
  m.recipients.reserve(n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    smtp::Recipient rcpt;
    rcpt.address = r.str();
    uint8_t bits = r.u8();
    if (bits > 31) return fail(ErrorClass::io, "spool record has bad NOTIFY flags");
    rcpt.notify = notify_from(bits);
    rcpt.orcpt = r.str();
    RecipientState s;
    s.status = r.enumeration(RecipientStatus::failed);
    s.last_reply = r.str();
    uint64_t attempts = r.var();
    if (attempts > std::numeric_limits<uint32_t>::max())
      return fail(ErrorClass::io, "spool record has a bad attempt count");
    s.attempts = static_cast<uint32_t>(attempts);
    s.next_attempt_us = r.svar();
    s.updated_us = r.svar();
    if (version >= 2) {
      s.remote_mta = r.str();
      uint8_t flags = r.u8();
      if (flags > (kDelayNotified | kDsnPending)) return fail(ErrorClass::io, "spool record has bad DSN flags");
      s.delay_notified = (flags & kDelayNotified) != 0;
      s.dsn_pending = (flags & kDsnPending) != 0;
    }
    e.recipients.push_back(std::move(rcpt));
    m.recipients.push_back(std::move(s));
  }
  if (!r.ok()) return fail(ErrorClass::io, "truncated or damaged spool record");
  if (!r.at_end()) return fail(ErrorClass::io, "spool record has trailing bytes");
  return m;
}

}  // namespace sluice::spool
