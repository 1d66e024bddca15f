// base/version.hpp: the one version string, from project() in CMakeLists.txt, for banners,
// log headers and --version.
#pragma once

#include <string_view>

namespace sluice {
#ifndef SLUICE_VERSION
#error "SLUICE_VERSION comes from CMakeLists.txt"
#endif
inline constexpr std::string_view kVersion = SLUICE_VERSION;
}  // namespace sluice
