// routing/aliases.cpp: the aliases(5) parser.
// Owns: logical lines (a line starting with whitespace continues the previous entry), comments
// (first non-blank character '#'), the "name: value, value" split with double quotes
// protecting ',' and ':', ":include:" files, and the refusal of "|command" and "/file"
// targets — sluice runs no programs and writes no files on behalf of mail, so an admin
// migrating an old aliases file gets every such line listed instead of silently lost mail.
// Not: expansion (local_directory.cpp).
#include "routing/aliases.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "routing/ascii.hpp"

namespace sluice::routing {
namespace {

// Collects every problem of one parse, so one run of `sluice config check` shows them all.
struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& source, int line, const std::string& message) {
    lines.push_back(source + ":" + std::to_string(line) + ": " + message);
  }
  std::string joined() const {
    std::string out;
    for (const auto& l : lines) {
      if (!out.empty()) out += '\n';
      out += l;
    }
    return out;
  }
};

// Reads a whole file; errors in words ("cannot read X: No such file or directory").
Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return fail(ErrorClass::config, "cannot read " + path.string() + ": " + std::strerror(err));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(ErrorClass::config, "cannot read " + path.string());
  return ss.str();
}

// Splits at `sep` outside double quotes (a backslash inside quotes escapes the next byte).
std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted && c == '\\' && i + 1 < s.size()) {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

bool has_unquoted_space(std::string_view s) {
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (quoted && s[i] == '\\') { ++i; continue; }
    if (s[i] == '"') quoted = !quoted;
    else if (!quoted && is_space(s[i])) return true;
  }
  return false;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

class Parser {
 public:
  Parser(std::map<std::string, Aliases::Entry>& entries, Problems& problems)
      : entries_(entries), problems_(problems) {}

  // Splits `text` into logical entries and parses each.
  void parse_file(std::string_view text, const std::string& source) {
    std::string entry;
    int entry_line = 0;
    int line_no = 0;
    auto flush = [&] {
      if (entry_line != 0) parse_entry(entry, source, entry_line);
      entry.clear();
      entry_line = 0;
    };
    for (std::string_view line : lines_of(text)) {
      ++line_no;
      const std::string_view body = trim(line);
      if (body.empty() || body.front() == '#') continue;  // aliases(5): ignored, do not end an entry
      if (is_space(line.front())) {
        if (entry_line == 0) {
          problems_.add(source, line_no, "continuation line (starts with whitespace) without an alias before it");
          continue;
        }
        entry += ' ';
        entry += body;
        continue;
      }
      flush();
      entry.assign(body);
      entry_line = line_no;
    }
    flush();
  }

 private:
  static std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      out.push_back(line);
      start = end + 1;
    }
    return out;
  }

  void parse_entry(std::string_view entry, const std::string& source, int line) {
    // The name: a quoted string, or everything up to the first ':'.
    std::string name;
    std::string_view rest;
    if (entry.front() == '"') {
      size_t i = 1;
      bool closed = false;
      for (; i < entry.size(); ++i) {
        if (entry[i] == '\\' && i + 1 < entry.size()) { name += entry[++i]; continue; }
        if (entry[i] == '"') { closed = true; ++i; break; }
        name += entry[i];
      }
      if (!closed) { problems_.add(source, line, "unterminated quote in alias name"); return; }
      rest = trim(entry.substr(i));
      if (rest.empty() || rest.front() != ':') {
        problems_.add(source, line, "missing ':' after alias name \"" + name + "\"");
        return;
      }
      rest.remove_prefix(1);
    } else {
      const size_t colon = entry.find(':');
      if (colon == std::string_view::npos) {
        problems_.add(source, line, "missing ':' after alias name (expected \"name: address, ...\")");
        return;
      }
      const std::string_view raw = trim(entry.substr(0, colon));
      if (raw.empty()) { problems_.add(source, line, "empty alias name"); return; }
      if (raw.find('@') != std::string_view::npos) {
        problems_.add(source, line, "alias name '" + std::string(raw) +
                                        "' must be a local part without @domain (aliases apply to every accepted domain)");
        return;
      }
      for (char c : raw) {
        if (is_space(c) || c == '#' || c == '"') {
          problems_.add(source, line, "alias name '" + std::string(raw) + "' needs double quotes");
          return;
        }
      }
      name.assign(raw);
      rest = entry.substr(colon + 1);
    }
    if (name.empty()) { problems_.add(source, line, "empty alias name"); return; }
    name = ascii_lower(name);

    Aliases::Entry parsed;
    parsed.origin = source + ":" + std::to_string(line);
    const size_t before = problems_.lines.size();
    add_values(rest, name, source, line, 0, parsed.targets);
    if (problems_.lines.size() != before) return;  // already reported
    if (parsed.targets.empty()) {
      problems_.add(source, line, "alias '" + name + "' has no targets");
      return;
    }
    auto [it, inserted] = entries_.emplace(name, std::move(parsed));
    if (!inserted) {
      problems_.add(source, line, "duplicate alias '" + name + "' (first defined at " + it->second.origin + ")");
    }
  }

  // Parses a comma-separated list of targets, as found after "name:" or in an include file.
  void add_values(std::string_view list, const std::string& name, const std::string& source, int line,
                  int depth, std::vector<std::string>& out) {
    for (std::string_view item : split_unquoted(list, ',')) {
      item = trim(item);
      if (item.empty()) continue;  // "a, b," — a trailing comma before a continuation line
      add_value(item, name, source, line, depth, out);
    }
  }

  void add_value(std::string_view v, const std::string& name, const std::string& source, int line, int depth,
                 std::vector<std::string>& out) {
    const std::string shown(v);
    const bool quoted_special = v.size() > 1 && v.front() == '"' && (v[1] == '|' || v[1] == '/');
    if (v.front() == '|' || (quoted_special && v[1] == '|')) {
      problems_.add(source, line, "alias '" + name + "': delivery to a command (" + shown +
                                      ") is not supported by sluice; forward to an address instead");
      return;
    }
    if (v.front() == '/' || (quoted_special && v[1] == '/')) {
      problems_.add(source, line, "alias '" + name + "': delivery to a file (" + shown +
                                      ") is not supported by sluice; forward to a mailbox instead");
      return;
    }
    if (starts_with_ci(v, ":include:")) {
      include(trim(v.substr(9)), name, source, line, depth, out);
      return;
    }
    std::string_view address = v;
    if (address.front() == '\\') address.remove_prefix(1);
    if (address.empty() || has_unquoted_space(address)) {
      problems_.add(source, line, "alias '" + name + "': '" + shown + "' is not an address");
      return;
    }
    const AddressParts parts = split_address(address);
    if (parts.local.empty() || (parts.has_domain && parts.domain.empty())) {
      problems_.add(source, line, "alias '" + name + "': '" + shown + "' is not an address");
      return;
    }
    if (v.front() == '\\' && parts.has_domain) {
      problems_.add(source, line, "alias '" + name + "': '" + shown +
                                      "': a backslash target names a local user, without @domain");
      return;
    }
    out.emplace_back(v);
  }

  void include(std::string_view path_text, const std::string& name, const std::string& source, int line,
               int depth, std::vector<std::string>& out) {
    if (path_text.empty()) {
      problems_.add(source, line, "alias '" + name + "': ':include:' without a file name");
      return;
    }
    if (depth >= Aliases::kMaxIncludeDepth) {
      problems_.add(source, line, "alias '" + name + "': includes nested deeper than " +
                                      std::to_string(Aliases::kMaxIncludeDepth) + " (a loop between include files?)");
      return;
    }
    std::filesystem::path path(path_text);
    if (path.is_relative()) path = std::filesystem::path(source).parent_path() / path;
    auto text = read_file(path);
    if (!text) {
      problems_.add(source, line, "alias '" + name + "': " + text.error().context);
      return;
    }
    // An include file holds addresses, separated by commas or newlines, with '#' comments.
    const std::string inc_source = path.string();
    int inc_line = 0;
    for (std::string_view l : lines_of(*text)) {
      ++inc_line;
      const std::string_view body = trim(l);
      if (body.empty() || body.front() == '#') continue;
      add_values(body, name, inc_source, inc_line, depth + 1, out);
    }
  }

  std::map<std::string, Aliases::Entry>& entries_;
  Problems& problems_;
};

}  // namespace

Result<Aliases> Aliases::parse(std::string_view text, const std::string& source_name) {
  Aliases aliases;
  Problems problems;
  Parser(aliases.entries_, problems).parse_file(text, source_name);
  if (!problems.lines.empty()) return fail(ErrorClass::config, problems.joined());
  return aliases;
}

Result<Aliases> Aliases::load(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return fail(text.error());
  return parse(*text, path.string());
}

const std::vector<std::string>* Aliases::find(std::string_view local_part) const {
  const auto it = entries_.find(ascii_lower(local_part));
  return it == entries_.end() ? nullptr : &it->second.targets;
}

}  // namespace sluice::routing
