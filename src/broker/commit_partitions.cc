#include "broker/commit_partitions.h"

namespace flotilla::broker {

void refuse_unknown_partitions(const metadata::MetadataImage& image, std::vector<coordinator::CommitPartition>& parts,
                               std::vector<coordinator::CommitPartition>& refused) {
  std::vector<coordinator::CommitPartition> known;
  known.reserve(parts.size());
  for (auto& p : parts) {
    const metadata::TopicImage* t = image.topic(p.topic);
    if (t && t->partitions.contains(p.partition)) {
      known.push_back(std::move(p));
    } else {
      p.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      refused.push_back(std::move(p));
    }
  }
  parts = std::move(known);
}

}  // namespace flotilla::broker
