// `flotilla server <server.properties> [--override k=v ...]`.
#pragma once

namespace flotilla::server {

// Runs a node until SIGTERM/SIGINT; returns the process exit code.
int run_server(int argc, char** argv);

}  // namespace flotilla::server
