// diagnose/knowledge_base.cpp: see knowledge_base.hpp. The knowledge is data
// (knowledge.txt, included below as one raw string); this file only reads it and picks the
// most specific entry for an input.
#include "diagnose/knowledge_base.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace sluice::diagnose {
namespace {

// The data file, compiled in. Its first and last lines are the raw-string delimiters.
constexpr std::string_view kBuiltinData =
#include "diagnose/knowledge.txt"
    ;

struct CategoryName {
  Category category;
  const char* key;
  const char* words;
};

constexpr CategoryName kCategories[] = {
    {Category::success, "success", "success"},
    {Category::invalid_recipient, "invalid_recipient", "invalid recipient"},
    {Category::bad_domain, "bad_domain", "bad domain"},
    {Category::mailbox, "mailbox", "mailbox unavailable"},
    {Category::size, "size", "message too large"},
    {Category::dns, "dns", "DNS failure"},
    {Category::network, "network", "network"},
    {Category::tls, "tls", "TLS"},
    {Category::credentials, "credentials", "authentication (SMTP AUTH)"},
    {Category::relay, "relay", "relaying denied"},
    {Category::sender_authentication, "sender_authentication", "sender authentication (SPF/DKIM/DMARC)"},
    {Category::reputation, "reputation", "blocked by reputation"},
    {Category::blocklist, "blocklist", "blocklisted"},
    {Category::rate_limited, "rate_limited", "rate limited"},
    {Category::greylisting, "greylisting", "greylisting"},
    {Category::policy, "policy", "policy"},
    {Category::content, "content", "content"},
    {Category::protocol, "protocol", "protocol error"},
    {Category::remote_error, "remote_error", "remote server error"},
    {Category::configuration, "configuration", "configuration"},
    {Category::expired, "expired", "expired"},
    {Category::unknown, "unknown", "unknown"},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::vector<std::string> words_of(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// A three-digit reply code at s[i] followed by a space, '-' or the end.
bool code_at(std::string_view s, size_t i) {
  if (i + 3 > s.size()) return false;
  if (!(s[i] >= '2' && s[i] <= '5') || !is_digit(s[i + 1]) || !is_digit(s[i + 2])) return false;
  if (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.')) return false;
  return i + 3 == s.size() || s[i + 3] == ' ' || s[i + 3] == '-';
}

// Length of an RFC 3463 code ("5.7.26") at s[i] standing on its own (so neither an IP
// address "4.16.55.1" nor part of a number), or 0.
size_t status_at(std::string_view s, size_t i) {
  if (i >= s.size() || !(s[i] == '2' || s[i] == '4' || s[i] == '5')) return 0;
  if (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.')) return 0;
  size_t j = i + 1;
  for (int part = 0; part < 2; ++part) {
    if (j >= s.size() || s[j] != '.') return 0;
    ++j;
    size_t digits = 0;
    while (j < s.size() && is_digit(s[j]) && digits < 4) ++j, ++digits;
    if (digits == 0 || digits > 3) return 0;
  }
  if (j < s.size() && (is_digit(s[j]) || s[j] == '.')) {
    // "5.7.1." at the end of a sentence is still a code; "4.16.55.1" is not.
    if (s[j] == '.' && (j + 1 == s.size() || !is_digit(s[j + 1]))) return j - i;
    return 0;
  }
  return j - i;
}

// One line: CR/LF and tabs become spaces, runs of spaces collapse.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

struct Parsed {
  int code = 0;
  std::string status;
  std::string text;  // without code and status; continuation prefixes removed
};

// Reads "550-5.7.26 a\r\n550 5.7.26 b", "host x said: 550 5.1.1 ... (in reply to ...)",
// "Connection refused". The code is the first one that starts the input, a line, or follows
// "said:"; failing those, the first code followed by an enhanced status anywhere.
Parsed parse_input(std::string_view input) {
  Parsed p;
  // Split in lines; each reply line may repeat "NNN-" and the enhanced code.
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= input.size()) {
    size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    std::string_view l = trim(input.substr(start, end - start));
    if (!l.empty()) lines.push_back(l);
    start = end + 1;
  }
  std::string text;
  for (std::string_view l : lines) {
    size_t at = std::string_view::npos;
    if (code_at(l, 0)) {
      at = 0;
    } else if (p.code == 0) {
      const std::string low = lower(l);
      size_t said = low.find("said:");
      if (said != std::string::npos) {
        size_t k = said + 5;
        while (k < l.size() && l[k] == ' ') ++k;
        if (code_at(l, k)) at = k;
      }
      if (at == std::string_view::npos) {
        for (size_t k = 0; k < l.size(); ++k) {
          if (code_at(l, k) && k + 4 < l.size() && status_at(l, k + 4) > 0) {
            at = k;
            break;
          }
        }
      }
    }
    std::string_view rest = l;
    if (at != std::string_view::npos) {
      const int code = (l[at] - '0') * 100 + (l[at + 1] - '0') * 10 + (l[at + 2] - '0');
      if (p.code == 0) p.code = code;
      std::string_view before = trim(l.substr(0, at));
      rest = l.substr(std::min(l.size(), at + 4));
      if (size_t n = status_at(rest, 0); n > 0) {
        if (p.status.empty()) p.status = std::string(rest.substr(0, n));
        rest = trim(rest.substr(n));
      }
      if (!before.empty()) {
        if (!text.empty()) text += ' ';
        text += before;
      }
    }
    if (!text.empty()) text += ' ';
    text += rest;
  }
  if (p.status.empty()) {
    // An enhanced code inside the text ("... said: 4.7.1 greylisted", "#5.1.1").
    for (size_t k = 0; k < text.size(); ++k) {
      if (k > 0 && !(text[k - 1] == ' ' || text[k - 1] == '#' || text[k - 1] == '(' || text[k - 1] == '[')) continue;
      if (size_t n = status_at(text, k); n > 0) {
        p.status = text.substr(k, n);
        break;
      }
    }
  }
  p.text = one_line(text);
  return p;
}

bool parse_category(std::string_view key, Category& out) {
  for (const CategoryName& c : kCategories) {
    if (key == c.key) {
      out = c.category;
      return true;
    }
  }
  return false;
}

// How well a code pattern ("550", "5xx") fits; -1 when it does not.
int code_score(std::string_view pattern, int code) {
  if (code == 0) return -1;
  const std::string c = std::to_string(code);
  if (pattern == c) return 30;
  if (pattern.size() == 3 && pattern[0] == c[0] && pattern.substr(1) == "xx") return 10;
  return -1;
}

// Splits "5.7.26" into its three parts.
bool split_status(std::string_view s, std::string_view parts[3]) {
  for (int i = 0; i < 3; ++i) {
    size_t dot = s.find('.');
    if (i < 2 && dot == std::string_view::npos) return false;
    parts[i] = i < 2 ? s.substr(0, dot) : s;
    if (i < 2) s.remove_prefix(dot + 1);
  }
  return true;
}

int number(std::string_view s) {
  int n = 0;
  for (char c : s) {
    if (!is_digit(c)) return -1;
    n = n * 10 + (c - '0');
  }
  return s.empty() ? -1 : n;
}

// How well a status pattern fits: exact detail 300 (250 when the class is "*"), a detail range
// 200, a wildcard detail 100; -1 when it does not.
int status_score(std::string_view pattern, std::string_view status) {
  if (status.empty()) return -1;
  std::string_view p[3], s[3];
  if (!split_status(pattern, p) || !split_status(status, s)) return -1;
  int score = 0;
  if (p[0] != "*" && p[0] != s[0]) return -1;
  if (p[1] != "*" && p[1] != s[1]) return -1;
  if (p[2] == "*") {
    score = p[1] == "*" ? 50 : 100;
  } else if (size_t dash = p[2].find('-'); dash != std::string_view::npos) {
    const int lo = number(p[2].substr(0, dash)), hi = number(p[2].substr(dash + 1)), d = number(s[2]);
    if (d < lo || d > hi) return -1;
    score = 200;
  } else {
    if (p[2] != s[2]) return -1;
    score = 300;
  }
  if (p[0] == "*") score -= 50;
  return score;
}

// The entry's fit for the input, or -1. Every constraint present must hold. Ranking: an
// entry of a named receiver (its own texts or its own status codes) first; then a text match
// (the receiver's words identify a case better than codes, which receivers reuse); then the
// enhanced status, exact before a range before a wildcard; then the reply code. A code
// constraint on a text entry only filters. Ties go to the earlier entry in the file.
int score(const Entry& e, const Parsed& p, const std::string& haystack) {
  int total = 0;
  if (!e.codes.empty()) {
    int best = -1;
    for (const std::string& c : e.codes) best = std::max(best, code_score(c, p.code));
    if (best < 0) return -1;
    if (e.texts.empty()) total += best;
  } else if (p.code >= 200 && p.code < 400) {
    return -1;  // knowledge without a code is about failures
  }
  if (!e.statuses.empty()) {
    int best = -1;
    for (const std::string& s : e.statuses) best = std::max(best, status_score(s, p.status));
    if (best < 0) return -1;
    total += best;
  }
  if (!e.texts.empty()) {
    bool found = false;
    for (const std::string& t : e.texts) found = found || haystack.find(t) != std::string::npos;
    if (!found) return -1;
    total += 500;
  }
  if (!e.provider.empty()) total += 1500;
  return total;
}

Retry retry_of(const std::string& retry, int code) {
  if (retry == "yes") return Retry::yes;
  if (retry == "no") return Retry::no;
  if (retry == "by-code") {
    if (code >= 400 && code < 500) return Retry::yes;
    if (code >= 500) return Retry::no;
  }
  return Retry::maybe;
}

}  // namespace

const char* to_string(Category c) {
  for (const CategoryName& n : kCategories)
    if (n.category == c) return n.words;
  return "unknown";
}

const char* to_key(Category c) {
  for (const CategoryName& n : kCategories)
    if (n.category == c) return n.key;
  return "unknown";
}

const char* to_string(Retry r) {
  switch (r) {
    case Retry::yes: return "yes";
    case Retry::no: return "no";
    case Retry::maybe: return "maybe";
  }
  return "maybe";
}

Result<KnowledgeBase> KnowledgeBase::parse(std::string_view data) {
  KnowledgeBase kb;
  Entry* current = nullptr;
  std::string* last_value = nullptr;
  size_t line_no = 0;
  auto error = [&line_no](const std::string& what) {
    return fail(ErrorClass::config, "knowledge data line " + std::to_string(line_no) + ": " + what);
  };
  auto finish = [&error](const Entry* e) -> Result<void> {
    if (e == nullptr) return ok();
    if (e->title.empty() || e->meaning.empty() || e->todo.empty() || e->retry.empty())
      return error("entry [" + e->id + "] needs title, meaning, todo and retry");
    return ok();
  };
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    if (end == std::string_view::npos) end = data.size();
    std::string_view line = data.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // The raw-string delimiters of the compiled-in copy, comments, blank lines.
    if (line.starts_with("R\"kb(") || line.starts_with(")kb\"")) continue;
    if (trim(line).empty() || line.front() == '#') continue;
    if (line.starts_with("  ")) {
      if (last_value == nullptr) return error("continuation line without a value before it");
      *last_value += ' ';
      *last_value += trim(line);
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) return error("an entry starts with [id]");
      if (auto r = finish(current); !r) return fail(r.error());
      for (const Entry& e : kb.entries_)
        if (e.id == line.substr(1, line.size() - 2)) return error("duplicate entry [" + e.id + "]");
      kb.entries_.push_back(Entry{});
      current = &kb.entries_.back();
      current->id = std::string(line.substr(1, line.size() - 2));
      last_value = nullptr;
      continue;
    }
    if (current == nullptr) return error("a field before the first [id]");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return error("expected 'key: value'");
    const std::string_view key = trim(line.substr(0, colon));
    const std::string value(trim(line.substr(colon + 1)));
    last_value = nullptr;
    if (key == "code") {
      for (std::string& w : words_of(value)) {
        if (w.size() != 3 || !(w[0] >= '2' && w[0] <= '5') ||
            !((is_digit(w[1]) && is_digit(w[2])) || (w[1] == 'x' && w[2] == 'x')))
          return error("bad code '" + w + "' (550 or 5xx)");
        current->codes.push_back(std::move(w));
      }
    } else if (key == "status") {
      for (std::string& w : words_of(value)) {
        std::string_view parts[3];
        if (!split_status(w, parts)) return error("bad status '" + w + "' (5.7.26, 5.7.*, 5.7.606-649)");
        current->statuses.push_back(std::move(w));
      }
    } else if (key == "text") {
      if (value.empty()) return error("empty text");
      current->texts.push_back(lower(value));
    } else if (key == "provider") {
      current->provider = value;
    } else if (key == "category") {
      if (!parse_category(value, current->category)) return error("unknown category '" + value + "'");
    } else if (key == "retry") {
      if (value != "yes" && value != "no" && value != "maybe" && value != "by-code")
        return error("retry is yes, no, maybe or by-code");
      current->retry = value;
    } else if (key == "title") {
      current->title = value;
      last_value = &current->title;
    } else if (key == "meaning") {
      current->meaning = value;
      last_value = &current->meaning;
    } else if (key == "cause") {
      current->causes.push_back(value);
      last_value = &current->causes.back();
    } else if (key == "todo") {
      current->todo = value;
      last_value = &current->todo;
    } else {
      return error("unknown key '" + std::string(key) + "'");
    }
  }
  if (auto r = finish(current); !r) return fail(r.error());
  if (kb.entries_.empty()) return error("no entries");
  return kb;
}

const KnowledgeBase& KnowledgeBase::builtin() {
  // Immutable after the first call (thread-safe static initialisation). Broken data is a
  // build defect that the unit tests catch; an empty base still answers "unknown".
  static const KnowledgeBase kb = [] {
    auto parsed = parse(kBuiltinData);
    return parsed ? std::move(*parsed) : KnowledgeBase{};
  }();
  return kb;
}

Explanation KnowledgeBase::explain(std::string_view reply_or_error) const {
  Explanation e;
  const Parsed p = parse_input(reply_or_error);
  // A multi-line reply is shown once, without the per-line prefixes; one line as given.
  const std::string_view t = trim(reply_or_error);
  if (t.find('\n') != std::string_view::npos && p.code != 0) {
    e.input = std::to_string(p.code) + (p.status.empty() ? "" : " " + p.status) + " " + p.text;
  } else {
    e.input = one_line(reply_or_error);
  }
  e.code = p.code;
  e.status = p.status;
  e.text = p.text;
  // Texts are matched against the reply's words with the per-line "550-5.7.26" prefixes
  // removed, so a phrase broken over two reply lines still matches.
  const std::string haystack = lower(p.text);

  const Entry* best = nullptr;
  int best_score = -1;
  for (const Entry& entry : entries_) {
    const int s = score(entry, p, haystack);
    if (s > best_score) {  // ties: the first in the file
      best_score = s;
      best = &entry;
    }
  }
  if (best == nullptr) {
    e.title = "Not in the knowledge base";
    e.meaning = "sluice has no knowledge of this reply.";
    e.todo = "Read the server's own words; search for the exact text together with the receiving domain.";
    return e;
  }
  e.rule = best->id;
  e.provider = best->provider;
  e.category = best->category;
  e.retry = retry_of(best->retry, p.code);
  e.title = best->title;
  e.meaning = best->meaning;
  e.causes = best->causes;
  e.todo = best->todo;
  return e;
}

Explanation explain(std::string_view reply_or_error) { return KnowledgeBase::builtin().explain(reply_or_error); }

Explanation explain(const Reply& reply) {
  // The wire form keeps every line; explain() reads multi-line replies.
  std::string input;
  for (const std::string& l : reply.lines()) {
    if (!input.empty()) input += '\n';
    input += std::to_string(reply.code());
    input += ' ';
    if (!reply.enhanced().empty()) input += reply.enhanced() + " ";
    input += l;
  }
  if (input.empty()) input = std::to_string(reply.code()) + (reply.enhanced().empty() ? "" : " " + reply.enhanced());
  return explain(std::string_view(input));
}

namespace {
std::string advice_line(const Explanation& e) {
  std::string out = std::string(to_string(e.category)) + ": " + e.todo;
  out += e.retry == Retry::yes ? " (retrying helps)" : e.retry == Retry::no ? " (retrying alone will not help)" : "";
  return out;
}
}  // namespace

std::string one_line_advice(const Reply& reply) { return advice_line(explain(reply)); }
std::string one_line_advice(std::string_view reply_or_error) { return advice_line(explain(reply_or_error)); }

bool asks_to_slow_down(const Explanation& e) {
  const bool temporary = e.code == 0 || (e.code >= 400 && e.code < 500);
  if (!temporary) return false;
  if (e.rule == "gmail-receiving-rate" || e.rule == "too-many-recipients-text" || e.rule == "status-x-5-3")
    return false;  // one mailbox's or one transaction's limit, not the destination's
  return e.category == Category::rate_limited || e.category == Category::reputation;
}

namespace {
// Appends `text` wrapped at kWidth columns; continuation lines start with `indent` spaces.
// The first line continues whatever `out` already holds (`used` columns).
constexpr size_t kWidth = 78;
void append_wrapped(std::string& out, std::string_view text, size_t used, size_t indent) {
  size_t col = used;
  bool first = true;
  for (const std::string& w : words_of(text)) {
    if (!first && col + 1 + w.size() > kWidth) {
      out += '\n';
      out.append(indent, ' ');
      col = indent;
    } else if (!first) {
      out += ' ';
      ++col;
    }
    out += w;
    col += w.size();
    first = false;
  }
  out += '\n';
}
}  // namespace

std::string format_explanation(const Explanation& e) {
  constexpr size_t kLabel = 14;
  std::string out;
  out += e.input.empty() ? std::string("(empty)") : e.input;
  out += "\n\n";
  auto field = [&out](std::string_view name, std::string_view value) {
    out += name;
    out.append(kLabel - name.size(), ' ');
    append_wrapped(out, value, kLabel, kLabel);
  };
  field("What:", e.title);
  field("Category:", to_string(e.category));
  if (!e.provider.empty()) field("Receiver:", e.provider);
  std::string codes;
  if (e.code != 0) codes = std::to_string(e.code);
  if (!e.status.empty()) codes += (codes.empty() ? "" : " ") + e.status;
  if (!codes.empty()) field("Codes:", codes);
  field("Meaning:", e.meaning);
  if (!e.causes.empty()) {
    out += "Likely causes:\n";
    for (const std::string& c : e.causes) {
      out += "  - ";
      append_wrapped(out, c, 4, 4);
    }
  }
  field("What to do:", e.todo);
  field("Retrying:", e.retry == Retry::yes   ? "helps: the queue's retries will likely get it through"
                     : e.retry == Retry::no ? "will not help until the cause is fixed"
                                            : "may help, depending on the cause");
  if (!e.rule.empty()) field("Rule:", e.rule);
  return out;
}

}  // namespace sluice::diagnose
