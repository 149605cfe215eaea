// The existence check OffsetCommit and TxnOffsetCommit make before the group
// coordinator sees their partitions, as Kafka's KafkaApis does for every
// version of both: after authorization, a topic the broker's metadata image
// does not hold answers UNKNOWN_TOPIC_OR_PARTITION for each of its
// partitions, and a partition index the topic does not have answers it for
// that partition; the others go on to the coordinator.
//
// Pure: reads one image, no I/O; callable from any thread holding the image.
#pragma once

#include <vector>

#include "coordinator/group_coordinator.h"
#include "metadata/image.h"

namespace flotilla::broker {

// Moves the partitions of `parts` that `image` does not hold to the end of
// `refused`, each with error UNKNOWN_TOPIC_OR_PARTITION; the order of the
// rest is kept.
void refuse_unknown_partitions(const metadata::MetadataImage& image, std::vector<coordinator::CommitPartition>& parts,
                               std::vector<coordinator::CommitPartition>& refused);

}  // namespace flotilla::broker
