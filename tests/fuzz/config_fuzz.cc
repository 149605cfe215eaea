// Fuzz target: what an operator types — the first byte choosing which:
//   0  a server.properties text: the Java-properties parser, then every
//      property's parsing and validation (KafkaConfig::from_properties),
//      which must refuse a bad value with a ConfigError naming it, never
//      with another exception (at start-up that would be a crash with a
//      message that names nothing)
//   1  the tools' command line: the input split at NUL bytes into arguments
//      for the `flotilla` sub-commands' parser (CLI11 with Kafka's flags)
// The flag parser prints its errors and help: those go to a null stream.
#include <cstdint>
#include <iostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"
#include "tools/cli.h"

using namespace flotilla;

namespace {

struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};

void server_properties(const std::string& text) {
  const auto props = server::parse_properties(text);
  try {
    std::vector<std::string> unknown;
    (void)server::KafkaConfig::from_properties(props, &unknown);
  } catch (const server::ConfigError&) {
  }
}

void tool_arguments(std::string_view in) {
  std::vector<std::string> args;
  size_t start = 0;
  while (start <= in.size() && args.size() < 64) {
    size_t nul = in.find('\0', start);
    if (nul == std::string_view::npos) nul = in.size();
    args.emplace_back(in.substr(start, nul - start));
    start = nul + 1;
  }
  tools::Cli cli;
  if (!cli.parse(args)) (void)cli.selected();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static NullBuffer null;
  std::cout.rdbuf(&null);
  std::cerr.rdbuf(&null);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 2) {
    case 0: server_properties(std::string(rest)); break;
    case 1: tool_arguments(rest); break;
  }
  return 0;
}
