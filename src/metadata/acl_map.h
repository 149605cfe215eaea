// AclMap: the ACLs of a metadata image by id, as a map that images share
// piecewise. The ids are spread over 256 shards by their first byte (a random
// Uuid's), each an immutable std::map held by shared_ptr: copying an AclMap
// copies 256 pointers, and a change copies only the shard it touches. So a
// delta that adds or removes a few ACLs among 100,000 costs a few hundred
// entries copied, not 100,000 (a whole std::map copy is ~0.1 s there, on the
// loader's and the controller's event loop).
//
// Reads look like a const std::map<Uuid, security::StandardAcl>: iteration in
// Uuid order (the shards are in first-byte order), find/count/contains/at,
// size, ==.
//
// Threading: a published AclMap (inside an image) is never written again and
// may be read by any number of threads. put/erase are for the one thread
// building a MetadataDelta on its own copy: a shard is changed in place only
// when that copy is its sole owner (use_count() == 1 — no other AclMap, so no
// other thread, can reach it), else it is cloned first.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>

#include "common/uuid.h"
#include "security/acl.h"

namespace flotilla::metadata {

class AclMap {
 public:
  using Shard = std::map<Uuid, security::StandardAcl>;
  using value_type = Shard::value_type;
  static constexpr size_t kShards = 256;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Shard::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    const_iterator() = default;
    reference operator*() const { return *it_; }
    pointer operator->() const { return &*it_; }
    const_iterator& operator++() {
      ++it_;
      settle();
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++*this;
      return old;
    }
    bool operator==(const const_iterator& o) const { return shard_ == o.shard_ && (shard_ == kShards || it_ == o.it_); }

   private:
    friend class AclMap;
    const_iterator(const AclMap* m, size_t shard, Shard::const_iterator it) : m_(m), shard_(shard), it_(it) {}
    // Moves past the end of empty or finished shards.
    void settle() {
      while (shard_ < kShards && it_ == m_->shard(shard_).end()) {
        if (++shard_ < kShards) it_ = m_->shard(shard_).begin();
      }
    }
    const AclMap* m_ = nullptr;
    size_t shard_ = kShards;
    Shard::const_iterator it_{};
  };

  AclMap() {
    static const std::shared_ptr<const Shard> empty = std::make_shared<const Shard>();
    shards_.fill(empty);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const_iterator begin() const {
    const_iterator it(this, 0, shard(0).begin());
    it.settle();
    return it;
  }
  const_iterator end() const { return const_iterator(this, kShards, {}); }
  const_iterator find(const Uuid& id) const {
    size_t s = shard_of(id);
    auto it = shard(s).find(id);
    return it == shard(s).end() ? end() : const_iterator(this, s, it);
  }
  size_t count(const Uuid& id) const { return shard(shard_of(id)).count(id); }
  bool contains(const Uuid& id) const { return count(id) != 0; }
  const security::StandardAcl& at(const Uuid& id) const { return shard(shard_of(id)).at(id); }
  bool operator==(const AclMap& o) const {
    if (size_ != o.size_) return false;
    for (size_t i = 0; i < kShards; ++i)
      if (shards_[i] != o.shards_[i] && *shards_[i] != *o.shards_[i]) return false;
    return true;
  }

  // The delta's writes (see the threading note above). put() replaces an ACL
  // with the same id.
  void put(security::StandardAcl acl) {
    Shard& s = own(shard_of(acl.id));
    Uuid id = acl.id;
    auto [it, fresh] = s.insert_or_assign(id, std::move(acl));
    if (fresh) ++size_;
  }
  bool erase(const Uuid& id) {
    size_t i = shard_of(id);
    if (!shards_[i]->count(id)) return false;
    own(i).erase(id);
    --size_;
    return true;
  }

 private:
  static size_t shard_of(const Uuid& id) { return static_cast<size_t>(id.hi >> 56); }
  const Shard& shard(size_t i) const { return *shards_[i]; }
  Shard& own(size_t i) {
    if (shards_[i].use_count() != 1) shards_[i] = std::make_shared<Shard>(*shards_[i]);
    // Sole owner: nothing else can see this shard, so it may change in place.
    return const_cast<Shard&>(*shards_[i]);
  }

  std::array<std::shared_ptr<const Shard>, kShards> shards_;
  size_t size_ = 0;
};

}  // namespace flotilla::metadata
