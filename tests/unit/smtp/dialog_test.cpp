// Dialog tests of the server session: each tests/data/dialogs/*.dialog file is a little
// conversation, played through the session with the fake policy and committer of
// session_fakes.hpp. Every dialog without connection events is replayed with its whole input
// split at every byte position, and byte by byte: the replies and the committed messages
// must not change (a sans-I/O session must not care how TCP cuts the stream).
//
// File format, one directive per line:
//   # comment                      blank lines are ignored too
//   @set <key> <value>             before the first C:; keys: max_message_size, max_recipients,
//                                  max_errors, max_hop_count, pipelining, chunking, eightbitmime,
//                                  smtputf8, dsn, tls, require_tls, allow_plaintext_auth,
//                                  auth_required, sender_login_match, add_missing_headers,
//                                  auth (a fake authenticator: PLAIN/LOGIN, alice@example.test
//                                  "secret", bob@example.test "hunter2"), implicit_tls
//                                  (on/off), fail_commit <n>, client_ip
//   C: <text>                      sent with CRLF appended; escapes \r \n \t \\ \xNN
//   R: <text>                      sent as is, no CRLF appended (same escapes)
//   S: <prefix>                    the next reply line starts with <prefix>
//   CLOSED                         the session has closed the connection
//   TIMEOUT | EOF | SHUTDOWN       the lead reports a read timeout / the client's EOF / shutdown
//   TLS | TLSFAIL                  the handshake after STARTTLS succeeded (TLSv1.3,
//                                  TLS_AES_256_GCM_SHA384, 256 bits) / failed
//   COMMITTED <n>                  n messages have been committed so far
//   M: <key> <value>               about the last committed message: mail_from, recipients
//                                  (comma separated), protocol, helo, message_id, queue_id,
//                                  auth_user,
//                                  body (content after our Received header, escapes), contains
// At the end every reply must have been matched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "session_fakes.hpp"
#include "smtp/server_session.hpp"

namespace sluice::smtp {
namespace {

using testing_fakes::Driver;

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char e = s[++i];
    switch (e) {
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case '\\': out += '\\'; break;
      case 'x':
        if (i + 2 < s.size()) {
          out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
          i += 2;
        }
        break;
      default: out += '\\'; out += e;
    }
  }
  return out;
}

struct Step {
  std::string kind;  // C, R, S, CLOSED, TIMEOUT, EOF, SHUTDOWN, COMMITTED, M
  std::string text;  // unescaped for C/R, raw otherwise
  int line = 0;
};

struct Dialog {
  SessionSettings settings = testing_fakes::test_settings();
  ClientInfo client{"192.0.2.1", 40000, "192.0.2.25", 25, ""};
  int fail_commit = 0;
  bool auth = false;
  std::vector<Step> steps;
  bool has_events = false;
};

bool on_off(const std::string& v) { return v == "on" || v == "true" || v == "1"; }

Dialog load(const std::filesystem::path& path) {
  Dialog d;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("@set ", 0) == 0) {
      std::istringstream ss(line.substr(5));
      std::string key, value;
      ss >> key >> value;
      if (key == "max_message_size") d.settings.max_message_size = std::stoull(value);
      else if (key == "max_recipients") d.settings.max_recipients = std::stoul(value);
      else if (key == "max_errors") d.settings.max_errors = std::stoi(value);
      else if (key == "max_hop_count") d.settings.max_hop_count = std::stoi(value);
      else if (key == "pipelining") d.settings.pipelining = on_off(value);
      else if (key == "chunking") d.settings.chunking = on_off(value);
      else if (key == "eightbitmime") d.settings.eightbitmime = on_off(value);
      else if (key == "smtputf8") d.settings.smtputf8 = on_off(value);
      else if (key == "dsn") d.settings.dsn = on_off(value);
      else if (key == "tls") d.settings.tls_available = on_off(value);
      else if (key == "require_tls") d.settings.require_tls = on_off(value);
      else if (key == "allow_plaintext_auth") d.settings.allow_plaintext_auth = on_off(value);
      else if (key == "auth_required") d.settings.auth_required = on_off(value);
      else if (key == "sender_login_match") d.settings.sender_login_match = on_off(value);
      else if (key == "add_missing_headers") d.settings.add_missing_headers = on_off(value);
      else if (key == "auth") d.auth = on_off(value);
      else if (key == "implicit_tls" && on_off(value)) d.client.tls = TlsInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256", 128};
      else if (key == "fail_commit") d.fail_commit = std::stoi(value);
      else if (key == "client_ip") d.client.ip = value;
      else ADD_FAILURE() << path << ":" << n << ": unknown setting " << key;
      continue;
    }
    const size_t colon = line.find(": ");
    const std::string head = colon == std::string::npos ? line : line.substr(0, colon);
    const std::string rest = colon == std::string::npos ? std::string() : line.substr(colon + 2);
    if (head == "C") {
      d.steps.push_back({"C", unescape(rest) + "\r\n", n});
    } else if (head == "R") {
      d.steps.push_back({"R", unescape(rest), n});
    } else if (head == "S" || head == "M") {
      d.steps.push_back({head, rest, n});
    } else if (line == "CLOSED" || line == "TIMEOUT" || line == "EOF" || line == "SHUTDOWN" || line == "TLS" ||
               line == "TLSFAIL") {
      d.steps.push_back({line, "", n});
      if (line != "CLOSED") d.has_events = true;
    } else if (line.rfind("COMMITTED ", 0) == 0) {
      d.steps.push_back({"COMMITTED", line.substr(10), n});
    } else {
      ADD_FAILURE() << path << ":" << n << ": cannot parse: " << line;
    }
  }
  return d;
}

std::vector<std::string> split_lines(const std::string& out) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t end = out.find("\r\n", pos);
    if (end == std::string::npos) {
      lines.push_back(out.substr(pos) + "<no CRLF>");
      break;
    }
    lines.push_back(out.substr(pos, end - pos));
    pos = end + 2;
  }
  return lines;
}

// The content after our Received header (the first field and its continuation lines).
std::string body_after_received(const std::string& content) {
  size_t pos = 0;
  while (true) {
    const size_t end = content.find("\r\n", pos);
    if (end == std::string::npos) return {};
    pos = end + 2;
    if (pos >= content.size() || content[pos] != '\t') return content.substr(pos);
  }
}

void check_message(const Message& m, const std::string& spec, const std::string& where) {
  const size_t sp = spec.find(' ');
  const std::string key = spec.substr(0, sp);
  const std::string value = sp == std::string::npos ? std::string() : unescape(spec.substr(sp + 1));
  const Envelope& e = m.envelope;
  if (key == "mail_from") {
    EXPECT_EQ(e.mail_from, value) << where;
  } else if (key == "recipients") {
    std::string joined;
    for (const Recipient& r : e.recipients) joined += (joined.empty() ? "" : ",") + r.address;
    EXPECT_EQ(joined, value) << where;
  } else if (key == "protocol") {
    EXPECT_EQ(e.protocol, value) << where;
  } else if (key == "helo") {
    EXPECT_EQ(e.client_helo, value) << where;
  } else if (key == "message_id") {
    EXPECT_EQ(e.message_id, value) << where;
  } else if (key == "auth_user") {
    EXPECT_EQ(e.auth_user, value) << where;
  } else if (key == "queue_id") {
    EXPECT_EQ(e.queue_id, value) << where;
  } else if (key == "body") {
    EXPECT_EQ(body_after_received(m.content), value) << where;
  } else if (key == "contains") {
    EXPECT_NE(m.content.find(value), std::string::npos) << where << ": " << m.content;
  } else {
    ADD_FAILURE() << where << ": unknown message key " << key;
  }
}

struct Transcript {
  std::string output;
  std::vector<std::string> contents;
};

Transcript transcript_of(const Driver& d) {
  Transcript t{d.all_output(), {}};
  for (const Message& m : d.committed()) t.contents.push_back(m.content);
  return t;
}

// Plays the dialog step by step, checking every expectation; returns what happened.
Transcript play(const Dialog& dialog, const std::string& name) {
  Driver d(dialog.settings, dialog.client, dialog.auth);
  d.fail_commit_number(dialog.fail_commit);
  std::vector<std::string> replies = split_lines(d.all_output());
  size_t next_reply = 0;
  std::string pending;
  auto flush = [&] {
    if (pending.empty()) return;
    const std::string out = d.send(pending);
    pending.clear();
    for (std::string& l : split_lines(out)) replies.push_back(std::move(l));
  };
  for (const Step& s : dialog.steps) {
    const std::string where = name + ":" + std::to_string(s.line);
    if (s.kind == "C" || s.kind == "R") {
      pending += s.text;
      continue;
    }
    flush();
    if (s.kind == "S") {
      if (next_reply >= replies.size()) {
        ADD_FAILURE() << where << ": expected \"" << s.text << "\", no more replies";
        continue;
      }
      const std::string& got = replies[next_reply++];
      EXPECT_EQ(got.substr(0, s.text.size()), s.text) << where << ": got \"" << got << "\"";
    } else if (s.kind == "CLOSED") {
      EXPECT_TRUE(d.session().closed()) << where;
    } else if (s.kind == "TIMEOUT" || s.kind == "EOF" || s.kind == "SHUTDOWN" || s.kind == "TLS" ||
               s.kind == "TLSFAIL") {
      if (s.kind == "TLS") {
        EXPECT_TRUE(d.saw_start_tls()) << where << ": no start_tls action";
        d.session().on_tls_started(TlsInfo{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256});
        for (std::string& l : split_lines(d.run())) replies.push_back(std::move(l));
      }
      if (s.kind == "TLSFAIL") d.session().on_tls_failed();
      if (s.kind == "TIMEOUT") d.session().on_timeout();
      if (s.kind == "EOF") d.session().on_eof();
      if (s.kind == "SHUTDOWN") d.session().on_shutdown();
      for (std::string& l : split_lines(d.event_output())) replies.push_back(std::move(l));
    } else if (s.kind == "COMMITTED") {
      EXPECT_EQ(d.committed().size(), std::stoul(s.text)) << where;
    } else if (s.kind == "M") {
      if (d.committed().empty()) {
        ADD_FAILURE() << where << ": no message committed";
      } else {
        check_message(d.committed().back(), s.text, where);
      }
    }
  }
  flush();
  for (; next_reply < replies.size(); ++next_reply) {
    ADD_FAILURE() << name << ": unexpected reply \"" << replies[next_reply] << "\"";
  }
  return transcript_of(d);
}

std::string all_input(const Dialog& dialog) {
  std::string in;
  for (const Step& s : dialog.steps) {
    if (s.kind == "C" || s.kind == "R") in += s.text;
  }
  return in;
}

std::vector<std::string> dialog_files() {
  std::vector<std::string> files;
  const std::filesystem::path dir = std::filesystem::path(SLUICE_TEST_DATA) / "dialogs";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".dialog") files.push_back(entry.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class DialogTest : public testing::TestWithParam<std::string> {};

TEST_P(DialogTest, Plays) {
  const std::filesystem::path path =
      std::filesystem::path(SLUICE_TEST_DATA) / "dialogs" / (GetParam() + ".dialog");
  const Dialog dialog = load(path);
  ASSERT_FALSE(dialog.steps.empty()) << path;
  const Transcript reference = play(dialog, GetParam());
  if (dialog.has_events || HasFailure()) return;

  const std::string input = all_input(dialog);
  auto same = [&](const Driver& d, const std::string& how) {
    const Transcript t = transcript_of(d);
    EXPECT_EQ(t.output, reference.output) << how;
    EXPECT_EQ(t.contents, reference.contents) << how;
    return t.output == reference.output && t.contents == reference.contents;
  };
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    Driver d(dialog.settings, dialog.client, dialog.auth);
    d.fail_commit_number(dialog.fail_commit);
    d.send(input.substr(0, cut));
    d.send(input.substr(cut));
    if (!same(d, "split at " + std::to_string(cut))) return;
  }
  Driver bytewise(dialog.settings, dialog.client, dialog.auth);
  bytewise.fail_commit_number(dialog.fail_commit);
  for (char c : input) bytewise.send(std::string_view(&c, 1));
  same(bytewise, "byte by byte");
}

INSTANTIATE_TEST_SUITE_P(Dialogs, DialogTest, testing::ValuesIn(dialog_files()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(DialogFiles, Exist) { EXPECT_GE(dialog_files().size(), 10u); }

}  // namespace
}  // namespace sluice::smtp
