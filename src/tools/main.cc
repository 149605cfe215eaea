// The `flotilla` binary: `server` runs a node; everything else is a tool
// (storage, topics, console-producer, console-consumer, perf).
#include <cstring>
#include <iostream>

#include "tools/cli.h"

#ifdef FLOTILLA_HAVE_SERVER
#include "server/server_main.h"
#endif

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "server") == 0) {
#ifdef FLOTILLA_HAVE_SERVER
    return flotilla::server::run_server(argc - 1, argv + 1);
#else
    std::cerr << "The server is not part of this build\n";
    return 1;
#endif
  }
  return flotilla::tools::run_cli(argc, argv);
}
