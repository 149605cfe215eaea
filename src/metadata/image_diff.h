// What changed in the cluster metadata between two images, as a JSON object
// and as readable text: the engine of `flotilla metadata-diff` and of the
// console's snapshot diff page. Pure functions over immutable images.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "metadata/image.h"

namespace flotilla::metadata {

// The differences from `a` to `b` as a JSON object:
// {"from":{"offset","epoch"},"to":{...},
//  "topics":{"added":[{"name","id","partitions"}],"removed":[{"name","id"}]},
//  "partitions":{"added":[{"topic","partition",...registration}],"removed":[{"topic","partition"}],
//                "changed":[{"topic","partition","<field>":{"old","new"},...}]},
//  "brokers":{"registered":[id],"unregistered":[id],"reregistered":[id],"fenced":[id],"unfenced":[id],
//             "changed":[{"id","<field>":{"old","new"}}]},
//  "configs":{"set":[{"type","name","key","old","new"}],"removed":[{"type","name","key","old"}]},
//  "features":{"changed":[{"name","old","new"}]},   (old/new null when absent)
//  "scram":{"added":[{"user","mechanism","iterations"}],"removed":[{"user","mechanism"}],
//           "changed":[{"user","mechanism","iterations":{"old","new"}}]},   (no salt or key)
//  "acls":{"added":[{"id","resourceType","resourceName","patternType","principal","host","operation","permissionType"}],
//          "removed":[...the same]},   (Kafka's enum names)
//  "clientQuotas":{"set":[{"entity":{"<type>":name|null},"key","old","new"}],
//                  "removed":[{"entity","key","old"}]},   (a null name: the default entity)
//  "delegationTokens":{"added":[{"tokenId","owner","requester","renewers","issueTimestamp","expiryTimestamp","maxTimestamp"}],
//                      "removed":[{"tokenId","owner"}],"changed":[{"tokenId","expiryTimestamp":{"old","new"}}]}}
//                      (never an HMAC: no image holds one)
nlohmann::ordered_json diff_images(const MetadataImage& a, const MetadataImage& b);
// The readable text of diff_images(): one line per change, "No changes." if none.
std::string format_diff(const nlohmann::ordered_json& diff);

}  // namespace flotilla::metadata
