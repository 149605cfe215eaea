#include "client/acls.h"

#include "client/admin.h"

namespace flotilla::client {

namespace {

void check_v0_pattern(int16_t version, security::PatternType t, bool filter) {
  if (version > 0) return;
  if (t == security::PatternType::LITERAL || (filter && t == security::PatternType::ANY)) return;
  throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "Version 0 only supports literal resource pattern types");
}

}  // namespace

msg::CreateAclsResponse create_acls(Connection& c, const std::vector<security::AclBinding>& bindings) {
  int16_t v = admin_version<msg::CreateAclsRequest>(c);
  msg::CreateAclsRequest req;
  for (const auto& b : bindings) {
    check_v0_pattern(v, b.pattern.pattern_type, false);
    msg::CreateAclsRequest::AclCreation x;
    x.resource_type = security::code(b.pattern.resource_type);
    x.resource_name = b.pattern.name;
    x.resource_pattern_type = security::code(b.pattern.pattern_type);
    x.principal = b.entry.principal;
    x.host = b.entry.host;
    x.operation = security::code(b.entry.operation);
    x.permission_type = security::code(b.entry.permission_type);
    req.creations.push_back(std::move(x));
  }
  return c.call(req, v).first;
}

msg::DescribeAclsResponse describe_acls(Connection& c, const security::AclBindingFilter& f) {
  int16_t v = admin_version<msg::DescribeAclsRequest>(c);
  check_v0_pattern(v, f.pattern_filter.pattern_type, true);
  msg::DescribeAclsRequest req;
  req.resource_type_filter = security::code(f.pattern_filter.resource_type);
  req.resource_name_filter = f.pattern_filter.name;
  req.pattern_type_filter = security::code(f.pattern_filter.pattern_type);
  req.principal_filter = f.entry_filter.principal;
  req.host_filter = f.entry_filter.host;
  req.operation = security::code(f.entry_filter.operation);
  req.permission_type = security::code(f.entry_filter.permission_type);
  return c.call(req, v).first;
}

msg::DeleteAclsResponse delete_acls(Connection& c, const std::vector<security::AclBindingFilter>& filters) {
  int16_t v = admin_version<msg::DeleteAclsRequest>(c);
  msg::DeleteAclsRequest req;
  for (const auto& f : filters) {
    check_v0_pattern(v, f.pattern_filter.pattern_type, true);
    msg::DeleteAclsRequest::DeleteAclsFilter x;
    x.resource_type_filter = security::code(f.pattern_filter.resource_type);
    x.resource_name_filter = f.pattern_filter.name;
    x.pattern_type_filter = security::code(f.pattern_filter.pattern_type);
    x.principal_filter = f.entry_filter.principal;
    x.host_filter = f.entry_filter.host;
    x.operation = security::code(f.entry_filter.operation);
    x.permission_type = security::code(f.entry_filter.permission_type);
    req.filters.push_back(std::move(x));
  }
  return c.call(req, v).first;
}

std::vector<security::AclBinding> acl_bindings(const msg::DescribeAclsResponse& response) {
  std::vector<security::AclBinding> out;
  for (const auto& r : response.resources)
    for (const auto& a : r.acls)
      out.push_back(security::AclBinding{
          security::ResourcePattern{security::resource_type_from_code(r.resource_type), r.resource_name,
                                    security::pattern_type_from_code(r.pattern_type)},
          security::AccessControlEntry{a.principal, a.host, security::acl_operation_from_code(a.operation),
                                       security::permission_type_from_code(a.permission_type)}});
  return out;
}

security::AclBinding acl_binding(const msg::DeleteAclsResponse::DeleteAclsMatchingAcl& m) {
  return security::AclBinding{
      security::ResourcePattern{security::resource_type_from_code(m.resource_type), m.resource_name,
                                security::pattern_type_from_code(m.pattern_type)},
      security::AccessControlEntry{m.principal, m.host, security::acl_operation_from_code(m.operation),
                                   security::permission_type_from_code(m.permission_type)}};
}

}  // namespace flotilla::client
