// The ACL admin requests (Kafka's Admin.createAcls / describeAcls /
// deleteAcls) over one connection: security's model in, the decoded response
// out; reading its error codes is the caller's (tools/acls_tool.cc prints
// them as kafka-acls.sh does).
//
// Versions: the highest both ends speak (v0-3). v0 knows LITERAL patterns
// only: a PREFIXED binding, or a filter other than LITERAL/ANY, at v0 is
// KafkaError(UNSUPPORTED_VERSION) before anything is sent, as Kafka's client
// refuses to build such a request.
// Threading: as KafkaClient (one thread at a time).
#pragma once

#include <vector>

#include "client/connection.h"
#include "protocol/messages.h"
#include "security/acl.h"

namespace flotilla::client {

msg::CreateAclsResponse create_acls(Connection& c, const std::vector<security::AclBinding>& bindings);
msg::DescribeAclsResponse describe_acls(Connection& c, const security::AclBindingFilter& filter);
msg::DeleteAclsResponse delete_acls(Connection& c, const std::vector<security::AclBindingFilter>& filters);

// The bindings a DescribeAcls response lists, in its order.
std::vector<security::AclBinding> acl_bindings(const msg::DescribeAclsResponse& response);
// The binding of one DeleteAcls match.
security::AclBinding acl_binding(const msg::DeleteAclsResponse::DeleteAclsMatchingAcl& m);

}  // namespace flotilla::client
