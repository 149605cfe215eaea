// `flotilla metadata-diff A B [--json]`: what changed in the cluster metadata
// between two images. A and B are each a snapshot `.checkpoint` file or a
// `__cluster_metadata-0` directory, optionally `DIR@OFFSET` (the records up
// to and including OFFSET). Reports topics added/removed, partitions added,
// removed or changed (leader, leaderEpoch, isr, replicas, ...), brokers
// registered/unregistered/re-registered/fenced/unfenced, configs set/removed
// features changed, SCRAM credentials added/removed/replaced, ACLs
// added/removed and client quota values set/removed: as text, or with --json
// as one JSON object.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "metadata/image_diff.h"
#include "metadata/image.h"
#include "tools/commands.h"

namespace flotilla::tools {

// The engine (the JSON object's members, the text) is metadata/image_diff.h.
using metadata::diff_images;
using metadata::format_diff;

}  // namespace flotilla::tools
