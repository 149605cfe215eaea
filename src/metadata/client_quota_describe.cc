#include "metadata/client_quota_describe.h"

#include <set>

#include "common/error.h"

namespace flotilla::metadata {

namespace {

using security::kQuotaEntityClientId;
using security::kQuotaEntityIp;
using security::kQuotaEntityUser;

struct FilterError {
  ErrorCode code;
  std::string message;
};

bool matches(const security::ClientQuotaEntity& entity, const std::map<std::string, std::optional<std::string>>& exact,
             const std::set<std::string>& any_of_type, bool strict) {
  if (strict && entity.entries.size() != exact.size() + any_of_type.size()) return false;
  for (const auto& [type, name] : exact) {
    auto it = entity.entries.find(type);
    if (it == entity.entries.end() || it->second != name) return false;
  }
  for (const auto& type : any_of_type)
    if (!entity.has(type)) return false;
  return true;
}

}  // namespace

msg::DescribeClientQuotasResponse describe_client_quotas(const MetadataImage& image, const msg::DescribeClientQuotasRequest& request) {
  msg::DescribeClientQuotasResponse resp;
  std::map<std::string, std::optional<std::string>> exact;
  std::set<std::string> any_of_type;
  auto fail = [&resp](ErrorCode e, std::string message) {
    resp.error_code = code(e);
    resp.error_message = std::move(message);
    resp.entries = std::nullopt;
    return resp;
  };
  for (const auto& c : request.components) {
    if (c.entity_type.empty()) return fail(ErrorCode::INVALID_REQUEST, "Invalid empty entity type.");
    if (exact.count(c.entity_type) || any_of_type.count(c.entity_type))
      return fail(ErrorCode::INVALID_REQUEST, "Entity type " + c.entity_type + " cannot appear more than once in the filter.");
    if (c.entity_type != kQuotaEntityIp && c.entity_type != kQuotaEntityUser && c.entity_type != kQuotaEntityClientId)
      return fail(ErrorCode::UNSUPPORTED_VERSION, "Unsupported entity type " + c.entity_type);
    switch (c.match_type) {
      case kMatchTypeExact:
        if (!c.match) return fail(ErrorCode::INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null.");
        exact[c.entity_type] = c.match;
        break;
      case kMatchTypeDefault:
        if (c.match) return fail(ErrorCode::INVALID_REQUEST, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.");
        exact[c.entity_type] = std::nullopt;
        break;
      case kMatchTypeSpecified:
        if (c.match) return fail(ErrorCode::INVALID_REQUEST, "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.");
        any_of_type.insert(c.entity_type);
        break;
      default:
        return fail(ErrorCode::INVALID_REQUEST, "Unknown match type " + std::to_string(c.match_type));
    }
  }
  auto mentions = [&](const char* type) { return exact.count(type) || any_of_type.count(type); };
  if (mentions(kQuotaEntityIp) && (mentions(kQuotaEntityUser) || mentions(kQuotaEntityClientId)))
    return fail(ErrorCode::INVALID_REQUEST,
                "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter "
                "component.");
  resp.entries.emplace();
  for (const auto& [entity, values] : image.client_quotas()) {
    if (!matches(entity, exact, any_of_type, request.strict)) continue;
    msg::DescribeClientQuotasResponse::EntryData e;
    for (const auto& [type, name] : entity.entries) e.entity.push_back({type, name});
    for (const auto& [key, value] : values) e.values.push_back({key, value});
    resp.entries->push_back(std::move(e));
  }
  return resp;  // ErrorMessage keeps its schema default "", as Kafka's generated data does
}

}  // namespace flotilla::metadata
