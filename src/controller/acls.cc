// CreateAcls and DeleteAcls (v0-3) on the active controller, as Kafka's
// AclControlManager:
// - CreateAcls: each binding is checked on its own (security::validate_new_acl:
//   INVALID_REQUEST with Kafka's message for that binding only); an ACL equal
//   to one the controller already has (latest_, so two requests in flight see
//   each other) or to an earlier binding of the same request succeeds without
//   a record; every other gets a fresh Uuid (unused by any ACL) and an
//   AccessControlEntryRecord. All records go in one batch; the successful
//   bindings are answered once it commits.
// - DeleteAcls: each filter is checked (security::validate_acl_filter) and
//   matched against latest_'s ACLs; every match is answered in that filter's
//   result and removed once (RemoveAccessControlEntryRecord by id, even if
//   several filters match it), all in one batch.
// - At most 10,000 records per request (Kafka's MAX_RECORDS_PER_USER_OP): a
//   CreateAcls that would write more fails as a whole with POLICY_VIOLATION
//   ("Unable to perform excessively large batch operation."); a DeleteAcls
//   filter that would take the count past it fails alone (UNKNOWN_SERVER_ERROR,
//   as Kafka answers its BoundedListTooLongException) and removes nothing
//   (Kafka would still write the removals it had collected for that filter).
// - DescribeAcls (on the controller listener: --bootstrap-controller) is
//   answered from the committed image, as Kafka's controller answers it from
//   its authorizer.
// - Without an authorizer (authorizer.class.name empty) both answer
//   SECURITY_DISABLED "No Authorizer is configured." for every binding or
//   filter, as Kafka's AclApis does, and write nothing.
//
// Threading: the io_context thread, like the rest of QuorumController.
#include <spdlog/spdlog.h>

#include <set>
#include <unordered_set>

#include "controller/quorum_controller.h"
#include "metadata/acls.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

namespace {

constexpr size_t kMaxRecordsPerUserOp = 10000;
constexpr const char* kSecurityDisabled = "No Authorizer is configured.";

// An ACL's seven fields as one key (Kafka's StandardAcl equality).
std::string acl_key(const security::StandardAcl& a) {
  std::string k;
  k.reserve(a.resource_name.size() + a.principal.size() + a.host.size() + 8);
  k += static_cast<char>(a.resource_type);
  k += static_cast<char>(a.pattern_type);
  k += static_cast<char>(a.operation);
  k += static_cast<char>(a.permission_type);
  auto field = [&](const std::string& s) {
    k += std::to_string(s.size());
    k += ':';
    k += s;
  };
  field(a.resource_name);
  field(a.principal);
  field(a.host);
  return k;
}

msg::CreateAclsResponse::AclCreationResult creation_result(ErrorCode e, std::optional<std::string> message) {
  msg::CreateAclsResponse::AclCreationResult r;
  r.error_code = code(e);
  r.error_message = std::move(message);
  return r;
}

msg::DeleteAclsResponse::DeleteAclsMatchingAcl matching_acl(const security::StandardAcl& a) {
  msg::DeleteAclsResponse::DeleteAclsMatchingAcl m;
  m.error_code = 0;
  m.error_message = std::nullopt;
  m.resource_type = security::code(a.resource_type);
  m.resource_name = a.resource_name;
  m.pattern_type = security::code(a.pattern_type);
  m.principal = a.principal;
  m.host = a.host;
  m.operation = security::code(a.operation);
  m.permission_type = security::code(a.permission_type);
  return m;
}

}  // namespace

security::AclBinding acl_binding(const msg::CreateAclsRequest::AclCreation& c) {
  return security::AclBinding{
      security::ResourcePattern{security::resource_type_from_code(c.resource_type), c.resource_name,
                                security::pattern_type_from_code(c.resource_pattern_type)},
      security::AccessControlEntry{c.principal, c.host, security::acl_operation_from_code(c.operation),
                                   security::permission_type_from_code(c.permission_type)}};
}

security::AclBindingFilter acl_binding_filter(const msg::DeleteAclsRequest::DeleteAclsFilter& f, int16_t version) {
  security::AclBindingFilter out;
  out.pattern_filter.resource_type = security::resource_type_from_code(f.resource_type_filter);
  out.pattern_filter.name = f.resource_name_filter;
  out.pattern_filter.pattern_type = security::pattern_type_from_code(f.pattern_type_filter);
  // v0 knew LITERAL only; Kafka reads its ANY as LITERAL.
  if (version == 0 && out.pattern_filter.pattern_type == security::PatternType::ANY)
    out.pattern_filter.pattern_type = security::PatternType::LITERAL;
  out.entry_filter.principal = f.principal_filter;
  out.entry_filter.host = f.host_filter;
  out.entry_filter.operation = security::acl_operation_from_code(f.operation);
  out.entry_filter.permission_type = security::permission_type_from_code(f.permission_type);
  return out;
}

AclCreation plan_acl_creation(const metadata::MetadataImage& image, const msg::CreateAclsRequest& request,
                              const std::function<Uuid()>& new_id) {
  AclCreation plan;
  // The valid bindings first; then one pass over the existing ACLs tells
  // which of them exist already.
  std::vector<std::optional<security::StandardAcl>> wanted(request.creations.size());
  std::unordered_set<std::string> keys;
  for (size_t i = 0; i < request.creations.size(); ++i) {
    security::AclBinding b = acl_binding(request.creations[i]);
    if (auto err = security::validate_new_acl(b)) {
      plan.response.results.push_back(creation_result(err->error, err->message));
      continue;
    }
    plan.response.results.push_back(creation_result(ErrorCode::NONE, std::nullopt));
    wanted[i] = security::StandardAcl::from_binding(Uuid{}, b);
    keys.insert(acl_key(*wanted[i]));
  }
  std::unordered_set<std::string> existing;
  if (!keys.empty())
    for (const auto& [id, acl] : image.acls()) {
      std::string k = acl_key(acl);
      if (keys.count(k)) existing.insert(std::move(k));
    }
  std::set<Uuid> taken;
  for (auto& w : wanted) {
    if (!w) continue;
    if (!existing.insert(acl_key(*w)).second) continue;  // already there (or earlier in this request)
    Uuid id;
    do id = new_id();
    while (id.is_zero() || image.acls().count(id) || taken.count(id));
    taken.insert(id);
    w->id = id;
    plan.acls.push_back(*w);
    plan.records.push_back(protocol::frame_metadata_record(metadata::acl_record(*w), 0));
  }
  if (plan.records.size() > kMaxRecordsPerUserOp) {
    plan.records.clear();
    plan.acls.clear();
    for (auto& r : plan.response.results) {
      r.error_code = code(ErrorCode::POLICY_VIOLATION);
      r.error_message = "Unable to perform excessively large batch operation.";
    }
  }
  return plan;
}

AclDeletion plan_acl_deletion(const metadata::MetadataImage& image, const msg::DeleteAclsRequest& request, int16_t version) {
  AclDeletion plan;
  std::set<Uuid> removed;
  for (const auto& f : request.filters) {
    msg::DeleteAclsResponse::DeleteAclsFilterResult result;
    result.error_code = 0;
    result.error_message = std::nullopt;
    security::AclBindingFilter filter = acl_binding_filter(f, version);
    if (auto err = security::validate_acl_filter(filter)) {
      result.error_code = code(err->error);
      result.error_message = err->message;
      plan.response.filter_results.push_back(std::move(result));
      continue;
    }
    std::vector<Uuid> ids;
    size_t fresh = 0;
    for (const auto& [id, acl] : image.acls()) {
      if (!filter.matches(acl)) continue;
      ids.push_back(id);
      if (!removed.count(id)) ++fresh;
      result.matching_acls.push_back(matching_acl(acl));
    }
    if (removed.size() + fresh > kMaxRecordsPerUserOp) {
      result.matching_acls.clear();
      result.error_code = code(ErrorCode::UNKNOWN_SERVER_ERROR);
      result.error_message = std::nullopt;
    } else {
      removed.insert(ids.begin(), ids.end());
    }
    plan.response.filter_results.push_back(std::move(result));
  }
  for (const Uuid& id : removed) {
    msg::RemoveAccessControlEntryRecord r;
    r.id = id;
    plan.records.push_back(protocol::frame_metadata_record(r, 0));
    plan.removed.push_back(id);
  }
  return plan;
}

void QuorumController::create_acls(msg::CreateAclsRequest request, int16_t,
                                   std::function<void(msg::CreateAclsResponse)> done) {
  auto all_fail = [&](ErrorCode ec, std::optional<std::string> message) {
    msg::CreateAclsResponse r;
    for (size_t i = 0; i < request.creations.size(); ++i) r.results.push_back(creation_result(ec, message));
    return r;
  };
  if (!config_.authorizer_configured) return answer_now(done, all_fail(ErrorCode::SECURITY_DISABLED, kSecurityDisabled));
  if (!active_) return answer_now(done, all_fail(ErrorCode::NOT_CONTROLLER, std::nullopt));
  AclCreation plan = plan_acl_creation(*latest_, request, [] { return Uuid::random(); });
  if (plan.records.empty()) return answer_now(done, std::move(plan.response));
  for (const auto& acl : plan.acls)
    spdlog::info("[QuorumController id={}] Creating ACL {} as {}", config_.node_id, acl.to_string(), acl.id.to_string());
  auto off = write(std::move(plan.records));
  after_commit_of(off, [done = std::move(done), response = std::move(plan.response)](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE)
      for (auto& r : response.results)
        if (r.error_code == 0) r = creation_result(ec, std::nullopt);
    done(std::move(response));
  });
}

void QuorumController::delete_acls(msg::DeleteAclsRequest request, int16_t version,
                                   std::function<void(msg::DeleteAclsResponse)> done) {
  auto all_fail = [&](ErrorCode ec, std::optional<std::string> message) {
    msg::DeleteAclsResponse r;
    for (size_t i = 0; i < request.filters.size(); ++i) {
      msg::DeleteAclsResponse::DeleteAclsFilterResult x;
      x.error_code = code(ec);
      x.error_message = message;
      r.filter_results.push_back(std::move(x));
    }
    return r;
  };
  if (!config_.authorizer_configured) return answer_now(done, all_fail(ErrorCode::SECURITY_DISABLED, kSecurityDisabled));
  if (!active_) return answer_now(done, all_fail(ErrorCode::NOT_CONTROLLER, std::nullopt));
  AclDeletion plan = plan_acl_deletion(*latest_, request, version);
  if (plan.records.empty()) return answer_now(done, std::move(plan.response));
  for (const auto& id : plan.removed) {
    auto it = latest_->acls().find(id);
    spdlog::info("[QuorumController id={}] Deleting ACL {} ({})", config_.node_id, id.to_string(), it->second.to_string());
  }
  auto off = write(std::move(plan.records));
  after_commit_of(off, [done = std::move(done), response = std::move(plan.response)](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE)
      for (auto& r : response.filter_results)
        if (r.error_code == 0) {
          r.error_code = code(ec);
          r.error_message = std::nullopt;
          r.matching_acls.clear();
        }
    done(std::move(response));
  });
}

void QuorumController::describe_acls(msg::DescribeAclsRequest request, int16_t version,
                                     std::function<void(msg::DescribeAclsResponse)> done) {
  if (!config_.authorizer_configured) {
    msg::DescribeAclsResponse r;
    r.error_code = code(ErrorCode::SECURITY_DISABLED);
    r.error_message = "No Authorizer is configured on the broker";  // Kafka's text on controllers too (AclApis)
    return answer_now(done, std::move(r));
  }
  answer_now(done, metadata::describe_acls(*committed_, request, version));
}

}  // namespace flotilla::controller
