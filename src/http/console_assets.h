// The console's page assets (src/http/console/*.html|js|css), embedded in
// the binary at build time: src/http/console/embed.cmake writes them as raw
// string literals into console_assets_data.cc (in the build directory). No
// network, no external CDN: plain HTML, CSS and JavaScript.
#pragma once

#include <cstddef>
#include <string_view>

namespace flotilla::http {

struct ConsoleAsset {
  const char* name;  // file name, e.g. "console.js"
  std::string_view content;
};

extern const ConsoleAsset kConsoleAssets[];
extern const size_t kConsoleAssetCount;

// The asset named `name`, or nullptr.
inline const ConsoleAsset* find_console_asset(std::string_view name) {
  for (size_t i = 0; i < kConsoleAssetCount; ++i)
    if (name == kConsoleAssets[i].name) return &kConsoleAssets[i];
  return nullptr;
}

}  // namespace flotilla::http
