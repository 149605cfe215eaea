// The ACL index of Kafka's StandardAuthorizer: an immutable snapshot answering
// "may this principal, from this host, do this operation on this resource?"
// with Kafka's rules (StandardAuthorizerData.findAclRule/findResult), and the
// writer that derives the next snapshot from the previous one.
//
// Rules of a decision (AclIndex::decide):
//   - a super user (super.users, compared as "Type:Name") is always allowed;
//   - the ACLs that apply to TOPIC "orders" are the LITERAL ones named
//     "orders", the LITERAL wildcard "*", and every PREFIXED one whose name
//     is a prefix of "orders" (including "orders" itself);
//   - of those, an ACL matches when its principal is the caller's or "User:*"
//     (which matches every principal, whatever its type, as in Kafka), its host
//     is "*" or the caller's address, and its operation is the asked one or
//     ALL; an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE, and
//     an ALLOW of ALTER_CONFIGS also allows DESCRIBE_CONFIGS — implications
//     hold for ALLOW only (a DENY of READ does not deny DESCRIBE; a DENY of
//     ALL denies everything);
//   - any matching DENY -> DENIED; else any matching ALLOW -> ALLOWED; else, if
//     some ACL applies to the resource -> DENIED; else
//     allow.everyone.if.no.acl.found decides.
//
// Layout: per resource type, a LITERAL table (name -> ACLs), the LITERAL "*"
// entry, and a PREFIXED table with the sorted set of lengths its names have.
// A decision walks the resource name once, extending one FNV-1a hash per
// character; at each length some PREFIXED name has, it probes the PREFIXED
// table with that prefix's hash, and at the end the LITERAL table with the
// whole name's. So a decision costs O(name length + distinct prefix lengths +
// matching entries), never a scan of the ACLs. Within a name, the ACLs of
// "User:*" are kept apart and the others sorted by the hash of their
// principal: a decision reads the "User:*" list and the caller's range only,
// so a resource with thousands of principals costs the same as one.
// Each table is a fixed two-level hash trie (64 x 64 buckets keyed by the
// name hash's top 12 bits). A fourth table per type holds the same ACLs by
// principal, for authorize_by_resource_type, which reads only the caller's
// and "User:*"'s ACLs of the type.
//
// Immutability and updates: every node (type index, trie levels, bucket, name
// entry, ACL record) is shared between snapshots; a published snapshot is never
// written to again. The writer (AclIndexWriter) copies only the path it
// changes — the type's index (3 x 64 pointers), in two tables one trie level
// (64), one bucket and one entry — so one ACL added to an index of 10,000 or
// 100,000 costs a few hundred pointer copies, not a copy of the index. Nodes
// carry the id of the batch that created them: within one batch a node created
// by it is changed in place (it is not published yet), so a batch of N changes
// — or a load of N ACLs from a snapshot — costs O(N) and allocates each node
// once.
//
// Threading: an AclIndex is immutable: any number of threads may read one
// concurrently. AclIndexWriter is single-threaded (StandardAuthorizer
// serialises it and swaps each published snapshot in; see authorizer.h).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/uuid.h"
#include "security/acl.h"
#include "security/principal.h"

namespace flotilla::security {

enum class AuthorizationResult : uint8_t { ALLOWED, DENIED };

// Why a decision came out as it did (Kafka's MatchingRule).
enum class MatchingRule : uint8_t {
  SUPER_USER,     // "SuperUser"
  MATCHING_ACL,   // "MatchingAcl(acl=StandardAcl(...))"
  DEFAULT_ALLOW,  // no ACL applies and allow.everyone.if.no.acl.found=true
  DEFAULT_DENY,   // no ACL applies (or some apply but none matches)
  NOT_READY,      // the initial load has not completed (Kafka: AuthorizerNotReadyException)
};

struct Decision {
  AuthorizationResult result = AuthorizationResult::DENIED;
  MatchingRule rule = MatchingRule::DEFAULT_DENY;
  const StandardAcl* acl = nullptr;  // MATCHING_ACL: the deciding ACL; valid while its AclIndex lives

  bool allowed() const { return result == AuthorizationResult::ALLOWED; }
  std::string rule_to_string() const;  // as Kafka's audit log prints the rule
};

// The settings a decision reads besides the ACLs.
struct AuthorizerSettings {
  std::vector<std::string> super_users;  // "User:admin", as configured (trimmed)
  bool allow_everyone_if_no_acl_found = false;
  bool loading_complete = true;  // false: only super users are answered (NOT_READY)

  bool is_super_user(const KafkaPrincipal& p) const;
};

namespace acl_index_detail {
struct TypeIndex;
}

class AclIndex {
 public:
  AclIndex();  // empty, default settings
  ~AclIndex();
  AclIndex(const AclIndex&);
  AclIndex& operator=(const AclIndex&);

  // `host` is the client's address as canonical_ip() prints it (compute it
  // once per connection); `name` the LITERAL resource name.
  Decision decide(const KafkaPrincipal& principal, std::string_view host, AclOperation op, ResourceType type,
                  std::string_view name) const;
  AuthorizationResult authorize(const KafkaPrincipal& principal, std::string_view host, AclOperation op,
                                ResourceType type, std::string_view name) const {
    return decide(principal, host, op, type, name).result;
  }

  // Kafka's Authorizer.authorizeByResourceType (the default method, which
  // StandardAuthorizer keeps): ALLOWED if the caller may do `op` on the
  // hard-coded name "hardcode" (super users, the wildcard, the default rule),
  // or some ALLOW ACL of the caller or "User:*" names `op` or ALL on a
  // resource of this type that no DENY dominates (a LITERAL DENY of the same
  // name, a PREFIXED DENY of a prefix; a LITERAL "*" DENY dominates all).
  // Operation implications do not apply here, as in Kafka. Reads the ACLs of
  // the type that name the caller or "User:*" (Kafka reads all of them).
  // DENIED for a type or operation that is ANY/UNKNOWN (where Kafka throws
  // IllegalArgumentException).
  AuthorizationResult authorize_by_resource_type(const KafkaPrincipal& principal, std::string_view host,
                                                 AclOperation op, ResourceType type) const;

  // KIP-430's authorized operations of a resource: bit `code(op)` set for
  // every supported operation the caller is allowed (AuthHelper.authorizedOperations).
  int32_t authorized_operations(const KafkaPrincipal& principal, std::string_view host, ResourceType type,
                                std::string_view name) const;

  // The ACLs matching a DescribeAcls/DeleteAcls filter (a scan: not the
  // request path of every API). Order: by resource type, then unspecified.
  std::vector<StandardAcl> acls(const AclBindingFilter& filter) const;
  void for_each(const std::function<void(const StandardAcl&)>& fn) const;

  size_t size() const { return count_; }
  const AuthorizerSettings& settings() const { return *settings_; }

 private:
  friend class AclIndexWriter;
  std::shared_ptr<const AuthorizerSettings> settings_;
  std::array<std::shared_ptr<acl_index_detail::TypeIndex>, 8> types_;  // by ResourceType code
  size_t count_ = 0;
};

// Builds the next AclIndex from the current one. One writer at a time; the
// snapshot it starts from stays valid and unchanged.
class AclIndexWriter {
 public:
  // Starts from `base` (nullptr: an empty index with default settings).
  explicit AclIndexWriter(std::shared_ptr<const AclIndex> base);
  ~AclIndexWriter();
  AclIndexWriter(const AclIndexWriter&) = delete;
  AclIndexWriter& operator=(const AclIndexWriter&) = delete;

  // Kafka's AclCache.addAcl/removeAcl: nullopt on success, else why not
  // ("An ACL with ID x already exists.", "ID x not found in aclsById.", an
  // equal ACL already present, a type/pattern that is not concrete). The
  // index is unchanged by a refused change.
  std::optional<std::string> add(const StandardAcl& acl);
  std::optional<std::string> remove(const Uuid& id);
  void clear();  // drop every ACL (a snapshot load starts from nothing)
  void set_settings(AuthorizerSettings settings);

  const StandardAcl* find(const Uuid& id) const;
  size_t size() const;

  // The new snapshot. The writer may go on from it (the next changes copy
  // what they touch, as after any publication).
  std::shared_ptr<const AclIndex> publish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla::security
