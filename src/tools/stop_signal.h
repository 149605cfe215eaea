// Ctrl-C (SIGINT) and SIGTERM ask a running tool to stop: the console
// producer and consumer check stop_requested() in their loops and then finish
// as Kafka's do (flush, commit, leave the group, print the totals) instead of
// dying mid-request. The flag is process-wide and only ever set.
#pragma once

namespace flotilla::tools {

// Installs the SIGINT and SIGTERM handlers that set the flag.
void stop_on_signals();
bool stop_requested();

}  // namespace flotilla::tools
