// DescribeUserScramCredentials (KIP-554) answered from a metadata image, as
// Kafka's ScramImage.describe: every user with a credential when `users` is
// null or empty; otherwise each user named once, with its mechanisms and
// iteration counts (never a salt or key), RESOURCE_NOT_FOUND for a user
// without credentials and DUPLICATE_RESOURCE for a user named twice.
//
// A pure function over an immutable image; any thread.
#pragma once

#include "metadata/image.h"
#include "protocol/messages.h"

namespace flotilla::metadata {

msg::DescribeUserScramCredentialsResponse describe_scram_credentials(const MetadataImage& image,
                                                                     const msg::DescribeUserScramCredentialsRequest& request);

}  // namespace flotilla::metadata
