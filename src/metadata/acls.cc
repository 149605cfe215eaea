#include "metadata/acls.h"

#include <map>
#include <string>
#include <tuple>

namespace flotilla::metadata {

msg::AccessControlEntryRecord acl_record(const security::StandardAcl& acl) {
  msg::AccessControlEntryRecord r;
  r.id = acl.id;
  r.resource_type = security::code(acl.resource_type);
  r.resource_name = acl.resource_name;
  r.pattern_type = security::code(acl.pattern_type);
  r.principal = acl.principal;
  r.host = acl.host;
  r.operation = security::code(acl.operation);
  r.permission_type = security::code(acl.permission_type);
  return r;
}

security::StandardAcl standard_acl(const msg::AccessControlEntryRecord& r) {
  security::StandardAcl acl;
  acl.id = r.id;
  acl.resource_type = security::resource_type_from_code(r.resource_type);
  acl.resource_name = r.resource_name;
  acl.pattern_type = security::pattern_type_from_code(r.pattern_type);
  acl.principal = r.principal;
  acl.host = r.host;
  acl.operation = security::acl_operation_from_code(r.operation);
  acl.permission_type = security::permission_type_from_code(r.permission_type);
  return acl;
}

std::vector<security::StandardAcl> matching_acls(const AclMap& acls, const security::AclBindingFilter& filter) {
  std::vector<security::StandardAcl> out;
  for (const auto& [id, acl] : acls)
    if (filter.matches(acl)) out.push_back(acl);
  return out;
}

security::AclBindingFilter describe_acls_filter(const msg::DescribeAclsRequest& request, int16_t version) {
  security::AclBindingFilter f;
  f.pattern_filter.resource_type = security::resource_type_from_code(request.resource_type_filter);
  f.pattern_filter.name = request.resource_name_filter;
  f.pattern_filter.pattern_type = security::pattern_type_from_code(request.pattern_type_filter);
  // v0 knew LITERAL only; Kafka reads its ANY as LITERAL.
  if (version == 0 && f.pattern_filter.pattern_type == security::PatternType::ANY)
    f.pattern_filter.pattern_type = security::PatternType::LITERAL;
  f.entry_filter.principal = request.principal_filter;
  f.entry_filter.host = request.host_filter;
  f.entry_filter.operation = security::acl_operation_from_code(request.operation);
  f.entry_filter.permission_type = security::permission_type_from_code(request.permission_type);
  return f;
}

msg::DescribeAclsResponse describe_acls_response(const std::vector<security::StandardAcl>& acls) {
  msg::DescribeAclsResponse resp;
  std::map<std::tuple<int8_t, std::string, int8_t>, size_t> index;  // pattern -> resources[i]
  for (const auto& acl : acls) {
    auto key = std::make_tuple(security::code(acl.resource_type), acl.resource_name, security::code(acl.pattern_type));
    auto [it, fresh] = index.try_emplace(key, resp.resources.size());
    if (fresh) {
      msg::DescribeAclsResponse::DescribeAclsResource r;
      r.resource_type = std::get<0>(key);
      r.resource_name = acl.resource_name;
      r.pattern_type = std::get<2>(key);
      resp.resources.push_back(std::move(r));
    }
    auto& list = resp.resources[it->second].acls;
    msg::DescribeAclsResponse::AclDescription d;
    d.principal = acl.principal;
    d.host = acl.host;
    d.operation = security::code(acl.operation);
    d.permission_type = security::code(acl.permission_type);
    // (Kafka keeps a set of entries per pattern; the controller never stores
    // two equal ACLs, so a list is that set.)
    list.push_back(std::move(d));
  }
  return resp;
}

msg::DescribeAclsResponse describe_acls(const MetadataImage& image, const msg::DescribeAclsRequest& request, int16_t version) {
  security::AclBindingFilter filter = describe_acls_filter(request, version);
  if (filter.is_unknown()) {
    msg::DescribeAclsResponse r;
    r.error_code = code(ErrorCode::INVALID_REQUEST);
    r.error_message = "DescribeAclsRequest contains UNKNOWN elements";
    return r;
  }
  msg::DescribeAclsResponse r = describe_acls_response(matching_acls(image.acls(), filter));
  r.error_code = 0;
  r.error_message = std::nullopt;
  return r;
}

}  // namespace flotilla::metadata
