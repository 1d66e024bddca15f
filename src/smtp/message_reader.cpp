// smtp/message_reader.cpp: DATA and BDAT content reading; see message_reader.hpp for what
// it owns and the smuggling rules it enforces.
#include "smtp/message_reader.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace sluice::smtp {

void MessageReader::begin_data() {
  SLUICE_ASSERT(mode_ == Mode::idle);
  reset();
  mode_ = Mode::data;
  data_state_ = DataState::line_start;  // the DATA command's CRLF starts the first line
}

void MessageReader::begin_chunk(uint64_t size, bool discard) {
  SLUICE_ASSERT(mode_ == Mode::idle);
  chunk_left_ = size;
  chunk_discard_ = discard;
  mode_ = size == 0 ? Mode::idle : Mode::chunk;  // "BDAT 0 LAST" is legal (RFC 3030 §2)
}

void MessageReader::reset() {
  mode_ = Mode::idle;
  data_state_ = DataState::line_start;
  chunk_left_ = 0;
  chunk_discard_ = false;
  content_.clear();
  too_big_ = false;
  bare_ = false;
  octets_ = 0;
}

std::string MessageReader::take_content() {
  std::string out = std::move(content_);
  content_.clear();
  return out;
}

void MessageReader::append(char c) { append(std::string_view(&c, 1)); }

void MessageReader::append(std::string_view s) {
  octets_ += s.size();
  if (too_big_) return;
  if (max_size_ != 0 && content_.size() + s.size() > max_size_) {
    // Keep reading to the end so the stream stays in step, but keep nothing: the memory
    // used is bounded by the limit, whatever the client sends.
    too_big_ = true;
    content_.clear();
    content_.shrink_to_fit();
    return;
  }
  content_.append(s);
}

void MessageReader::mid_line_octet(char c) {
  switch (c) {
    case '\r':
      data_state_ = DataState::cr;  // stored once we know whether LF follows
      break;
    case '\n':
      // A bare LF is content, never a line end: "\n.\n" and "\n.\r\n" must not end the data.
      bare_ = true;
      append(c);
      data_state_ = DataState::mid_line;
      break;
    default:
      append(c);
      data_state_ = DataState::mid_line;
  }
}

size_t MessageReader::consume(std::string_view input) {
  if (mode_ == Mode::chunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_left_, input.size()));
    if (chunk_discard_) {
      octets_ += n;
    } else {
      append(input.substr(0, n));  // binary: no dot or line-ending rules (RFC 3030 §3)
    }
    chunk_left_ -= n;
    if (chunk_left_ == 0) mode_ = Mode::idle;
    return n;
  }
  if (mode_ != Mode::data) return 0;

  size_t i = 0;
  while (i < input.size() && mode_ == Mode::data) {
    const char c = input[i++];
    switch (data_state_) {
      case DataState::line_start:
        if (c == '.') {
          data_state_ = DataState::dot;
        } else {
          mid_line_octet(c);
        }
        break;
      case DataState::mid_line:
        mid_line_octet(c);
        break;
      case DataState::cr:
        if (c == '\n') {
          append("\r\n");
          data_state_ = DataState::line_start;
        } else {
          // A bare CR ("\r.\r" must not end the data either). The octet after it is
          // handled as mid-line: a bare CR does not start a line.
          bare_ = true;
          append('\r');
          mid_line_octet(c);
        }
        break;
      case DataState::dot:
        if (c == '\r') {
          data_state_ = DataState::dot_cr;
        } else {
          // RFC 5321 §4.5.2: the first dot of a line is removed. A dot followed by anything
          // but CR was stuffed (".." → "."), or a lone dot a lenient client did not double.
          mid_line_octet(c);
        }
        break;
      case DataState::dot_cr:
        if (c == '\n') {
          mode_ = Mode::idle;  // <CRLF>.<CRLF>: the only end of data
          data_state_ = DataState::line_start;
        } else {
          // ".\r" then not LF: a stuffed dot followed by a bare CR ("\r\n.\r" smuggling).
          bare_ = true;
          append('\r');
          mid_line_octet(c);
        }
        break;
    }
  }
  return i;
}

namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    char b = prefix[i];
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// Calls f(line) for each line of the header section (without its line ending), stopping at
// the first empty line. Bare LF also ends a line here: this only reads, it decides nothing
// about framing.
template <typename F>
void for_each_header_line(std::string_view content, F&& f) {
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    std::string_view line = content.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return;  // end of the header section
    if (!f(line)) return;
    if (end == std::string_view::npos) return;
    pos = end + 1;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Name:" or "Name :" (RFC 5322 obsolete syntax allows WSP before the colon).
bool is_field(std::string_view line, std::string_view name, std::string_view* value) {
  if (!iequals_prefix(line, name)) return false;
  std::string_view rest = line.substr(name.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  if (rest.empty() || rest.front() != ':') return false;
  if (value != nullptr) *value = rest.substr(1);
  return true;
}

}  // namespace

int count_received_headers(std::string_view content) {
  int n = 0;
  for_each_header_line(content, [&](std::string_view line) {
    if (is_field(line, "Received", nullptr)) ++n;
    return true;
  });
  return n;
}

std::string find_message_id(std::string_view content) {
  std::string value;
  bool in_field = false;
  bool found = false;
  for_each_header_line(content, [&](std::string_view line) {
    const bool continuation = line.front() == ' ' || line.front() == '\t';
    if (in_field) {
      if (continuation) {
        value += ' ';
        value += trim(line);
        return true;
      }
      found = true;
      return false;
    }
    std::string_view v;
    if (!continuation && is_field(line, "Message-ID", &v)) {
      in_field = true;
      value = std::string(trim(v));
    }
    return true;
  });
  if (!found && !in_field) return {};
  return std::string(trim(value));
}

}  // namespace sluice::smtp
