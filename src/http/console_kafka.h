// The console's live numbers that only the brokers know: the quorum's
// replica states (DescribeQuorum), log end offsets
// (ListOffsets to each partition's leader) and consumer groups with their
// lag (ListGroups to every unfenced broker -- each lists the groups it
// coordinates -- then DescribeGroups and OffsetFetch to that coordinator).
//
// Threading: HTTP threads only; every request goes through
// NodeView::kafka_call (this node's broker API as the HTTP user, or another
// broker after the HTTP user is authorized here for the same DESCRIBE), each
// with a short timeout, so a dead broker costs one timeout per poll and shows
// as missing numbers, never an error page.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "http/node_view.h"
#include "http/router.h"

namespace flotilla::http {

using TopicPartitionKey = std::pair<std::string, int32_t>;

constexpr std::chrono::milliseconds kConsoleCallTimeout{1500};

// The voters and observers as the quorum leader reports them: DescribeQuorum
// through this node's broker API (a broker forwards it to the controllers)
// or, on a controller-only node, through an unfenced broker. Fills leader_id,
// epoch, high_watermark, voters and observers; nullopt when none answered.
std::optional<RaftStatus> console_describe_quorum(NodeView& node, const HttpRequest& req,
                                                  const metadata::MetadataImage* image);

// The latest offset of every partition with a live leader that answered.
std::map<TopicPartitionKey, int64_t> console_end_offsets(NodeView& node, const HttpRequest& req,
                                                         const metadata::MetadataImage& image);

// [{"groupId","state","protocolType","coordinator","members":n,
//   "offsets":[{"topic","partition","committed","logEndOffset","lag"}],"lag":total}]
nlohmann::ordered_json console_groups(NodeView& node, const HttpRequest& req, const metadata::MetadataImage& image,
                                      const std::map<TopicPartitionKey, int64_t>& end_offsets);

}  // namespace flotilla::http
