// The caches of one engine and the two kinds of references that keep them alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "llm_datadist_ref/memory_pool.hpp"
#include "llm_datadist_ref/node_recycler.hpp"

namespace llm_datadist_ref {

/// UINT64_MAX: the "no id" value of req_id and prefix_id.
constexpr uint64_t kInvalidId = ~uint64_t{0};

enum class Placement : uint8_t { kHost = 0, kDevice = 1 };

/// Layout of a cache. Batch slice (or block) i of tensor t is the `stride` bytes at
/// tensor(t) + i * stride, with stride = tensor_bytes / batch_size as the vendor computes it.
struct CacheGeometry {
    uint32_t num_tensors = 0;
    uint64_t tensor_bytes = 0;
    uint32_t batch_size = 0;
    uint64_t stride = 0;
    Placement placement = Placement::kDevice;
    bool is_blocks = false;
};

/// A CacheKey as given: the vendor indexes it by (prefix_id if set, else req_id; model_id).
struct KeySpec {
    uint64_t req_id = kInvalidId;
    uint64_t prefix_id = kInvalidId;
    uint64_t model_id = 0;

    bool is_prefix() const noexcept { return prefix_id != kInvalidId; }
    /// The UINT64_MAX placeholder: holds its batch index, is never bound, never pullable.
    bool is_placeholder() const noexcept { return !is_prefix() && req_id == kInvalidId; }
};

/// The identity a key is bound under.
struct KeyId {
    uint64_t id = 0;
    uint64_t model_id = 0;
    bool is_prefix = false;

    static KeyId of(const KeySpec& key) noexcept {
        return key.is_prefix() ? KeyId{key.prefix_id, key.model_id, true}
                               : KeyId{key.req_id, key.model_id, false};
    }
    bool operator==(const KeyId& other) const noexcept {
        return id == other.id && model_id == other.model_id && is_prefix == other.is_prefix;
    }
};

struct KeyIdHash {
    std::size_t operator()(const KeyId& key) const noexcept {
        uint64_t h = key.id * 0x9E3779B97F4A7C15ULL;
        h ^= (key.model_id + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2));
        return static_cast<std::size_t>(h ^ static_cast<uint64_t>(key.is_prefix));
    }
};

/// Where a key points, and which tensors a layer-wise pull has already taken (the key is released
/// once every tensor has been pulled).
struct KeyBinding {
    int64_t cache_id = 0;
    uint32_t batch_index = 0;
    std::vector<bool> taken;  ///< empty until the first partial pull
    uint32_t taken_count = 0;
};

struct CacheEntry {
    int64_t id = 0;
    CacheGeometry geometry;
    std::shared_ptr<CacheStorage> storage;
    bool id_referenced = true;                          ///< released by deallocate_cache
    /// The key bound to each batch index, the reverse of the registry's key -> binding index.
    /// Keys name indices [0, number of keys given), so this is as long as the allocate call's key
    /// list, not the batch; a placeholder, an earlier duplicate or a released key leaves a hole.
    std::vector<std::optional<KeyId>> key_slots;
    uint32_t bound_keys = 0;                            ///< key references still held
    std::optional<uint64_t> blocks_key_model;           ///< BlocksCacheKey model_id, if any
};

/// The cache table. Not thread-safe by itself: callers hold mutex() around every call, and never
/// call into Python while holding it.
class CacheRegistry {
  public:
    std::mutex& mutex() noexcept { return mu_; }

    /// Adds a cache referenced by its id and by the keys of `key_slots` (slot i: the key bound to
    /// batch index i, if any; no key twice, none already bound), returning its id.
    int64_t insert(const CacheGeometry& geometry, std::shared_ptr<CacheStorage> storage,
                   std::vector<std::optional<KeyId>> key_slots, std::optional<uint64_t> blocks_key_model);

    CacheEntry* find(int64_t cache_id) noexcept;
    KeyBinding* find_key(const KeyId& key) noexcept;
    bool is_bound(const KeyId& key) const noexcept { return keys_.count(key) != 0; }
    bool is_blocks_key_bound(uint64_t model_id) const noexcept { return blocks_keys_.count(model_id) != 0; }
    CacheEntry* find_blocks(uint64_t model_id) noexcept;
    /// The key bound to one batch index of a cache, if any. Constant time.
    std::optional<KeyId> key_at(const CacheEntry& entry, uint32_t batch_index) const noexcept;

    /// Drops the cache_id reference; frees the cache when no key holds it. No-op if already dropped.
    void release_id(int64_t cache_id);
    /// Drops one key reference; frees the cache when it was the last and the id is released.
    void release_key(const KeyId& key);
    /// Marks tensors of a bound key as taken by a layer-wise transfer; releases the key once all are.
    void take_tensors(const KeyId& key, const std::vector<uint32_t>& tensor_indices);
    /// Removes a cache with all its references (blocks caches are freed at once).
    void erase(int64_t cache_id);
    /// Removes every cache; returns the storages so the caller can drop them outside the lock.
    std::vector<std::shared_ptr<CacheStorage>> clear();

    std::size_t cache_count() const noexcept { return entries_.size(); }
    std::size_t key_count() const noexcept { return keys_.size(); }
    std::vector<int64_t> cache_ids() const;

  private:
    using KeyMap = std::unordered_map<KeyId, KeyBinding, KeyIdHash>;
    using EntryMap = std::unordered_map<int64_t, CacheEntry>;
    void erase_entry(EntryMap::iterator it);
    /// Drops one key's binding and, with it, the cache's last reference if it was that.
    void release_binding(KeyMap::iterator binding);

    std::mutex mu_;
    int64_t next_id_ = 1;  // vendor ids start at 1 and grow; never reused
    EntryMap entries_;
    NodeRecycler<EntryMap> entry_nodes_;  // an allocate after a deallocate reuses the entry's node
    KeyMap keys_;
    std::unordered_map<uint64_t, int64_t> blocks_keys_;
};

}  // namespace llm_datadist_ref
