// The pieces of a transfer plan shared by transfers within this process (engine_transfer.cpp) and
// with an engine in another process (engine_remote.cpp): resolving what a key names, checking a
// destination, and laying out the copy spans between two caches given their tensor addresses.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "llm_datadist_ref/engine.hpp"

namespace llm_datadist_ref {

using TensorPairs = std::vector<std::pair<uint32_t, uint32_t>>;

/// The cache and batch slice a key names on the serving side, and the key a transfer releases.
struct SourceRef {
    const CacheEntry* entry = nullptr;
    uint32_t batch_index = 0;
    std::optional<KeyId> key;
};

/// One side of a transfer by layout and tensor addresses (in this process's address space).
struct TensorSide {
    const CacheGeometry& geometry;
    const std::vector<std::byte*>& tensors;
    uint32_t batch_index = 0;
};

/// What a pull asks for on the destination side.
struct PullShape {
    RemoteKey::Kind kind;
    uint32_t dst_batch_index;
    int64_t size;
    const std::vector<int64_t>& src_blocks;
    const std::vector<int64_t>& dst_blocks;
    bool blocks;
    const TensorMapping& mapping;
};

/// Callers hold the registry's mutex. Throws KV_CACHE_NOT_EXIST / PARAM_INVALID as a pull would.
SourceRef resolve_source(CacheRegistry& registry, const RemoteKey& key);
SourceRef resolve_push_target(CacheRegistry& registry, int64_t cache_id, uint32_t batch_index);
const CacheEntry& pull_destination(CacheRegistry& registry, int64_t dst_id, bool blocks, uint32_t dst_batch_index,
                                   const std::vector<int64_t>& dst_blocks);

/// Appends the spans of a pull (bounds checked) and returns the (src, dst) tensor pairs.
TensorPairs add_pull_spans(CopyPlan& plan, const TensorSide& src, const CacheEntry& dst, const PullShape& shape);
/// Appends the spans of a push_cache (bounds checked) and returns the (src, dst) tensor pairs.
TensorPairs add_push_spans(CopyPlan& plan, const CacheEntry& src, uint32_t src_batch_index, const TensorSide& dst,
                           const TensorMapping& mapping);

std::vector<uint32_t> firsts(const TensorPairs& pairs);
std::vector<uint32_t> seconds(const TensorPairs& pairs);

template <typename T>
bool distinct(std::vector<T> values) {
    std::sort(values.begin(), values.end());
    return std::adjacent_find(values.begin(), values.end()) == values.end();
}

}  // namespace llm_datadist_ref
