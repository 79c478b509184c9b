#include "llm_datadist_ref/cache_registry.hpp"

#include <algorithm>
#include <utility>

namespace llm_datadist_ref {

int64_t CacheRegistry::insert(const CacheGeometry& geometry, std::shared_ptr<CacheStorage> storage,
                              std::vector<std::optional<KeyId>> key_slots, std::optional<uint64_t> blocks_key_model) {
    const int64_t id = next_id_++;
    CacheEntry entry;
    entry.id = id;
    entry.geometry = geometry;
    entry.storage = std::move(storage);
    entry.blocks_key_model = blocks_key_model;
    entry.key_slots = std::move(key_slots);
    if (!entry.key_slots.empty()) {
        keys_.reserve(keys_.size() + entry.key_slots.size());  // (even reserve(size()) costs a rehash check)
    }
    for (std::size_t index = 0; index < entry.key_slots.size(); ++index) {
        if (const auto& key = entry.key_slots[index]) {
            KeyBinding binding;
            binding.cache_id = id;
            binding.batch_index = static_cast<uint32_t>(index);
            keys_.emplace(*key, std::move(binding));
            ++entry.bound_keys;
        }
    }
    if (blocks_key_model) {
        blocks_keys_[*blocks_key_model] = id;
    }
    entry_nodes_.insert(entries_, id, std::move(entry));
    return id;
}

CacheEntry* CacheRegistry::find(int64_t cache_id) noexcept {
    const auto it = entries_.find(cache_id);
    return it == entries_.end() ? nullptr : &it->second;
}

KeyBinding* CacheRegistry::find_key(const KeyId& key) noexcept {
    const auto it = keys_.find(key);
    return it == keys_.end() ? nullptr : &it->second;
}

CacheEntry* CacheRegistry::find_blocks(uint64_t model_id) noexcept {
    const auto it = blocks_keys_.find(model_id);
    return it == blocks_keys_.end() ? nullptr : find(it->second);
}

std::optional<KeyId> CacheRegistry::key_at(const CacheEntry& entry, uint32_t batch_index) const noexcept {
    return batch_index < entry.key_slots.size() ? entry.key_slots[batch_index] : std::nullopt;
}

void CacheRegistry::erase_entry(EntryMap::iterator it) {
    auto& entry = it->second;
    for (const auto& key : entry.key_slots) {
        if (key) {
            keys_.erase(*key);
        }
    }
    if (entry.blocks_key_model) {
        const auto bk = blocks_keys_.find(*entry.blocks_key_model);
        if (bk != blocks_keys_.end() && bk->second == entry.id) {
            blocks_keys_.erase(bk);
        }
    }
    entry_nodes_.erase(entries_, it);  // drops the storage reference: pages return once no copy pins them
}

void CacheRegistry::release_id(int64_t cache_id) {
    const auto it = entries_.find(cache_id);
    if (it == entries_.end() || !it->second.id_referenced) {
        return;
    }
    it->second.id_referenced = false;
    if (it->second.bound_keys == 0) {
        erase_entry(it);
    }
}

void CacheRegistry::release_key(const KeyId& key) {
    const auto binding = keys_.find(key);
    if (binding != keys_.end()) {
        release_binding(binding);
    }
}

void CacheRegistry::release_binding(KeyMap::iterator binding) {
    const int64_t cache_id = binding->second.cache_id;
    const uint32_t batch_index = binding->second.batch_index;
    keys_.erase(binding);
    const auto it = entries_.find(cache_id);
    if (it == entries_.end()) {
        return;
    }
    CacheEntry& entry = it->second;
    entry.key_slots[batch_index].reset();
    --entry.bound_keys;
    if (!entry.id_referenced && entry.bound_keys == 0) {
        erase_entry(it);
    }
}

namespace {

/// Whether `indices` are 0, 1, ..., n - 1: a pull of the whole batch slice, every tensor once.
bool every_tensor_in_order(const std::vector<uint32_t>& indices, uint32_t n) noexcept {
    if (indices.size() != n) {
        return false;
    }
    for (uint32_t i = 0; i < n; ++i) {
        if (indices[i] != i) {
            return false;
        }
    }
    return true;
}

}  // namespace

void CacheRegistry::take_tensors(const KeyId& key, const std::vector<uint32_t>& tensor_indices) {
    const auto found = keys_.find(key);
    if (found == keys_.end()) {
        return;
    }
    KeyBinding& binding = found->second;
    const CacheEntry* entry = find(binding.cache_id);
    if (entry == nullptr) {
        return;
    }
    const uint32_t num_tensors = entry->geometry.num_tensors;
    if (binding.taken.empty() && every_tensor_in_order(tensor_indices, num_tensors)) {
        release_binding(found);  // the common whole-slice pull: no per-tensor bookkeeping
        return;
    }
    if (binding.taken.empty()) {
        binding.taken.assign(num_tensors, false);
    }
    for (const uint32_t index : tensor_indices) {
        if (index < num_tensors && !binding.taken[index]) {
            binding.taken[index] = true;
            ++binding.taken_count;
        }
    }
    if (binding.taken_count >= num_tensors) {
        release_binding(found);
    }
}

void CacheRegistry::erase(int64_t cache_id) {
    const auto it = entries_.find(cache_id);
    if (it != entries_.end()) {
        erase_entry(it);
    }
}

std::vector<std::shared_ptr<CacheStorage>> CacheRegistry::clear() {
    std::vector<std::shared_ptr<CacheStorage>> storages;
    storages.reserve(entries_.size());
    for (auto& [id, entry] : entries_) {
        storages.push_back(std::move(entry.storage));
    }
    entries_.clear();
    keys_.clear();
    blocks_keys_.clear();
    return storages;
}

std::vector<int64_t> CacheRegistry::cache_ids() const {
    std::vector<int64_t> ids;
    ids.reserve(entries_.size());
    for (const auto& [id, entry] : entries_) {
        ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace llm_datadist_ref
