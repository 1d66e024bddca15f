// Golden tests for `sluice explain`: real-world replies of the large receivers, common MTAs and
// sluice's own local failures (tests/data/explain/*.txt) with the explanation a person should
// read. Each file holds the input (one or more lines, as received), a line "====", then the
// expected output of format_explanation().
// After a deliberate change to the knowledge, regenerate with SLUICE_UPDATE_GOLDEN=1 and read
// every diff as the administrator would before committing it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "diagnose/knowledge_base.hpp"

namespace sluice::diagnose {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(SLUICE_TEST_DATA) / "explain";
constexpr std::string_view kSeparator = "\n====\n";

std::vector<fs::path> golden_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kDir))
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ExplainGolden, AtLeastFortyRealWorldReplies) { EXPECT_GE(golden_files().size(), 40u); }

TEST(ExplainGolden, EveryFileMatches) {
  const bool update = std::getenv("SLUICE_UPDATE_GOLDEN") != nullptr;
  for (const fs::path& file : golden_files()) {
    SCOPED_TRACE(file.filename().string());
    const std::string content = read(file);
    const size_t sep = content.find(kSeparator);
    ASSERT_NE(sep, std::string::npos) << "no ==== line";
    const std::string input = content.substr(0, sep);
    const std::string expected = content.substr(sep + kSeparator.size());
    const Explanation e = explain(input);
    const std::string actual = format_explanation(e);
    if (update) {
      std::ofstream(file, std::ios::binary) << input << kSeparator << actual;
      continue;
    }
    EXPECT_EQ(actual, expected);
    // Every golden input is one the knowledge base knows: no file documents a gap.
    EXPECT_NE(e.category, Category::unknown) << actual;
    EXPECT_FALSE(e.rule.empty());
  }
}

}  // namespace
}  // namespace sluice::diagnose
