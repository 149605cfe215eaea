#include "metadata/scram_describe.h"

#include <map>

#include "common/error.h"

namespace flotilla::metadata {

namespace {
constexpr const char* kDuplicateUser = "Cannot describe SCRAM credentials for the same user twice in a single request: ";
constexpr const char* kUnknownUser = "Attempt to describe a user credential that does not exist: ";
}  // namespace

msg::DescribeUserScramCredentialsResponse describe_scram_credentials(const MetadataImage& image,
                                                                     const msg::DescribeUserScramCredentialsRequest& request) {
  using Response = msg::DescribeUserScramCredentialsResponse;
  // user -> named more than once; sorted, so that answers are stable.
  std::map<std::string, bool> users;
  if (!request.users || request.users->empty()) {
    for (const auto& [key, c] : image.scram()) users.emplace(key.first, false);
  } else {
    for (const auto& u : *request.users) {
      auto [it, fresh] = users.emplace(u.name, false);
      if (!fresh) it->second = true;
    }
  }
  Response resp;
  resp.error_message = std::nullopt;
  for (const auto& [user, duplicate] : users) {
    Response::DescribeUserScramCredentialsResult r;
    r.user = user;
    r.error_message = std::nullopt;
    if (duplicate) {
      r.error_code = code(ErrorCode::DUPLICATE_RESOURCE);
      r.error_message = kDuplicateUser + user;
    } else {
      auto it = image.scram().lower_bound({user, security::ScramMechanism::UNKNOWN});
      for (; it != image.scram().end() && it->first.first == user; ++it) {
        Response::CredentialInfo info;
        info.mechanism = static_cast<int8_t>(it->first.second);
        info.iterations = it->second.iterations;
        r.credential_infos.push_back(info);
      }
      if (r.credential_infos.empty()) {
        r.error_code = code(ErrorCode::RESOURCE_NOT_FOUND);
        r.error_message = kUnknownUser + user;
      }
    }
    resp.results.push_back(std::move(r));
  }
  return resp;
}

}  // namespace flotilla::metadata
