// auth/dkim_canon.cpp: see dkim_canon.hpp.
#include "auth/dkim_canon.hpp"

#include <cctype>

namespace sluice::auth {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// The lines of `text`, each without its line end (CRLF or LF); `ended` says whether the last
// line had one.
std::vector<std::string_view> lines_of(std::string_view text, bool& ended) {
  std::vector<std::string_view> lines;
  ended = true;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(pos));
      ended = false;
      break;
    }
    size_t end = nl;
    if (end > pos && text[end - 1] == '\r') --end;
    lines.push_back(text.substr(pos, end - pos));
    pos = nl + 1;
  }
  return lines;
}

// Collapses runs of WSP into one SP and drops WSP at the end (§3.4.4 a and b).
std::string relax_line(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  bool in_wsp = false;
  for (char c : line) {
    if (is_wsp(c)) {
      in_wsp = true;
      continue;
    }
    if (in_wsp) out += ' ';  // leading WSP too becomes one SP (only trailing WSP goes)
    in_wsp = false;
    out += c;
  }
  return out;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

DkimMessage split_message(std::string_view message) {
  DkimMessage m;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t next = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, (nl == std::string_view::npos ? message.size() : nl) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {  // the empty line: the body follows
      pos = next;
      bool ended = true;
      for (std::string_view l : lines_of(message.substr(pos), ended)) {
        m.body.append(l);
        m.body += "\r\n";
      }
      // A last line without its line end stays without one: simple body canonicalization
      // adds it, and this keeps the body byte-exact for everything else.
      if (!ended && !m.body.empty()) m.body.resize(m.body.size() - 2);
      return m;
    }
    if (is_wsp(line.front()) && !m.headers.empty()) {  // continuation of a folded field
      m.headers.back().raw.append(line);
      m.headers.back().raw += "\r\n";
    } else {
      DkimHeaderField f;
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
        f.name = std::string(name);
      }
      f.raw = std::string(line) + "\r\n";
      m.headers.push_back(std::move(f));
    }
    pos = next;
  }
  return m;
}

std::string canon_header(DkimCanon c, const DkimHeaderField& field) {
  if (c == DkimCanon::simple) return field.raw;
  // relaxed (§3.4.2): lower-case name, unfold, collapse WSP, no WSP around the colon or at the end.
  std::string lowered;
  for (char ch : field.name) lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (!lowered.empty() && is_wsp(lowered.back())) lowered.pop_back();
  size_t colon = field.raw.find(':');
  std::string value = colon == std::string::npos ? std::string() : field.raw.substr(colon + 1);
  std::string unfolded;
  for (char ch : value) {
    if (ch == '\r' || ch == '\n') continue;
    unfolded += ch;
  }
  std::string relaxed = relax_line(unfolded);
  if (!relaxed.empty() && relaxed.front() == ' ') relaxed.erase(0, 1);
  return lowered + ":" + relaxed + "\r\n";
}

std::string canon_body(DkimCanon c, std::string_view body, std::optional<size_t> length) {
  bool ended = true;
  std::vector<std::string_view> lines = lines_of(body, ended);
  std::vector<std::string> out_lines;
  out_lines.reserve(lines.size());
  for (std::string_view l : lines) out_lines.push_back(c == DkimCanon::relaxed ? relax_line(l) : std::string(l));
  // Empty lines at the end are ignored (§3.4.3, §3.4.4 c).
  while (!out_lines.empty() && out_lines.back().empty()) out_lines.pop_back();
  std::string out;
  for (const std::string& l : out_lines) {
    out += l;
    out += "\r\n";
  }
  // simple: an empty body is one CRLF (§3.4.3); relaxed: it stays empty (§3.4.4, erratum 1384).
  if (out.empty() && c == DkimCanon::simple) out = "\r\n";
  if (length && *length < out.size()) out.resize(*length);
  return out;
}

std::vector<const DkimHeaderField*> select_headers(const DkimMessage& message,
                                                   const std::vector<std::string>& names) {
  std::vector<bool> used(message.headers.size(), false);
  std::vector<const DkimHeaderField*> out;
  for (const std::string& name : names) {
    for (size_t i = message.headers.size(); i-- > 0;) {
      if (!used[i] && iequals(message.headers[i].name, name)) {
        used[i] = true;
        out.push_back(&message.headers[i]);
        break;
      }
    }
  }
  return out;
}

}  // namespace sluice::auth
