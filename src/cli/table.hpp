// cli/table.hpp: the plain-text tables of `sluice queue`, `sluice queue messages` and
// `sluice track` — columns as wide as their widest cell, two spaces apart, the last column
// unpadded (so long LastError texts are not cut: a terminal wraps them, grep finds them).
// Owns: that layout only. Not: which columns a command shows.
#pragma once

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace sluice::cli {

inline void print_table(std::ostream& out, const std::vector<std::string>& headings,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headings.size());
  for (size_t c = 0; c < headings.size(); ++c) width[c] = headings[c].size();
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < headings.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : std::string();
      text += cell;
      if (c + 1 < headings.size()) text += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << "\n";
  };
  line(headings);
  for (const auto& row : rows) line(row);
}

}  // namespace sluice::cli
