#include "security/acl_index.h"

#include <algorithm>
#include <atomic>
#include <unordered_set>

namespace flotilla::security {

namespace acl_index_detail {

// FNV-1a, extended one character at a time so that a decision gets the hash
// of every prefix of a resource name in one pass; finish() (murmur3's fmix64)
// spreads it so that the top bits pick the trie slots evenly.
constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;
constexpr uint64_t fnv_step(uint64_t h, char c) { return (h ^ static_cast<unsigned char>(c)) * kFnvPrime; }
constexpr uint64_t fnv(uint64_t h, std::string_view s) {
  for (char c : s) h = fnv_step(h, c);
  return h;
}
constexpr uint64_t finish(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}
constexpr uint64_t string_hash(std::string_view s) { return finish(fnv(kFnvOffset, s)); }
// The hash of "Type:Name" without building the string.
inline uint64_t principal_hash(const KafkaPrincipal& p) {
  return finish(fnv(fnv_step(fnv(kFnvOffset, p.type), ':'), p.name));
}
inline bool principal_is(std::string_view acl_principal, const KafkaPrincipal& p) {
  return acl_principal.size() == p.type.size() + 1 + p.name.size() &&
         acl_principal.compare(0, p.type.size(), p.type) == 0 && acl_principal[p.type.size()] == ':' &&
         acl_principal.compare(p.type.size() + 1, std::string_view::npos, p.name) == 0;
}
constexpr uint64_t kWildcardPrincipalHash = string_hash(kWildcardPrincipal);

inline uint32_t op_bit(AclOperation op) { return 1u << static_cast<unsigned>(code(op) & 31); }
// The ACL operations whose ALLOW grants `op`: itself, ALL, and the implications.
inline uint32_t allow_mask(AclOperation op) {
  uint32_t m = op_bit(op) | op_bit(AclOperation::ALL);
  if (op == AclOperation::DESCRIBE)
    m |= op_bit(AclOperation::READ) | op_bit(AclOperation::WRITE) | op_bit(AclOperation::DELETE) |
         op_bit(AclOperation::ALTER);
  if (op == AclOperation::DESCRIBE_CONFIGS) m |= op_bit(AclOperation::ALTER_CONFIGS);
  return m;
}
// The ACL operations whose DENY refuses `op`: itself and ALL, no implications.
inline uint32_t deny_mask(AclOperation op) { return op_bit(op) | op_bit(AclOperation::ALL); }

// One ACL with what matching it needs, shared by every snapshot holding it.
struct AclRecord {
  StandardAcl acl;
  std::string host_key;  // canonical IP of acl.host (or acl.host itself if it is not one)
  bool any_host = false;
  uint64_t principal_hash = 0;
};

// Every node carries the id of the writer batch that created it (`edit`):
// only that batch may change it, and only before publishing it.
struct NameEntry {
  using RecordPtr = std::shared_ptr<const AclRecord>;
  uint64_t edit = 0;
  uint64_t hash = 0;
  std::string name;
  // The ACLs naming one principal, sorted by its hash (kept apart from the
  // records so that the binary search reads a compact array), and those of
  // "User:*", which every decision reads.
  std::vector<uint64_t> principal_hashes;
  std::vector<RecordPtr> acls;  // parallel to principal_hashes
  std::vector<RecordPtr> wildcard_acls;

  bool empty() const { return acls.empty() && wildcard_acls.empty(); }

  // [lo, hi) of acls whose principal hashes to h.
  std::pair<size_t, size_t> range(uint64_t h) const {
    auto lo = std::lower_bound(principal_hashes.begin(), principal_hashes.end(), h);
    auto hi = lo;
    while (hi != principal_hashes.end() && *hi == h) ++hi;
    return {static_cast<size_t>(lo - principal_hashes.begin()), static_cast<size_t>(hi - principal_hashes.begin())};
  }

  template <class F>
  void for_each(F&& fn) const {
    for (const auto& r : acls) fn(r);
    for (const auto& r : wildcard_acls) fn(r);
  }

  void insert(RecordPtr rec) {
    if (rec->acl.principal == kWildcardPrincipal) {
      wildcard_acls.push_back(std::move(rec));
      return;
    }
    auto pos = std::upper_bound(principal_hashes.begin(), principal_hashes.end(), rec->principal_hash);
    size_t i = static_cast<size_t>(pos - principal_hashes.begin());
    principal_hashes.insert(pos, rec->principal_hash);
    acls.insert(acls.begin() + static_cast<long>(i), std::move(rec));
  }

  void erase(const RecordPtr& rec) {
    if (auto it = std::find(wildcard_acls.begin(), wildcard_acls.end(), rec); it != wildcard_acls.end()) {
      wildcard_acls.erase(it);
      return;
    }
    auto [lo, hi] = range(rec->principal_hash);
    for (size_t i = lo; i < hi; ++i)
      if (acls[i] == rec) {
        acls.erase(acls.begin() + static_cast<long>(i));
        principal_hashes.erase(principal_hashes.begin() + static_cast<long>(i));
        return;
      }
  }
};

constexpr unsigned kLevelBits = 6;
constexpr size_t kFanout = size_t{1} << kLevelBits;
inline size_t top_slot(uint64_t h) { return static_cast<size_t>(h >> (64 - kLevelBits)); }
inline size_t second_slot(uint64_t h) { return static_cast<size_t>(h >> (64 - 2 * kLevelBits)) & (kFanout - 1); }

// A bucket keeps each name's hash next to its pointer: a probe reads the
// entry only when the hash matches.
struct Slot {
  uint64_t hash;
  std::shared_ptr<NameEntry> entry;
};

struct Bucket {
  uint64_t edit = 0;
  std::vector<Slot> names;
};

struct Level {
  uint64_t edit = 0;
  std::array<std::shared_ptr<Bucket>, kFanout> buckets;
};

struct Table {
  std::array<std::shared_ptr<Level>, kFanout> levels;

  const NameEntry* find(uint64_t h, std::string_view name) const {
    const Level* level = levels[top_slot(h)].get();
    if (!level) return nullptr;
    const Bucket* bucket = level->buckets[second_slot(h)].get();
    if (!bucket) return nullptr;
    for (const Slot& s : bucket->names)
      if (s.hash == h && s.entry->name == name) return s.entry.get();
    return nullptr;
  }

  template <class F>
  void for_each_entry(F&& fn) const {
    for (const auto& level : levels) {
      if (!level) continue;
      for (const auto& bucket : level->buckets)
        if (bucket)
          for (const Slot& s : bucket->names) fn(*s.entry);
    }
  }
};

struct TypeIndex {
  uint64_t edit = 0;
  Table literal;                       // LITERAL ACLs except "*"
  std::shared_ptr<NameEntry> wildcard;  // LITERAL "*"
  Table prefixed;
  std::vector<std::pair<uint32_t, uint32_t>> prefix_lengths;  // (length, PREFIXED names of it), sorted
  // The same ACLs again, by principal ("User:alice" -> its ACLs of this
  // type), for authorize_by_resource_type. Not part of for_each_entry.
  Table by_principal;

  template <class F>
  void for_each_entry(F&& fn) const {  // fn(entry, pattern type)
    literal.for_each_entry([&](const NameEntry& e) { fn(e, PatternType::LITERAL); });
    if (wildcard) fn(*wildcard, PatternType::LITERAL);
    prefixed.for_each_entry([&](const NameEntry& e) { fn(e, PatternType::PREFIXED); });
  }
};

inline bool host_matches(const AclRecord& r, std::string_view host) { return r.any_host || r.host_key == host; }

// Calls fn(acl record) for each ACL of `e` naming the caller or "User:*",
// until fn returns true.
template <class F>
void for_each_principal_acl(const NameEntry& e, const KafkaPrincipal& p, uint64_t ph, F&& fn) {
  auto [lo, hi] = e.range(ph);
  for (size_t i = lo; i < hi; ++i)
    if (principal_is(e.acls[i]->acl.principal, p))
      if (fn(*e.acls[i])) return;
  for (const auto& r : e.wildcard_acls)
    if (fn(*r)) return;
}

// The state of one decision (Kafka's MatchingRuleBuilder).
struct Scan {
  const KafkaPrincipal& principal;
  uint64_t principal_hash;
  std::string_view host;
  uint32_t allow_ops;
  uint32_t deny_ops;
  bool applies = false;  // some ACL applies to the resource (hasResourceAcls)
  const StandardAcl* allow = nullptr;
  const StandardAcl* deny = nullptr;

  // True once a DENY matched: the decision is made.
  bool visit(const NameEntry& e) {
    applies = true;
    for_each_principal_acl(e, principal, principal_hash, [&](const AclRecord& r) {
      if (!host_matches(r, host)) return false;
      uint32_t bit = op_bit(r.acl.operation);
      if (r.acl.permission_type == AclPermissionType::DENY) {
        if (deny_ops & bit) {
          deny = &r.acl;
          return true;
        }
      } else if (r.acl.permission_type == AclPermissionType::ALLOW && (allow_ops & bit)) {
        allow = &r.acl;
      }
      return false;
    });
    return deny != nullptr;
  }
};

void scan_type(const TypeIndex& ti, std::string_view name, Scan& scan) {
  uint64_t h = kFnvOffset;
  const auto& lengths = ti.prefix_lengths;
  size_t next = 0;  // the next PREFIXED length to probe
  // An empty PREFIXED name (CreateAcls refuses it, but a record could carry
  // one) applies to every name, as in Kafka.
  if (!lengths.empty() && lengths[0].first == 0) {
    ++next;
    if (const NameEntry* e = ti.prefixed.find(finish(h), std::string_view()))
      if (scan.visit(*e)) return;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    h = fnv_step(h, name[i]);
    if (next < lengths.size() && lengths[next].first == i + 1) {
      ++next;
      if (const NameEntry* e = ti.prefixed.find(finish(h), name.substr(0, i + 1)))
        if (scan.visit(*e)) return;
    }
  }
  if (const NameEntry* e = ti.literal.find(finish(h), name))
    if (scan.visit(*e)) return;
  if (ti.wildcard) scan.visit(*ti.wildcard);
}

inline bool concrete_type(ResourceType t) { return code(t) >= code(ResourceType::TOPIC) && code(t) <= code(ResourceType::USER); }

}  // namespace acl_index_detail

std::string Decision::rule_to_string() const {
  switch (rule) {
    case MatchingRule::SUPER_USER: return "SuperUser";
    case MatchingRule::MATCHING_ACL: return "MatchingAcl(acl=" + (acl ? acl->to_string() : std::string()) + ")";
    case MatchingRule::DEFAULT_ALLOW: return "DefaultAllow";
    case MatchingRule::DEFAULT_DENY: return "DefaultDeny";
    case MatchingRule::NOT_READY: return "NotReady";
  }
  return "DefaultDeny";
}

bool AuthorizerSettings::is_super_user(const KafkaPrincipal& p) const {
  for (const auto& s : super_users)
    if (acl_index_detail::principal_is(s, p)) return true;
  return false;
}

AclIndex::AclIndex() : settings_(std::make_shared<const AuthorizerSettings>()) {}
AclIndex::~AclIndex() = default;
AclIndex::AclIndex(const AclIndex&) = default;
AclIndex& AclIndex::operator=(const AclIndex&) = default;

Decision AclIndex::decide(const KafkaPrincipal& principal, std::string_view host, AclOperation op, ResourceType type,
                          std::string_view name) const {
  using namespace acl_index_detail;
  const AuthorizerSettings& s = *settings_;
  if (s.is_super_user(principal)) return {AuthorizationResult::ALLOWED, MatchingRule::SUPER_USER, nullptr};
  if (!s.loading_complete) return {AuthorizationResult::DENIED, MatchingRule::NOT_READY, nullptr};
  Scan scan{principal, principal_hash(principal), host, allow_mask(op), deny_mask(op)};
  int8_t t = code(type);
  if (t >= 0 && t < static_cast<int8_t>(types_.size()) && types_[static_cast<size_t>(t)])
    scan_type(*types_[static_cast<size_t>(t)], name, scan);
  if (scan.deny) return {AuthorizationResult::DENIED, MatchingRule::MATCHING_ACL, scan.deny};
  if (scan.allow) return {AuthorizationResult::ALLOWED, MatchingRule::MATCHING_ACL, scan.allow};
  if (scan.applies || !s.allow_everyone_if_no_acl_found)
    return {AuthorizationResult::DENIED, MatchingRule::DEFAULT_DENY, nullptr};
  return {AuthorizationResult::ALLOWED, MatchingRule::DEFAULT_ALLOW, nullptr};
}

AuthorizationResult AclIndex::authorize_by_resource_type(const KafkaPrincipal& principal, std::string_view host,
                                                         AclOperation op, ResourceType type) const {
  using namespace acl_index_detail;
  if (!concrete_type(type) || op == AclOperation::ANY || op == AclOperation::UNKNOWN) return AuthorizationResult::DENIED;
  // Super users, the LITERAL "*" and the default rule, as Kafka: a probe of a hard-coded name.
  if (authorize(principal, host, op, type, "hardcode") == AuthorizationResult::ALLOWED) return AuthorizationResult::ALLOWED;
  if (!settings_->loading_complete) return AuthorizationResult::DENIED;
  const acl_index_detail::TypeIndex* ti = types_[static_cast<size_t>(code(type))].get();
  if (!ti) return AuthorizationResult::DENIED;

  const uint32_t ops = deny_mask(op);  // op itself or ALL, no implications
  bool wildcard_deny = false, wildcard_allow = false;
  std::unordered_set<std::string_view> deny_literal, deny_prefixed;
  std::vector<std::pair<std::string_view, PatternType>> allows;
  auto collect = [&](const NameEntry* e) {
    if (!e) return;
    e->for_each([&](const auto& rec) {
      const StandardAcl& a = rec->acl;
      if (!host_matches(*rec, host) || !(ops & op_bit(a.operation))) return;
      const bool is_wildcard = a.pattern_type == PatternType::LITERAL && a.resource_name == kWildcardResource;
      if (a.permission_type == AclPermissionType::DENY) {
        if (is_wildcard) wildcard_deny = true;
        else (a.pattern_type == PatternType::LITERAL ? deny_literal : deny_prefixed).insert(a.resource_name);
      } else if (a.permission_type == AclPermissionType::ALLOW) {
        if (is_wildcard) wildcard_allow = true;
        else allows.emplace_back(a.resource_name, a.pattern_type);
      }
    });
  };
  // Only the caller's ACLs and User:*'s are read.
  const std::string me = principal.to_string();
  collect(ti->by_principal.find(string_hash(me), me));
  if (me != kWildcardPrincipal) collect(ti->by_principal.find(kWildcardPrincipalHash, kWildcardPrincipal));
  if (wildcard_deny) return AuthorizationResult::DENIED;
  if (wildcard_allow) return AuthorizationResult::ALLOWED;
  for (const auto& [name, pattern] : allows) {
    if (pattern == PatternType::LITERAL && deny_literal.count(name)) continue;
    bool dominated = false;
    for (size_t len = 1; len <= name.size() && !dominated && !deny_prefixed.empty(); ++len)
      dominated = deny_prefixed.count(name.substr(0, len)) > 0;
    if (!dominated) return AuthorizationResult::ALLOWED;
  }
  return AuthorizationResult::DENIED;
}

int32_t AclIndex::authorized_operations(const KafkaPrincipal& principal, std::string_view host, ResourceType type,
                                        std::string_view name) const {
  uint32_t bits = 0;
  for (AclOperation op : supported_operations(type))
    if (authorize(principal, host, op, type, name) == AuthorizationResult::ALLOWED)
      bits |= 1u << static_cast<unsigned>(code(op));
  return static_cast<int32_t>(bits);
}

void AclIndex::for_each(const std::function<void(const StandardAcl&)>& fn) const {
  for (const auto& ti : types_)
    if (ti)
      ti->for_each_entry([&](const acl_index_detail::NameEntry& e, PatternType) {
        e.for_each([&](const auto& r) { fn(r->acl); });
      });
}

std::vector<StandardAcl> AclIndex::acls(const AclBindingFilter& filter) const {
  std::vector<StandardAcl> out;
  for (size_t t = 0; t < types_.size(); ++t) {
    const ResourceType want = filter.pattern_filter.resource_type;
    if (!types_[t] || (want != ResourceType::ANY && code(want) != static_cast<int8_t>(t))) continue;
    types_[t]->for_each_entry([&](const acl_index_detail::NameEntry& e, PatternType) {
      e.for_each([&](const auto& r) {
        if (filter.matches(r->acl)) out.push_back(r->acl);
      });
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// The writer.

namespace acl_index_detail {
// Edit ids are unique across all writers, so that no writer can mistake a node
// another one published for one of its own.
std::atomic<uint64_t> g_next_edit{1};
}  // namespace acl_index_detail

struct AclIndexWriter::Impl {
  AclIndex root;  // the working copy: its nodes with edit == edit are unpublished
  uint64_t edit = acl_index_detail::g_next_edit.fetch_add(1);
  std::unordered_map<Uuid, std::shared_ptr<const acl_index_detail::AclRecord>> by_id;

  // The node in `slot`, made writable by this batch: created if absent,
  // copied if an earlier batch made it.
  template <class T>
  T& own(std::shared_ptr<T>& slot) {
    if (!slot) slot = std::make_shared<T>();
    else if (slot->edit != edit) slot = std::make_shared<T>(*slot);
    slot->edit = edit;
    return *slot;
  }

  acl_index_detail::TypeIndex& type_index(ResourceType t) { return own(root.types_[static_cast<size_t>(code(t))]); }
  const acl_index_detail::TypeIndex* type_index_const(ResourceType t) const { return root.types_[static_cast<size_t>(code(t))].get(); }

  // Puts rec into the entry `name` of `table`, creating it; true if it is new.
  bool insert_into(acl_index_detail::Table& table, uint64_t h, const std::string& name,
                   const acl_index_detail::NameEntry::RecordPtr& rec) {
    using namespace acl_index_detail;
    Bucket& bucket = own(own(table.levels[top_slot(h)]).buckets[second_slot(h)]);
    for (Slot& s : bucket.names)
      if (s.hash == h && s.entry->name == name) {
        own(s.entry).insert(rec);
        return false;
      }
    bucket.names.push_back(Slot{h, nullptr});
    NameEntry& e = own(bucket.names.back().entry);
    e.hash = h;
    e.name = name;
    e.insert(rec);
    return true;
  }

  // Takes rec out of the entry `name` of `table`; true if the entry went away.
  bool erase_from(acl_index_detail::Table& table, uint64_t h, const std::string& name,
                  const acl_index_detail::NameEntry::RecordPtr& rec) {
    using namespace acl_index_detail;
    bool gone = false;
    std::shared_ptr<Bucket>& bucket_slot = own(table.levels[top_slot(h)]).buckets[second_slot(h)];
    Bucket& bucket = own(bucket_slot);
    for (size_t i = 0; i < bucket.names.size(); ++i) {
      Slot& slot = bucket.names[i];
      if (slot.hash != h || slot.entry->name != name) continue;
      NameEntry& e = own(slot.entry);
      e.erase(rec);
      if (e.empty()) {
        bucket.names[i] = std::move(bucket.names.back());
        bucket.names.pop_back();
        gone = true;
      }
      break;
    }
    if (bucket.names.empty()) bucket_slot.reset();
    return gone;
  }

  static void count_length(acl_index_detail::TypeIndex& ti, uint32_t len, int delta) {
    auto& v = ti.prefix_lengths;
    auto it = std::lower_bound(v.begin(), v.end(), len, [](const auto& p, uint32_t l) { return p.first < l; });
    if (delta > 0) {
      if (it != v.end() && it->first == len) ++it->second;
      else v.insert(it, {len, 1});
    } else if (it != v.end() && it->first == len && --it->second == 0) {
      v.erase(it);
    }
  }
};

AclIndexWriter::AclIndexWriter(std::shared_ptr<const AclIndex> base) : impl_(std::make_unique<Impl>()) {
  if (!base) return;
  impl_->root = *base;
  for (const auto& ti : base->types_)
    if (ti)
      ti->for_each_entry([&](const acl_index_detail::NameEntry& e, PatternType) {
        e.for_each([&](const auto& r) { impl_->by_id.emplace(r->acl.id, r); });
      });
}

AclIndexWriter::~AclIndexWriter() = default;

std::optional<std::string> AclIndexWriter::add(const StandardAcl& acl) {
  using namespace acl_index_detail;
  Impl& w = *impl_;
  if (w.by_id.count(acl.id)) return "An ACL with ID " + acl.id.to_string() + " already exists.";
  if (!concrete_type(acl.resource_type) ||
      (acl.pattern_type != PatternType::LITERAL && acl.pattern_type != PatternType::PREFIXED))
    return "Unable to index the ACL with ID " + acl.id.to_string() + ": " + acl.to_string() +
           " has no concrete resource type and pattern type";

  auto rec = std::make_shared<AclRecord>();
  rec->acl = acl;
  rec->any_host = acl.host == kWildcardHost;
  if (!rec->any_host) rec->host_key = canonical_ip(acl.host).value_or(acl.host);
  rec->principal_hash = string_hash(acl.principal);
  const uint64_t h = string_hash(acl.resource_name);
  const bool wildcard = acl.pattern_type == PatternType::LITERAL && acl.resource_name == kWildcardResource;

  // Refuse an equal ACL before touching anything (Kafka's aclsByResource is a set).
  if (const TypeIndex* ti = w.type_index_const(acl.resource_type)) {
    const NameEntry* e = wildcard ? ti->wildcard.get()
                                  : (acl.pattern_type == PatternType::LITERAL ? ti->literal : ti->prefixed)
                                        .find(h, acl.resource_name);
    if (e) {
      bool same = false;
      e->for_each([&](const auto& r) { same = same || r->acl.same_acl(acl); });
      if (same) return "Unable to add the ACL with ID " + acl.id.to_string() + " to aclsByResource";
    }
  }

  TypeIndex& ti = w.type_index(acl.resource_type);
  if (wildcard) {
    NameEntry& e = w.own(ti.wildcard);
    e.hash = h;
    e.name = acl.resource_name;
    e.insert(rec);
  } else if (w.insert_into(acl.pattern_type == PatternType::LITERAL ? ti.literal : ti.prefixed, h, acl.resource_name,
                           rec) &&
             acl.pattern_type == PatternType::PREFIXED) {
    Impl::count_length(ti, static_cast<uint32_t>(acl.resource_name.size()), +1);
  }
  w.insert_into(ti.by_principal, rec->principal_hash, acl.principal, rec);
  ++w.root.count_;
  w.by_id.emplace(acl.id, std::move(rec));
  return std::nullopt;
}

std::optional<std::string> AclIndexWriter::remove(const Uuid& id) {
  using namespace acl_index_detail;
  Impl& w = *impl_;
  auto found = w.by_id.find(id);
  if (found == w.by_id.end()) return "ID " + id.to_string() + " not found in aclsById.";
  const std::shared_ptr<const AclRecord> rec = found->second;
  const StandardAcl& acl = rec->acl;
  TypeIndex& ti = w.type_index(acl.resource_type);
  if (acl.pattern_type == PatternType::LITERAL && acl.resource_name == kWildcardResource) {
    if (ti.wildcard) {
      NameEntry& e = w.own(ti.wildcard);
      e.erase(rec);
      if (e.empty()) ti.wildcard.reset();
    }
  } else if (w.erase_from(acl.pattern_type == PatternType::LITERAL ? ti.literal : ti.prefixed,
                          string_hash(acl.resource_name), acl.resource_name, rec) &&
             acl.pattern_type == PatternType::PREFIXED) {
    Impl::count_length(ti, static_cast<uint32_t>(acl.resource_name.size()), -1);
  }
  w.erase_from(ti.by_principal, rec->principal_hash, acl.principal, rec);
  --w.root.count_;
  w.by_id.erase(found);
  return std::nullopt;
}

void AclIndexWriter::clear() {
  for (auto& t : impl_->root.types_) t.reset();
  impl_->root.count_ = 0;
  impl_->by_id.clear();
}

void AclIndexWriter::set_settings(AuthorizerSettings settings) {
  impl_->root.settings_ = std::make_shared<const AuthorizerSettings>(std::move(settings));
}

const StandardAcl* AclIndexWriter::find(const Uuid& id) const {
  auto it = impl_->by_id.find(id);
  return it == impl_->by_id.end() ? nullptr : &it->second->acl;
}

size_t AclIndexWriter::size() const { return impl_->by_id.size(); }

std::shared_ptr<const AclIndex> AclIndexWriter::publish() {
  auto snapshot = std::make_shared<const AclIndex>(impl_->root);
  // Everything made so far is now published: later changes copy it first.
  impl_->edit = acl_index_detail::g_next_edit.fetch_add(1);
  return snapshot;
}

}  // namespace flotilla::security
