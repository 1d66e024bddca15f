// cli/sendmail_command.cpp: see sendmail_command.hpp.
#include "cli/sendmail_command.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <random>

#include "cli/admin_client.hpp"
#include "cli/local_submission.hpp"
#include "cli/mailq_command.hpp"
#include "cli/user_command.hpp"
#include "config/loader.hpp"
#include "queue/maildrop.hpp"
#include "smtp/received_header.hpp"

namespace sluice::cli {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

Result<smtp::DsnNotify> parse_notify(std::string_view text) {
  smtp::DsnNotify n;
  n.specified = true;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view word = trim(text.substr(0, comma));
    if (iequals(word, "never")) n.never = true;
    else if (iequals(word, "success")) n.success = true;
    else if (iequals(word, "failure")) n.failure = true;
    else if (iequals(word, "delay")) n.delay = true;
    else return fail(ErrorClass::permanent, "-N: unknown DSN keyword '" + std::string(word) +
                                                "' (use never, or a list of success,delay,failure)");
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (n.never && (n.success || n.failure || n.delay))
    return fail(ErrorClass::permanent, "-N: never cannot be combined with other keywords");
  return n;
}

std::string strip_angles(std::string s) {
  std::string_view v = trim(s);
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
  return std::string(v);
}

struct Header {
  std::string name;
  std::string raw;  // the whole field with its continuation lines and CRLFs
};

// Splits CRLF content into header fields and the body (which keeps its leading CRLF).
void split_message(const std::string& content, std::vector<Header>& headers, std::string& body) {
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find("\r\n", pos);
    if (end == std::string::npos) end = content.size();
    const std::string_view line(content.data() + pos, end - pos);
    if (line.empty()) break;  // the blank line: body follows
    const size_t next = std::min(end + 2, content.size());
    if ((line.front() == ' ' || line.front() == '\t') && !headers.empty()) {
      headers.back().raw.append(content, pos, next - pos);
    } else if (const size_t colon = line.find(':'); colon != std::string_view::npos &&
                                                    line.substr(0, colon).find(' ') == std::string_view::npos) {
      headers.push_back({std::string(line.substr(0, colon)), content.substr(pos, next - pos)});
    } else {
      break;  // not a header: everything from here is body (RFC 5322 §2.1 tolerance)
    }
    pos = next;
  }
  body = content.substr(pos);
}

std::string header_value(const Header& h) {
  std::string v = h.raw.substr(h.name.size() + 1);
  std::string out;
  for (char c : v)
    if (c != '\r' && c != '\n') out += c;
  return std::string(trim(out));
}

}  // namespace

std::vector<std::string> parse_address_list(std::string_view value) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  int comment = 0;
  bool in_angle = false;
  std::string angle;
  bool had_angle = false;
  auto flush = [&] {
    std::string addr = had_angle ? angle : std::string(trim(current));
    addr = std::string(trim(addr));
    if (!addr.empty() && addr.find('@') != std::string::npos) out.push_back(addr);
    else if (!addr.empty() && addr.find(' ') == std::string::npos && !had_angle) out.push_back(addr);  // local name
    current.clear();
    angle.clear();
    had_angle = false;
  };
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted) {
      if (c == '\\' && i + 1 < value.size()) ++i;
      else if (c == '"') quoted = false;
      continue;  // display names are not addresses
    }
    if (comment > 0) {
      if (c == '(') ++comment;
      else if (c == ')') --comment;
      continue;
    }
    if (in_angle) {
      if (c == '>') in_angle = false;
      else angle += c;
      continue;
    }
    switch (c) {
      case '"': quoted = true; break;
      case '(': comment = 1; break;
      case '<':
        in_angle = true;
        had_angle = true;
        angle.clear();
        break;
      case ',':
      case ';': flush(); break;
      case ':': current.clear(); break;  // "Group:" — what came before is the group's name
      default: current += c;
    }
  }
  flush();
  return out;
}

Result<SendmailArgs> parse_sendmail_args(const std::vector<std::string>& args) {
  SendmailArgs a;
  size_t i = 0;
  // The value of a flag: the rest of this argument, else the next one.
  auto value = [&](const std::string& arg, size_t at, const char* flag) -> Result<std::string> {
    if (at < arg.size()) return arg.substr(at);
    if (i + 1 < args.size()) return args[++i];
    return fail(ErrorClass::permanent, std::string("option ") + flag + " needs a value");
  };
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    // Flags may be bundled ("-ti"); a flag with a value takes the rest of the argument.
    for (size_t at = 1; at < arg.size(); ++at) {
      const char f = arg[at];
      bool consumed_rest = true;
      switch (f) {
        case 't': a.recipients_from_headers = true; consumed_rest = false; break;
        case 'i': a.ignore_dots = true; consumed_rest = false; break;
        case 'v': case 'm': case 'n': case 'G': case 'U': case 'x': case 'c': case 'I':
          consumed_rest = false;  // accepted and ignored (Postfix's policy)
          break;
        case 'f':
        case 'r': {
          auto v = value(arg, at + 1, f == 'f' ? "-f" : "-r");
          if (!v) return fail(v.error());
          a.sender = strip_angles(*v);
          a.sender_given = true;
          break;
        }
        case 'F': {
          auto v = value(arg, at + 1, "-F");
          if (!v) return fail(v.error());
          a.full_name = *v;
          break;
        }
        case 'N': {
          auto v = value(arg, at + 1, "-N");
          if (!v) return fail(v.error());
          auto n = parse_notify(*v);
          if (!n) return fail(n.error());
          a.notify = *n;
          break;
        }
        case 'R': {
          auto v = value(arg, at + 1, "-R");
          if (!v) return fail(v.error());
          if (iequals(*v, "full")) a.ret = smtp::DsnRet::full;
          else if (iequals(*v, "hdrs") || iequals(*v, "headers")) a.ret = smtp::DsnRet::headers;
          else return fail(ErrorClass::permanent, "-R: use 'full' or 'hdrs', not '" + *v + "'");
          break;
        }
        case 'V': {
          auto v = value(arg, at + 1, "-V");
          if (!v) return fail(v.error());
          a.envid = *v;
          break;
        }
        case 'C': {
          auto v = value(arg, at + 1, "-C");
          if (!v) return fail(v.error());
          a.config_file = *v;
          break;
        }
        case 'B': case 'h': case 'L': case 'O': case 'X': case 'e': case 'p': {
          auto v = value(arg, at + 1, std::string{'-', f}.c_str());  // accepted and ignored
          if (!v) return fail(v.error());
          break;
        }
        case 'A':  // -Am, -Ac: ignored
          break;
        case 'o':  // -oi means -i; every other -oX is ignored (-om, -o7, -o8, -oee, ...)
          if (at + 1 < arg.size() && arg[at + 1] == 'i' && at + 2 == arg.size()) a.ignore_dots = true;
          break;
        case 'b': {
          const std::string mode = arg.substr(at + 1);
          if (mode == "m") a.mode = SendmailMode::deliver;
          else if (mode == "s") a.mode = SendmailMode::smtp_stdio;
          else if (mode == "p") a.mode = SendmailMode::print_queue;
          else if (mode == "i") a.mode = SendmailMode::rebuild_aliases;
          else if (mode == "d" || mode == "D" || mode == "l")
            return fail(ErrorClass::permanent, "-b" + mode + ": sendmail does not start the daemon; run sluiced (or systemctl start sluiced)");
          else return fail(ErrorClass::permanent, "-b" + mode + " is not supported (use -bm, -bs, -bp or -bi)");
          break;
        }
        case 'q': {
          const std::string rest = arg.substr(at + 1);
          if (rest.empty()) {
            a.mode = SendmailMode::flush_queue;
          } else if (rest[0] == 'I') {
            auto v = value(arg, at + 2, "-qI");
            if (!v) return fail(v.error());
            a.mode = SendmailMode::flush_queue;
            a.flush_id = *v;
          } else if (rest[0] == 'R') {
            auto v = value(arg, at + 2, "-qR");
            if (!v) return fail(v.error());
            a.mode = SendmailMode::flush_queue;
            a.flush_site = *v;
          } else if (std::isdigit(static_cast<unsigned char>(rest[0]))) {
            // -q30m: a queue run interval; Postfix ignores it, sluiced schedules its own retries.
          } else {
            return fail(ErrorClass::permanent, "-q" + rest + " is not supported (use -q, -qI<id> or -qR<site>)");
          }
          break;
        }
        default:
          return fail(ErrorClass::permanent, std::string("unknown option -") + f);
      }
      if (consumed_rest) break;
    }
  }
  for (; i < args.size(); ++i) {
    // "a@x, b@y" in one argument is common in scripts.
    for (const std::string& r : parse_address_list(args[i])) a.recipients.push_back(r);
  }
  return a;
}

Result<PreparedMessage> prepare_message(const SendmailArgs& args, std::string_view input, const SubmitterInfo& who,
                                        SystemTime now) {
  // Lines to CRLF; without -i a line with a lone "." ends the message.
  std::string content;
  content.reserve(input.size() + input.size() / 32);
  bool first_line = true;
  while (!input.empty()) {
    size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!args.ignore_dots && line == ".") break;
    // An mbox "From " line before the header is dropped, as Postfix's sendmail does.
    if (first_line && line.starts_with("From ")) {
      first_line = false;
      continue;
    }
    first_line = false;
    content.append(line);
    content += "\r\n";
  }

  std::vector<Header> headers;
  std::string body;
  split_message(content, headers, body);

  PreparedMessage m;
  smtp::Envelope& env = m.envelope;
  env.mail_from = args.sender_given ? args.sender : who.login + "@" + who.hostname;
  env.ret = args.ret;
  env.envid = args.envid;

  std::vector<std::string> recipients = args.recipients;
  bool have_from = false, have_date = false, have_message_id = false;
  std::string rebuilt;
  for (const Header& h : headers) {
    if (args.recipients_from_headers && (iequals(h.name, "to") || iequals(h.name, "cc") || iequals(h.name, "bcc"))) {
      for (const std::string& r : parse_address_list(header_value(h))) recipients.push_back(r);
    }
    if (iequals(h.name, "from")) have_from = true;
    if (iequals(h.name, "date")) have_date = true;
    if (iequals(h.name, "message-id")) have_message_id = true;
    if (iequals(h.name, "bcc")) continue;  // Bcc never travels (RFC 5322 §3.6.3)
    rebuilt += h.raw;
  }
  // One copy per address, in the order given.
  for (const std::string& r : recipients) {
    if (std::any_of(env.recipients.begin(), env.recipients.end(),
                    [&](const smtp::Recipient& x) { return iequals(x.address, r); }))
      continue;
    smtp::Recipient rcpt;
    rcpt.address = r.find('@') == std::string::npos ? r + "@" + who.hostname : r;
    rcpt.notify = args.notify;
    env.recipients.push_back(std::move(rcpt));
  }
  if (env.recipients.empty()) {
    return fail(ErrorClass::permanent, args.recipients_from_headers
                                           ? "no recipients: none on the command line and no To, Cc or Bcc header"
                                           : "no recipients given (name them, or use -t to take them from the header)");
  }
  std::string added;
  if (!have_from) {
    const std::string from = env.mail_from.empty() ? "MAILER-DAEMON@" + who.hostname : env.mail_from;
    added += args.full_name.empty() ? "From: " + from + "\r\n" : "From: \"" + args.full_name + "\" <" + from + ">\r\n";
  }
  if (!have_date) added += "Date: " + smtp::rfc5322_date(now) + "\r\n";
  if (!have_message_id) {
    std::random_device random;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    added += "Message-ID: <" + std::to_string(us) + "." + std::to_string(random()) + "@" + who.hostname + ">\r\n";
  }
  m.content = added + rebuilt + body;
  return m;
}

namespace {

SubmitterInfo submitter(const std::string& hostname) {
  SubmitterInfo who;
  who.uid = static_cast<uint32_t>(::getuid());
  who.hostname = hostname;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) who.login = pw->pw_name;
  else who.login = "uid" + std::to_string(who.uid);
  return who;
}

// -bs: the client speaks SMTP with the local connector through us, byte for byte.
int relay_stdio(const LocalEndpoint& ep, CliContext& context) {
  std::string error;
  const int fd = connect_local(ep, 300, &error);
  if (fd < 0) {
    const std::string reply = "421 4.3.0 sluiced is not running on " + ep.host + ":" + std::to_string(ep.port) +
                              " (" + error + "); try again later\r\n";
    context.out << reply << std::flush;
    return kExitTempFail;
  }
  pollfd fds[2] = {{0, POLLIN, 0}, {fd, POLLIN, 0}};
  char buf[16384];
  bool stdin_open = true;
  while (true) {
    fds[0].fd = stdin_open ? 0 : -1;
    if (::poll(fds, 2, 300'000) <= 0) break;
    if (stdin_open && (fds[0].revents & (POLLIN | POLLHUP))) {
      const ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) {
        stdin_open = false;
        ::shutdown(fd, SHUT_WR);
      } else if (::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) {
        break;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      context.out.write(buf, n);
      context.out.flush();
    }
  }
  ::close(fd);
  return kExitOk;
}

int flush_queue(const SendmailArgs& args, CliContext& context) {
  ApiReply failure;
  auto client = AdminClient::open(context.config_path, failure);
  if (!client) return report_failure(failure, context), context.exit_code;
  if (!args.flush_id.empty()) {
    report_failure(client->post("/api/v1/messages/" + url_encode(args.flush_id) + "/retry"), context);
    return context.exit_code;
  }
  if (!args.flush_site.empty()) {
    report_failure(client->post("/api/v1/queues/" + url_encode(args.flush_site) + "/retry"), context);
    return context.exit_code;
  }
  const ApiReply queues = client->get("/api/v1/queues");
  if (!report_failure(queues, context)) return context.exit_code;
  const nlohmann::json& list = queues.body.is_object() ? field(queues.body, "queues") : queues.body;
  if (!list.is_array()) return kExitOk;
  for (const nlohmann::json& q : list) {
    std::string name = text_of(field(q, "identity"));
    if (name.empty()) name = text_of(field(q, "name"));
    if (name.empty()) continue;
    const ApiReply r = client->post("/api/v1/queues/" + url_encode(name) + "/retry");
    if (!r.ok() && r.exit_code != kExitUsage && r.exit_code != kExitTempFail) report_failure(r, context);
  }
  return context.exit_code;
}

}  // namespace

int run_sendmail(const std::vector<std::string>& raw_args, std::istream& in, CliContext& context) {
  auto parsed = parse_sendmail_args(raw_args);
  if (!parsed) {
    context.err << "sendmail: " << parsed.error().context << "\n"
                << "usage: sendmail [-t] [-i] [-f sender] [-F name] [-N dsn] [-R full|hdrs] [-V envid] [recipient ...]\n"
                   "       sendmail -bs | -bp | -bi | -q[I<id>|R<site>]\n";
    return context.exit_code = kExitUsage;
  }
  SendmailArgs& args = *parsed;
  if (!args.config_file.empty()) context.config_path = args.config_file;

  switch (args.mode) {
    case SendmailMode::print_queue:
      run_mailq(context);
      return context.exit_code;
    case SendmailMode::flush_queue:
      return context.exit_code = flush_queue(args, context);
    case SendmailMode::rebuild_aliases: {
      // sluiced reads the aliases file at start and on reload; there is no separate database.
      ApiReply failure;
      auto client = AdminClient::open(context.config_path, failure);
      if (!client) return report_failure(failure, context), context.exit_code;
      if (report_failure(client->post("/api/v1/reload"), context))
        context.err << "sendmail: sluiced reloaded its configuration and aliases\n";
      return context.exit_code;
    }
    case SendmailMode::deliver:
    case SendmailMode::smtp_stdio:
      break;
  }

  const auto loaded = config::load_file(context.config_path);
  if (!loaded.ok()) {
    context.err << "sendmail: cannot use the configuration " << context.config_path;
    if (!loaded.errors.empty()) context.err << ": " << loaded.errors.front().message;
    context.err << " (give it with -C FILE or $SLUICE_CONFIG; `sluice config check` lists every error)\n";
    return context.exit_code = kExitConfig;
  }
  const config::Config& cfg = *loaded.config;
  std::string why;
  const auto endpoint = find_local_endpoint(cfg, &why);

  if (args.mode == SendmailMode::smtp_stdio) {
    if (!endpoint) {
      context.out << "421 4.3.5 " << why << "\r\n" << std::flush;
      return context.exit_code = kExitConfig;
    }
    return context.exit_code = relay_stdio(*endpoint, context);
  }

  const std::string input{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const SubmitterInfo who = submitter(cfg.server.hostname);
  const SystemClock clock;
  auto prepared = prepare_message(args, input, who, clock.now());
  if (!prepared) {
    context.err << "sendmail: " << prepared.error().context << "\n";
    return context.exit_code = kExitDataErr;
  }

  std::string reason;
  if (endpoint) {
    const SubmitResult sent = submit_local(*endpoint, prepared->envelope, prepared->content, cfg.server.hostname);
    if (sent.verdict == SubmitVerdict::queued) {
      if (!sent.detail.starts_with("2")) context.err << "sendmail: " << sent.detail << "\n";  // partial refusals
      return context.exit_code = kExitOk;
    }
    if (sent.verdict == SubmitVerdict::refused) {
      context.err << "sendmail: sluiced refused the message: " << sent.detail << "\n";
      return context.exit_code = sent.refused_recipient ? kExitNoUserCode : kExitUnavailable;
    }
    reason = sent.detail;
  } else {
    reason = why;
  }

  // sluiced cannot take it now: the maildrop keeps it until sluiced starts (cron mail is never lost).
  queue::MaildropEntry entry;
  entry.envelope = std::move(prepared->envelope);
  entry.content = std::move(prepared->content);
  entry.submitter_uid = who.uid;
  entry.submitter_name = who.login;
  entry.submitted_at_us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock.now().time_since_epoch()).count();
  const std::string dir = cfg.server.data_dir + "/maildrop";
  auto written = queue::write_maildrop(dir, entry);
  if (!written) {
    context.err << "sendmail: message not sent: " << reason << "; and it cannot be kept for later: "
                << written.error().context << "\n";
    return context.exit_code = kExitTempFail;
  }
  context.err << "sendmail: " << reason << "; the message waits in " << *written << " until sluiced starts\n";
  return context.exit_code = kExitOk;
}

void add_sendmail_command(CLI::App& app, CliContext& context) {
  CLI::App* cmd = app.add_subcommand("sendmail", "Submit a message as sendmail(1) does: sluice sendmail [-t] [-i] [-f ADDR] [RCPT...]");
  cmd->set_help_flag();  // sendmail -h is a hop count, not help
  cmd->prefix_command();  // everything after `sendmail` is sendmail's own syntax
  cmd->callback([cmd, &context] {
    std::vector<std::string> rest = cmd->remaining();
    run_sendmail(rest, std::cin, context);
  });
}

}  // namespace sluice::cli
