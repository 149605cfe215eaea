// ACLs between the metadata records and security's model: the
// AccessControlEntryRecord of a StandardAcl and back (the controller writes
// them, the image and snapshots hold them), and DescribeAcls answered from an
// image, as Kafka's broker answers it from its StandardAuthorizer (AclApis):
// the same filter semantics (security::AclBindingFilter), the ACLs grouped by
// resource pattern.
//
// Pure functions over values; an image is immutable, so any thread may call them.
#pragma once

#include <vector>

#include "metadata/image.h"
#include "protocol/messages.h"
#include "security/acl.h"

namespace flotilla::metadata {

msg::AccessControlEntryRecord acl_record(const security::StandardAcl& acl);
// Codes Kafka does not define become UNKNOWN (never an out-of-range enum).
security::StandardAcl standard_acl(const msg::AccessControlEntryRecord& r);

// The ACLs of `acls` that `filter` matches, in the map's (id) order.
std::vector<security::StandardAcl> matching_acls(const AclMap& acls, const security::AclBindingFilter& filter);

// The filter of a DescribeAcls request (v0 has no pattern type: LITERAL).
security::AclBindingFilter describe_acls_filter(const msg::DescribeAclsRequest& request, int16_t version);

// A DescribeAcls response from `acls` (already matched): one resource per
// distinct pattern, in order of first appearance, each with its ACLs. An
// invalid filter is the caller's (INVALID_REQUEST before this).
msg::DescribeAclsResponse describe_acls_response(const std::vector<security::StandardAcl>& acls);

// DescribeAcls answered from `image`: a filter with UNKNOWN parts is
// INVALID_REQUEST ("DescribeAclsRequest contains UNKNOWN elements": Kafka
// refuses to parse such a request); else the matching ACLs. (Whether an
// authorizer is configured — SECURITY_DISABLED — is the caller's.)
msg::DescribeAclsResponse describe_acls(const MetadataImage& image, const msg::DescribeAclsRequest& request, int16_t version);

}  // namespace flotilla::metadata
