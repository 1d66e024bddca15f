// config/default_config.hpp: the configuration sluice ships with — what `make run` writes to
// ./var/sluice.toml and `sluice config default` prints. It doubles as the annotated reference
// a new administrator reads, so every key carries a comment.
// Owns: the embedded text. Not: its validation (the loader; a unit test loads it).
#pragma once

#include <string_view>

namespace sluice::config {

std::string_view default_config_text();

}  // namespace sluice::config
