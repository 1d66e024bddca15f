// queue/maildrop.cpp: see maildrop.hpp.
#include "queue/maildrop.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "smtp/received_header.hpp"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "sluice-maildrop 1";

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

std::string notify_text(const smtp::DsnNotify& n) {
  if (!n.specified) return {};
  if (n.never) return "never";
  std::string out;
  auto add = [&out](bool on, const char* word) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += word;
  };
  add(n.success, "success");
  add(n.failure, "failure");
  add(n.delay, "delay");
  return out;
}

Result<smtp::DsnNotify> parse_notify(std::string_view text) {
  smtp::DsnNotify n;
  n.specified = true;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view word = text.substr(0, comma);
    if (word == "never") n.never = true;
    else if (word == "success") n.success = true;
    else if (word == "failure") n.failure = true;
    else if (word == "delay") n.delay = true;
    else return fail(ErrorClass::permanent, "unknown NOTIFY keyword '" + std::string(word) + "'");
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return n;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::string errno_text(int err) { return std::strerror(err); }

Result<void> fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return fail(ErrorClass::io, "cannot open " + path + ": " + errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail(ErrorClass::io, "cannot sync " + path + ": " + errno_text(err));
  return {};
}

// The Message-ID field's value, for Envelope::message_id (tracking and the queue views).
std::string find_message_id(std::string_view content) {
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find("\r\n", pos);
    if (end == std::string_view::npos) end = content.size();
    const std::string_view line = content.substr(pos, end - pos);
    if (line.empty()) break;  // end of the header section
    if (line.size() > 11 && strncasecmp(line.data(), "message-id:", 11) == 0) {
      std::string_view v = line.substr(11);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return std::string(v);
    }
    pos = end + 2;
  }
  return {};
}

void move_aside(const fs::path& file, PickupReport& report, const std::string& why) {
  std::error_code ec;
  const fs::path corrupt = file.parent_path() / "corrupt";
  fs::create_directories(corrupt, ec);
  fs::rename(file, corrupt / file.filename(), ec);
  ++report.moved_aside;
  report.problems.push_back(file.string() + ": " + why + (ec ? "; could not move it aside: " + ec.message()
                                                             : "; moved to " + (corrupt / file.filename()).string()));
}

}  // namespace

std::string encode_maildrop(const MaildropEntry& entry) {
  const smtp::Envelope& env = entry.envelope;
  std::string out;
  out.reserve(entry.content.size() + 256);
  out += kMagic;
  out += "\nsender ";
  out += env.mail_from;
  out += '\n';
  for (const smtp::Recipient& r : env.recipients) {
    out += "recipient ";
    out += r.address;
    if (const std::string n = notify_text(r.notify); !n.empty()) out += " notify=" + n;
    out += '\n';
  }
  if (env.ret == smtp::DsnRet::full) out += "ret full\n";
  if (env.ret == smtp::DsnRet::headers) out += "ret headers\n";
  if (!env.envid.empty()) out += "envid " + env.envid + "\n";
  if (env.smtputf8) out += "smtputf8\n";
  out += "submitter " + std::to_string(entry.submitter_uid) + " " + entry.submitter_name + "\n";
  out += "time " + std::to_string(entry.submitted_at_us) + "\n";
  out += "content " + std::to_string(entry.content.size()) + "\n";
  out += entry.content;
  return out;
}

Result<MaildropEntry> decode_maildrop(std::string_view bytes) {
  MaildropEntry entry;
  bool first = true, have_sender = false;
  while (true) {
    const size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) return fail(ErrorClass::permanent, "truncated envelope (no content line)");
    const std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
    if (first) {
      if (line != kMagic) return fail(ErrorClass::permanent, "not a version 1 maildrop file");
      first = false;
      continue;
    }
    const size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    const std::string_view value = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    if (key == "sender") {
      entry.envelope.mail_from = std::string(value);
      have_sender = true;
    } else if (key == "recipient") {
      smtp::Recipient r;
      const size_t space = value.find(' ');
      r.address = std::string(value.substr(0, space));
      if (r.address.empty()) return fail(ErrorClass::permanent, "empty recipient");
      if (space != std::string_view::npos) {
        const std::string_view param = value.substr(space + 1);
        if (param.substr(0, 7) != "notify=") return fail(ErrorClass::permanent, "unknown recipient parameter");
        auto n = parse_notify(param.substr(7));
        if (!n) return fail(n.error());
        r.notify = *n;
      }
      entry.envelope.recipients.push_back(std::move(r));
    } else if (key == "ret") {
      if (value == "full") entry.envelope.ret = smtp::DsnRet::full;
      else if (value == "headers") entry.envelope.ret = smtp::DsnRet::headers;
      else return fail(ErrorClass::permanent, "bad ret value");
    } else if (key == "envid") {
      entry.envelope.envid = std::string(value);
    } else if (key == "smtputf8") {
      entry.envelope.smtputf8 = true;
    } else if (key == "submitter") {
      const size_t space = value.find(' ');
      if (!parse_number(value.substr(0, space), entry.submitter_uid))
        return fail(ErrorClass::permanent, "bad submitter uid");
      if (space != std::string_view::npos) entry.submitter_name = std::string(value.substr(space + 1));
    } else if (key == "time") {
      if (!parse_number(value, entry.submitted_at_us)) return fail(ErrorClass::permanent, "bad time");
    } else if (key == "content") {
      uint64_t size = 0;
      if (!parse_number(value, size)) return fail(ErrorClass::permanent, "bad content size");
      if (bytes.size() != size)
        return fail(ErrorClass::permanent, "content is " + std::to_string(bytes.size()) + " bytes, expected " +
                                               std::to_string(size) + " (truncated file?)");
      entry.content = std::string(bytes);
      break;
    } else {
      return fail(ErrorClass::permanent, "unknown envelope line '" + std::string(key) + "'");
    }
  }
  if (!have_sender) return fail(ErrorClass::permanent, "no sender line");
  if (entry.envelope.recipients.empty()) return fail(ErrorClass::permanent, "no recipients");
  return entry;
}

Result<std::string> write_maildrop(const std::string& dir, const MaildropEntry& entry) {
  const smtp::Envelope& env = entry.envelope;
  if (has_line_break(env.mail_from) || has_line_break(env.envid) || has_line_break(entry.submitter_name))
    return fail(ErrorClass::permanent, "line break in an envelope field");
  for (const auto& r : env.recipients) {
    if (has_line_break(r.address) || r.address.find(' ') != std::string::npos || r.address.empty())
      return fail(ErrorClass::permanent, "bad recipient address '" + r.address + "'");
  }
  if (env.recipients.empty()) return fail(ErrorClass::permanent, "no recipients");

  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    // The data directory itself may not exist yet (sluiced never started): make the path.
    fs::create_directories(fs::path(dir).parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return fail(ErrorClass::io, "cannot create the maildrop directory " + dir + ": " + errno_text(errno));
  }
  // Names sort by submission time; pid and a random number keep two writers apart (O_EXCL
  // below catches the rest).
  std::random_device random;
  const std::string base = std::to_string(entry.submitted_at_us) + "." + std::to_string(::getpid()) + "." +
                           std::to_string(random());
  const std::string tmp = dir + "/tmp." + base;
  const std::string final_path = dir + "/" + base + std::string(kMaildropSuffix);
  const std::string bytes = encode_maildrop(entry);

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorClass::io, "cannot create " + tmp + ": " + errno_text(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(ErrorClass::io, "cannot write " + tmp + ": " + errno_text(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorClass::io, "cannot sync " + tmp + ": " + errno_text(err));
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorClass::io, "cannot rename " + tmp + " to " + final_path + ": " + errno_text(err));
  }
  if (auto synced = fsync_path(dir, O_RDONLY | O_DIRECTORY); !synced) return fail(synced.error());
  return final_path;
}

PickupReport pick_up_maildrop(const std::string& dir, const PickupOptions& options, QueueIdGenerator& ids,
                              const Clock& clock, const MaildropSubmit& submit) {
  PickupReport report;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() == kMaildropSuffix && it->is_regular_file(ec)) files.push_back(p);
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    report.problems.push_back("cannot read the maildrop directory " + dir + ": " + ec.message());
  }
  std::sort(files.begin(), files.end());

  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      report.problems.push_back(file.string() + ": cannot open: " + errno_text(errno));
      continue;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    auto entry = decode_maildrop(buf.str());
    if (!entry) {
      move_aside(file, report, entry.error().context);
      continue;
    }
    smtp::Message message;
    message.envelope = std::move(entry->envelope);
    smtp::Envelope& env = message.envelope;
    env.queue_id = ids.next();
    env.connector = options.connector;
    env.client_ip = "127.0.0.1";
    env.protocol = "local";
    env.message_id = find_message_id(entry->content);
    const SystemTime now = clock.now();
    env.received_at_us =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    for (char c : entry->content) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        if (env.body == smtp::BodyType::seven_bit) env.body = smtp::BodyType::eight_bit_mime;
        break;
      }
    }
    // Postfix's shape for local submissions: "by host (Postfix, from userid 1000)".
    message.content = "Received: by " + options.hostname + " (sluice, from userid " +
                      std::to_string(entry->submitter_uid) + ")\r\n\tid " + env.queue_id + "; " +
                      smtp::rfc5322_date(now) + "\r\n";
    message.content += entry->content;
    auto stored = submit(std::move(message));
    if (!stored) {
      report.problems.push_back(file.string() + ": not picked up, left for the next start: " +
                                stored.error().message());
      break;
    }
    ++report.submitted;
    fs::remove(file, ec);
    if (ec) report.problems.push_back(file.string() + ": submitted but cannot be removed: " + ec.message());
  }
  return report;
}

}  // namespace sluice::queue
