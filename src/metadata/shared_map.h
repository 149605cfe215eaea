// SharedMap<K, V, MaxChunk>: an ordered map that metadata images share
// piecewise (structural sharing), read like a const std::map<K, V>.
//
// Layout: a root (held by shared_ptr) is a vector of chunks in key order; a
// chunk (held by shared_ptr) is a sorted std::vector of at most MaxChunk
// (key, value) pairs, never empty. Copying a SharedMap copies one pointer. A
// change copies the root (one pointer per chunk) and the one chunk it touches
// (at most MaxChunk entries) — unless this map is their only owner, then they
// change in place. So a MetadataDelta that changes one topic among 10,000 (or
// one partition among 10,000 of a topic) copies ~n/MaxChunk pointers and
// ~MaxChunk entries, not n entries, and a delta of many changes (a snapshot
// load) copies each piece at most once.
//
// Why chunks ordered by key rather than hash shards (AclMap) or a B-tree:
// callers iterate topics_by_name() in name order (listings, snapshots,
// ListTopics-style responses), so order must hold; two levels keep lookups to
// two binary searches and iteration to a walk over contiguous vectors, and at
// the sizes an image has (10^4 topics, 10^4 partitions of one topic, 10^6
// partitions in all spread over topics) the root copy is a few hundred
// pointers (~1-3 µs), below the chunk copy. A deeper tree would only pay off
// past ~10^6 keys in ONE map. Inserting keys in ascending order (a snapshot
// load) fills chunks completely (an append past the last key of a full last
// chunk starts a new one, reserved whole: shrink_owned_chunks() gives back
// what stays unused); other inserts into a full chunk halve it; an erase that
// leaves a chunk under a quarter full merges it with its right neighbour when
// they fit.
//
// Reads: find/at/count/contains/lower_bound/upper_bound, bidirectional
// iteration in key order (value_type is std::pair<K, V>: `auto& [k, v]` and
// it->second work as with std::map), size, empty, ==. Iterators stay valid as
// long as the map is not changed (a published image never is).
//
// Threading: a published SharedMap (inside an image) is never written again
// and may be read by any number of threads. The writes (insert_or_assign,
// find_mut, get_or_insert, erase) are for the one thread building a delta on
// its own copy: a root or chunk is changed in place only when its use_count()
// is 1 — no other SharedMap, so no other thread, can reach it — else it is
// cloned first. Invariant: every chunk is non-empty, chunks are in key order
// and do not overlap; root->size is the sum of the chunk sizes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace flotilla::metadata {

template <class K, class V, size_t MaxChunk = 64, class Less = std::less<K>>
class SharedMap {
  static_assert(MaxChunk >= 4, "chunks split in halves");

 public:
  using key_type = K;
  using mapped_type = V;
  using value_type = std::pair<K, V>;
  using size_type = size_t;
  using Chunk = std::vector<value_type>;

 private:
  struct Root {
    std::vector<std::shared_ptr<const Chunk>> chunks;
    size_t size = 0;
  };

 public:
  class const_iterator {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = SharedMap::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    const_iterator() = default;
    reference operator*() const { return (*r_->chunks[c_])[i_]; }
    pointer operator->() const { return &**this; }
    const_iterator& operator++() {
      if (++i_ == r_->chunks[c_]->size()) {
        ++c_;
        i_ = 0;
      }
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++*this;
      return old;
    }
    const_iterator& operator--() {
      if (i_ == 0) {
        --c_;
        i_ = r_->chunks[c_]->size() - 1;
      } else {
        --i_;
      }
      return *this;
    }
    const_iterator operator--(int) {
      auto old = *this;
      --*this;
      return old;
    }
    bool operator==(const const_iterator& o) const { return c_ == o.c_ && i_ == o.i_; }

   private:
    friend class SharedMap;
    const_iterator(const Root* r, size_t c, size_t i) : r_(r), c_(c), i_(i) {}
    const Root* r_ = nullptr;
    size_t c_ = 0;  // chunk index; == chunks.size() at the end
    size_t i_ = 0;  // index in the chunk
  };
  using iterator = const_iterator;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;
  using reverse_iterator = const_reverse_iterator;

  SharedMap() = default;
  SharedMap(std::initializer_list<value_type> init) {
    for (const auto& kv : init) insert_or_assign(kv.first, kv.second);
  }
  SharedMap(const std::map<K, V, Less>& m) {  // NOLINT: implicit, like the map it stands for
    for (const auto& [k, v] : m) insert_or_assign(k, v);
  }

  // ---- reads
  size_t size() const { return r_ ? r_->size : 0; }
  bool empty() const { return size() == 0; }
  const_iterator begin() const { return const_iterator(r_.get(), 0, 0); }
  const_iterator end() const { return const_iterator(r_.get(), r_ ? r_->chunks.size() : 0, 0); }
  const_iterator cbegin() const { return begin(); }
  const_iterator cend() const { return end(); }
  const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }

  const_iterator lower_bound(const K& k) const {
    if (empty()) return end();
    size_t c = chunk_for(*r_, k);
    const Chunk& ch = *r_->chunks[c];
    size_t i = static_cast<size_t>(std::lower_bound(ch.begin(), ch.end(), k, key_less) - ch.begin());
    return i == ch.size() ? const_iterator(r_.get(), c + 1, 0) : const_iterator(r_.get(), c, i);
  }
  const_iterator upper_bound(const K& k) const {
    auto it = lower_bound(k);
    return it != end() && !Less{}(k, it->first) ? std::next(it) : it;
  }
  const_iterator find(const K& k) const {
    auto it = lower_bound(k);
    return it != end() && !Less{}(k, it->first) ? it : end();
  }
  size_t count(const K& k) const { return find(k) != end() ? 1 : 0; }
  bool contains(const K& k) const { return find(k) != end(); }
  const V& at(const K& k) const {
    auto it = find(k);
    if (it == end()) throw std::out_of_range("SharedMap::at");
    return it->second;
  }

  // Whether both maps are the same version (share their root): equal without a look.
  bool shares_root_with(const SharedMap& o) const { return r_ == o.r_; }
  // How many chunks (for tests and memory accounting).
  size_t chunk_count() const { return r_ ? r_->chunks.size() : 0; }

  bool operator==(const SharedMap& o) const {
    if (r_ == o.r_) return true;
    if (size() != o.size()) return false;
    auto a = begin(), b = o.begin(), ea = end();
    while (a != ea) {
      // A chunk both share at the same position is equal without a look.
      if (a.i_ == 0 && b.i_ == 0 && r_->chunks[a.c_] == o.r_->chunks[b.c_]) {
        ++a.c_;
        ++b.c_;
        continue;
      }
      if (!(*a == *b)) return false;
      ++a;
      ++b;
    }
    return true;
  }
  bool operator==(const std::map<K, V, Less>& o) const {
    if (size() != o.size()) return false;
    auto b = o.begin();
    for (const auto& [k, v] : *this) {
      if (Less{}(k, b->first) || Less{}(b->first, k) || !(v == b->second)) return false;
      ++b;
    }
    return true;
  }

  // ---- writes (the delta's thread, on its own copy: see the header comment)

  // Puts v under k (replacing a value there); returns the stored value.
  template <class VV>
  V& insert_or_assign(const K& k, VV&& v) {
    Root& r = own_root();
    if (r.chunks.empty()) {
      auto c = std::make_shared<Chunk>();
      c->emplace_back(k, std::forward<VV>(v));
      r.chunks.push_back(c);
      r.size = 1;
      return c->back().second;
    }
    size_t ci = chunk_for(r, k);
    Chunk& c = own_chunk(r, ci);
    auto it = std::lower_bound(c.begin(), c.end(), k, key_less);
    if (it != c.end() && !Less{}(k, it->first)) {
      it->second = std::forward<VV>(v);
      return it->second;
    }
    size_t pos = static_cast<size_t>(it - c.begin());
    ++r.size;
    if (c.size() < MaxChunk) {
      c.emplace(it, k, std::forward<VV>(v));
      return c[pos].second;
    }
    // Full. An append past the last key starts a new chunk, with room for a
    // whole one (an ascending load fills it next; see shrink_owned_chunks),
    // and keeps this one full; any other insert halves this chunk first.
    if (ci + 1 == r.chunks.size() && pos == c.size()) {
      auto tail = std::make_shared<Chunk>();
      tail->reserve(MaxChunk);
      tail->emplace_back(k, std::forward<VV>(v));
      r.chunks.push_back(tail);
      return tail->back().second;
    }
    size_t cut = c.size() / 2;
    auto tail = std::make_shared<Chunk>(std::make_move_iterator(c.begin() + static_cast<std::ptrdiff_t>(cut)),
                                        std::make_move_iterator(c.end()));
    c.erase(c.begin() + static_cast<std::ptrdiff_t>(cut), c.end());
    r.chunks.insert(r.chunks.begin() + static_cast<std::ptrdiff_t>(ci + 1), tail);
    Chunk& into = pos <= cut ? c : *tail;
    size_t at = pos <= cut ? pos : pos - cut;
    into.emplace(into.begin() + static_cast<std::ptrdiff_t>(at), k, std::forward<VV>(v));
    return into[at].second;
  }
  // The value under k (a default one inserted if absent), like std::map's [].
  V& get_or_insert(const K& k) {
    if (V* v = find_mut(k)) return *v;
    return insert_or_assign(k, V{});
  }
  // The value under k, writable (its chunk made this map's own), or nullptr.
  V* find_mut(const K& k) {
    if (empty()) return nullptr;
    size_t ci = chunk_for(*r_, k);
    const Chunk& cc = *r_->chunks[ci];
    auto cit = std::lower_bound(cc.begin(), cc.end(), k, key_less);
    if (cit == cc.end() || Less{}(k, cit->first)) return nullptr;
    size_t pos = static_cast<size_t>(cit - cc.begin());
    Root& r = own_root();
    return &own_chunk(r, ci)[pos].second;
  }
  bool erase(const K& k) {
    if (empty()) return false;
    size_t ci = chunk_for(*r_, k);
    const Chunk& cc = *r_->chunks[ci];
    auto cit = std::lower_bound(cc.begin(), cc.end(), k, key_less);
    if (cit == cc.end() || Less{}(k, cit->first)) return false;
    size_t pos = static_cast<size_t>(cit - cc.begin());
    Root& r = own_root();
    Chunk& c = own_chunk(r, ci);
    c.erase(c.begin() + static_cast<std::ptrdiff_t>(pos));
    --r.size;
    if (c.empty()) {
      r.chunks.erase(r.chunks.begin() + static_cast<std::ptrdiff_t>(ci));
    } else if (c.size() < MaxChunk / 4 && ci + 1 < r.chunks.size() && c.size() + r.chunks[ci + 1]->size() <= MaxChunk) {
      const Chunk& next = *r.chunks[ci + 1];
      c.insert(c.end(), next.begin(), next.end());
      r.chunks.erase(r.chunks.begin() + static_cast<std::ptrdiff_t>(ci + 1));
    }
    return true;
  }
  void clear() { r_.reset(); }

  // Calls f(value&) on every value whose chunk only this map owns (values
  // shared with another map are skipped: they are not this map's to change).
  template <class F>
  void for_each_owned(F&& f) {
    if (!r_ || r_.use_count() != 1) return;
    for (auto& p : const_cast<Root&>(*r_).chunks)
      if (p.use_count() == 1)
        for (auto& kv : const_cast<Chunk&>(*p)) f(kv.second);
  }
  // Gives back the spare capacity of the chunks only this map owns.
  void shrink_owned_chunks() {
    if (!r_ || r_.use_count() != 1) return;
    for (auto& p : const_cast<Root&>(*r_).chunks)
      if (p.use_count() == 1) const_cast<Chunk&>(*p).shrink_to_fit();
  }

 private:
  static bool key_less(const value_type& e, const K& k) { return Less{}(e.first, k); }

  // The chunk that holds k or would: the last whose first key <= k (0 if k is below all).
  static size_t chunk_for(const Root& r, const K& k) {
    size_t lo = 0, hi = r.chunks.size();
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (Less{}(k, (*r.chunks[mid])[0].first))
        hi = mid;
      else
        lo = mid + 1;
    }
    return lo == 0 ? 0 : lo - 1;
  }

  Root& own_root() {
    if (!r_)
      r_ = std::make_shared<Root>();
    else if (r_.use_count() != 1)
      r_ = std::make_shared<Root>(*r_);
    // Sole owner: nothing else can see this root, so it may change in place.
    return const_cast<Root&>(*r_);
  }
  static Chunk& own_chunk(Root& r, size_t ci) {
    auto& p = r.chunks[ci];
    if (p.use_count() != 1) p = std::make_shared<Chunk>(*p);
    return const_cast<Chunk&>(*p);
  }

  std::shared_ptr<const Root> r_;  // null when empty
};

}  // namespace flotilla::metadata
