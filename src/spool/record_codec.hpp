// spool/record_codec.hpp: the on-disk form of a spooled message's metadata record — the
// envelope, the per-recipient delivery state and the content size — as a compact binary
// value that starts with a format version byte (the idea of Postfix's rec_type.h: every
// stored record says what it is, so a reader can refuse what it does not know).
// Owns: encoding and strict decoding of that value, and the state types it carries.
// Not: keys, RocksDB, batching (store.cpp, committer.cpp); content bytes (stored raw).
//
// Format version 2, all integers little-endian base-128 varints (signed ones zigzag):
//   u8 version=2
//   str queue_id, str mail_from, u8 body, u8 smtputf8, u8 ret, str envid, var declared_size,
//   str connector, str client_ip, var client_port, str client_helo, str protocol,
//   str auth_user, str message_id, svar received_at_us, var content_size,
//   var n, then n times: str address, u8 notify flags, str orcpt,
//                        u8 status, str last_reply, var attempts, svar next_attempt_us,
//                        svar updated_us, str remote_mta, u8 dsn flags
//                        (1 delay_notified, 2 dsn_pending)
// where str = var length + bytes. Every enum is range-checked and the value must be used
// up exactly, so a truncated or padded record fails to decode instead of loading garbage.
// Why our own binary and not JSON: the record is rewritten on every recipient state change
// and read once per message at start; it is small and must round-trip any bytes (8-bit
// addresses under SMTPUTF8) without escaping questions.
//
// Version 1 (issue 2) is the same without the last two fields of each recipient; it still
// decodes (remote_mta empty, no DSN flags) and is rewritten as version 2 at the next update.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "smtp/envelope.hpp"

namespace sluice::spool {

enum class RecipientStatus { pending, deferred, delivered, failed };

// Where one recipient stands. `last_reply` is the reply text of the last attempt ("451 4.4.1
// ..."), `next_attempt_us`/`updated_us` are Unix microseconds, 0 when not set.
// `remote_mta` names the host that gave last_reply ("mx1.example.net"; empty for a local
// outcome): RFC 3464 Remote-MTA of a later DSN. The DSN flags make notices survive a
// restart exactly as the queue decided them: `delay_notified` — the one delay notice for
// this recipient has been written; `dsn_pending` — the recipient reached a final state whose
// DSN (failure, or success when NOTIFY asked for it) is not yet in the spool.
struct RecipientState {
  RecipientStatus status = RecipientStatus::pending;
  std::string last_reply;
  uint32_t attempts = 0;
  int64_t next_attempt_us = 0;
  int64_t updated_us = 0;
  std::string remote_mta;
  bool delay_notified = false;
  bool dsn_pending = false;
  bool operator==(const RecipientState&) const = default;
};

// A message as the spool holds it; the content is read on demand (Store::read_content).
struct SpooledMessage {
  smtp::Envelope envelope;
  std::vector<RecipientState> recipients;  // same order and size as envelope.recipients
  uint64_t content_size = 0;
  bool operator==(const SpooledMessage&) const = default;
};

inline constexpr uint8_t kMetaFormatVersion = 2;
inline constexpr uint8_t kMetaFormatVersion1 = 1;  // still decoded
inline constexpr uint8_t kContentFormatVersion = 1;

const char* to_string(RecipientStatus s);

std::string encode_meta(const SpooledMessage& message);
// Decodes version 2 and version 1. Fails (ErrorClass::io) on an unknown version, a truncated or padded value, an enum out of
// range, or recipient states that do not match the recipients.
Result<SpooledMessage> decode_meta(std::string_view value);

}  // namespace sluice::spool
