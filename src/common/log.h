// Logging goes through spdlog; one place to set the pattern and level.
#pragma once

#include <spdlog/spdlog.h>

namespace flotilla {
void init_logging(const std::string& level = "info");
}
