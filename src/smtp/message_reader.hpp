// smtp/message_reader.hpp: the message content of one transaction as it arrives after DATA
// (dot-stuffed text ending with <CRLF>.<CRLF>) or in BDAT chunks (exact octet counts).
// Owns: finding the end of DATA, dot-unstuffing, spotting bare CR and bare LF, the size
// limit while reading (an oversized message is read to its end and discarded, never
// buffered), skipping a refused BDAT chunk; and the two header lookups the session needs
// (Received: count for the hop limit, Message-ID).
// Not: replies and state (server_session), the Received header we add (received_header).
// RFC 5321 §4.1.1.4 (DATA), §4.5.2 (transparency), §2.3.8 (lines end with CRLF, no bare CR
// or LF), §6.3 (hop count); RFC 3030 §2 (BDAT chunks); RFC 5322 §2.2 (header fields).
//
// SMTP smuggling (CVE-2023-51766, CVE-2023-51764 and relatives): the end of DATA is ONLY
// <CRLF>.<CRLF>. "\n.\n", "\n.\r\n", "\r.\r", "\r\n.\n", "\r\n.\r" and every other mix of bare
// CR/LF are content; the reader never stops there, so bytes after them can never be read as
// commands. Such a message is flagged (bare_line_ending()) and the session rejects it after
// its real end, so no downstream hop ever sees the ambiguous sequence either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::smtp {

class MessageReader {
 public:
  // max_size: the most content octets kept (after unstuffing); 0 means no limit.
  explicit MessageReader(uint64_t max_size = 0) : max_size_(max_size) {}

  // Starts reading DATA content; the previous content (if any) is dropped.
  void begin_data();
  // Starts one BDAT chunk of `size` octets. The chunks of a transaction accumulate; with
  // discard the chunk is read and thrown away (a refused chunk must still be skipped).
  void begin_chunk(uint64_t size, bool discard);

  // Consumes bytes of the current DATA body or chunk and returns how many it took; it never
  // takes a byte past the end of data or of the chunk (those belong to the next command).
  size_t consume(std::string_view input);
  // The DATA body or the current chunk has been read completely.
  bool done() const { return mode_ == Mode::idle; }
  // Octets the current chunk still expects (0 when not in a chunk).
  uint64_t chunk_remaining() const { return chunk_left_; }

  // Content so far: CRLF line endings as received, dot-unstuffed (DATA), chunks concatenated
  // (BDAT). Incomplete once too_big().
  const std::string& content() const { return content_; }
  std::string take_content();
  // More than max_size octets arrived: the content was discarded.
  bool too_big() const { return too_big_; }
  // DATA content contained a CR not followed by LF or an LF not preceded by CR.
  bool bare_line_ending() const { return bare_; }
  // Content octets seen (kept or discarded), for logs.
  uint64_t octets() const { return octets_; }

  // Drops all content and flags, ready for a new transaction.
  void reset();

 private:
  enum class Mode { idle, data, chunk };
  // Where DATA scanning stands. line_start: just after CRLF (or at the start). dot: a line
  // began with "."; dot_cr: ".\r" at line start (one LF more ends the data); cr: a CR whose
  // LF has not been seen yet (not stored until we know it is part of CRLF).
  enum class DataState { line_start, mid_line, cr, dot, dot_cr };

  void append(char c);
  void append(std::string_view s);
  // Handles one octet in the middle of a line (also used when a dot or CR turned out not
  // to start anything special).
  void mid_line_octet(char c);

  uint64_t max_size_;
  Mode mode_ = Mode::idle;
  DataState data_state_ = DataState::line_start;
  uint64_t chunk_left_ = 0;
  bool chunk_discard_ = false;
  std::string content_;
  bool too_big_ = false;
  bool bare_ = false;
  uint64_t octets_ = 0;
};

// Number of "Received:" header fields (name case-insensitive, at a line start) in the header
// section of `content` (up to the first empty line). RFC 5321 §6.3 loop detection.
int count_received_headers(std::string_view content);

// The unfolded value of the first Message-ID header field, trimmed; empty if there is none.
std::string find_message_id(std::string_view content);

}  // namespace sluice::smtp
