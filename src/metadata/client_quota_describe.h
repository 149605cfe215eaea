// DescribeClientQuotas answered from a metadata image, as Kafka's
// ClientQuotasImage.describe: each filter component names an entity type
// ("user", "client-id", "ip") and matches it exactly (MatchType 0, a name),
// as its default (1, null match) or as any entity of that type (2, null
// match); an entity matches when it has every component (and, with Strict,
// no other type). Malformed filters answer with Kafka's error and message:
// INVALID_REQUEST (an empty or repeated type, a match string where none
// belongs or a missing one, an unknown match type, ip mixed with user or
// client-id) or UNSUPPORTED_VERSION (an unknown entity type); Entries is then
// null.
//
// A pure function over an immutable image; any thread.
#pragma once

#include "metadata/image.h"
#include "protocol/messages.h"

namespace flotilla::metadata {

inline constexpr int8_t kMatchTypeExact = 0;
inline constexpr int8_t kMatchTypeDefault = 1;
inline constexpr int8_t kMatchTypeSpecified = 2;

msg::DescribeClientQuotasResponse describe_client_quotas(const MetadataImage& image, const msg::DescribeClientQuotasRequest& request);

}  // namespace flotilla::metadata
