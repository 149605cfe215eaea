// `flotilla dump-log` (kafka-dump-log.sh): prints the record batches of log
// segments (`.log`, any partition and `__cluster_metadata-0`) and of KRaft
// snapshots (`.checkpoint`) exactly as Kafka 3.9's DumpLogSegments does, so
// that its output can be diffed against Kafka's. The options are
// DumpLogOptions (tools/commands.h); this header exposes the pieces the tests
// check on their own (and the JVM text helpers of tools/java_text.h). The
// segment and snapshot dumper is dump_log.cc, the index checks
// dump_log_index.cc (their shared pieces: dump_log_internal.h).
//
// Where Kafka would stop with an exception (a corrupt batch, an unparsable
// file name) the tool prints the reason to stderr and exits 1, after the lines
// it has printed so far. One deliberate difference: Flotilla preallocates the
// active metadata segment with zeros; an all-zero tail ends the file
// silently (Kafka, which does not write such tails, would throw on it).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "metadata/record_json.h"
#include "tools/java_text.h"

namespace flotilla::tools {

// The payload Kafka's ClusterMetadataLogMessageParser prints for one record
// value of __cluster_metadata (metadata/record_json.h, shared with the console).
using metadata::format_metadata_record;

}  // namespace flotilla::tools
