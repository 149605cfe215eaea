// Kafka's StandardAuthorizer (authorizer.class.name=
// org.apache.kafka.metadata.authorizer.StandardAuthorizer): the ACLs of the
// metadata image in an AclIndex, with super.users and
// allow.everyone.if.no.acl.found, published to the request threads.
//
// Who calls what:
//   - the metadata publisher (one thread), for every image that changed ACLs:
//     apply(removed ids, added ACLs) — one publication per delta — or
//     load_snapshot(all ACLs) when the image was loaded from a snapshot; then,
//     once the node has caught up with the log, complete_initial_load();
//   - configure() at start-up and when super.users or
//     allow.everyone.if.no.acl.found change;
//   - request threads: snapshot() once per request, then decide()/authorize()
//     on it for every resource the request names (one consistent ACL set per
//     request, as Kafka reads its `data` once per authorize(actions)).
//
// Threading: the current AclIndex is an immutable snapshot. snapshot() copies
// the shared_ptr to it under a mutex held only for that copy (never while an
// index is built, so a reader never waits for the writer's work); writers
// (apply/load/configure/...) are serialised by a second mutex, build the next
// snapshot — sharing every node they did not change (see acl_index.h) — and
// swap it in under the first. A reader holding an old snapshot keeps it alive;
// the last holder frees what the newer ones do not share. (Not
// std::atomic<std::shared_ptr>: libstdc++ 12's unlocks its load with a relaxed
// store, which ThreadSanitizer reports as a race — google/sanitizers#1558.)
//
// Before complete_initial_load() every principal but a super user is answered
// DENIED with rule NOT_READY (Kafka throws AuthorizerNotReadyException there;
// its listeners outside early.start.listeners do not accept connections until
// then, which is the caller's part).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "security/acl.h"
#include "security/acl_index.h"

namespace flotilla::security {

inline constexpr std::string_view kStandardAuthorizerClass = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

struct AuthorizerConfig {
  std::vector<std::string> super_users;  // "User:admin"
  bool allow_everyone_if_no_acl_found = false;
};

// super.users as Kafka reads it (StandardAuthorizer.getConfiguredSuperUsers):
// split on ';', trimmed, empty entries skipped, each must parse as a principal.
// Returns the error ("expected a string in format principalType:principalName
// but got x") for the first that does not.
std::optional<std::string> parse_super_users(std::string_view value, std::vector<std::string>& out);

// The line Kafka's "kafka.authorizer.logger" writes for a decision:
// "Principal = User:alice is Denied operation = READ from host = 10.0.0.1 on
// resource = Topic:LITERAL:orders for request = Fetch with resourceRefCount = 1
// based on rule MatchingAcl(acl=StandardAcl(...))". Kafka logs it at INFO for a
// denied action the client asked for explicitly, at DEBUG for an allowed one.
std::string audit_message(const KafkaPrincipal& principal, std::string_view host, AclOperation op, ResourceType type,
                          std::string_view name, std::string_view api_name, int resource_ref_count,
                          const Decision& decision);

class StandardAuthorizer {
 public:
  explicit StandardAuthorizer(AuthorizerConfig config = {});

  void configure(AuthorizerConfig config);
  void complete_initial_load();
  bool initial_load_complete() const;

  // One metadata delta: the ACLs it removed, then those it added, published
  // once. Returns the refused changes' messages (see AclIndexWriter); the
  // others are applied.
  std::vector<std::string> apply(std::span<const Uuid> removed, std::span<const StandardAcl> added);
  // Kafka's addAcl/removeAcl: one change, published at once.
  std::optional<std::string> add_acl(const StandardAcl& acl);
  std::optional<std::string> remove_acl(const Uuid& id);
  // Kafka's loadSnapshot: replaces every ACL.
  std::vector<std::string> load_snapshot(std::span<const StandardAcl> acls);

  // The current snapshot: hold it for the span of one request.
  std::shared_ptr<const AclIndex> snapshot() const {
    std::lock_guard lock(snapshot_mu_);
    return current_;
  }

  // Conveniences reading the current snapshot once.
  AuthorizationResult authorize(const KafkaPrincipal& principal, std::string_view host, AclOperation op,
                                ResourceType type, std::string_view name) const {
    return snapshot()->authorize(principal, host, op, type, name);
  }
  AuthorizationResult authorize_by_resource_type(const KafkaPrincipal& principal, std::string_view host,
                                                 AclOperation op, ResourceType type) const {
    return snapshot()->authorize_by_resource_type(principal, host, op, type);
  }
  std::vector<StandardAcl> acls(const AclBindingFilter& filter) const { return snapshot()->acls(filter); }
  size_t acl_count() const { return snapshot()->size(); }

 private:
  void publish_locked();

  mutable std::mutex writer_mu_;
  AclIndexWriter writer_;        // guarded by writer_mu_
  AuthorizerSettings settings_;  // guarded by writer_mu_
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const AclIndex> current_;  // guarded by snapshot_mu_
};

}  // namespace flotilla::security
