// pull_cache / pull_blocks / push_cache between two engines of this process (the disaggregated
// PROMPT and DECODER). Validation, deadline check and the key release happen under both registry
// locks; the bytes move after the locks are released, from pinned storage. The resolution and
// span-building pieces are shared with transfers to a peer process (engine_remote.cpp).
#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

#include "llm_datadist_ref/engine.hpp"
#include "llm_datadist_ref/status.hpp"
#include "llm_datadist_ref/transfer_plan.hpp"

namespace llm_datadist_ref {
namespace {

/// Locks one or two registries without deadlocking on the order or on a self-transfer.
class PairLock {
  public:
    PairLock(std::mutex& a, std::mutex& b) : first_(a, std::defer_lock), second_(b, std::defer_lock) {
        if (&a == &b) {
            first_.lock();
        } else {
            std::lock(first_, second_);
        }
    }

  private:
    std::unique_lock<std::mutex> first_;
    std::unique_lock<std::mutex> second_;
};

[[noreturn]] void not_exist(const std::string& what) {
    throw_status(StatusCode::kKvCacheNotExist, what + " does not exist on the remote cluster");
}

/// (src tensor, dst tensor) pairs of a transfer.
TensorPairs tensor_pairs(const TensorMapping& mapping, uint32_t src_tensors,
                                                        uint32_t dst_tensors) {
    std::vector<uint32_t> src = mapping.src;
    std::vector<uint32_t> dst = mapping.dst;
    if (src.empty() && dst.empty()) {
        if (src_tensors != dst_tensors) {
            throw_out_of_range("num_tensors mismatches, src = " + std::to_string(src_tensors) +
                               ", dst = " + std::to_string(dst_tensors));
        }
        for (uint32_t i = 0; i < src_tensors; ++i) {
            src.push_back(i);
        }
        dst = src;
    } else if (dst.empty()) {
        if (src.size() != dst_tensors) {
            throw_out_of_range("src layer range names " + std::to_string(src.size()) + " tensors, dst has " +
                               std::to_string(dst_tensors));
        }
        for (uint32_t i = 0; i < dst_tensors; ++i) {
            dst.push_back(i);
        }
    } else if (src.empty()) {
        if (dst.size() != src_tensors) {
            throw_out_of_range("dst layer range names " + std::to_string(dst.size()) + " tensors, src has " +
                               std::to_string(src_tensors));
        }
        for (uint32_t i = 0; i < src_tensors; ++i) {
            src.push_back(i);
        }
    } else if (src.size() != dst.size()) {
        throw_out_of_range("src_layer_range and dst_layer_range name different numbers of tensors");
    }
    TensorPairs pairs;
    pairs.reserve(src.size());
    for (std::size_t i = 0; i < src.size(); ++i) {
        if (src[i] >= src_tensors || dst[i] >= dst_tensors) {
            throw_out_of_range("layer range out of range of the caches' tensors (src " + std::to_string(src_tensors) +
                               ", dst " + std::to_string(dst_tensors) + ")");
        }
        pairs.emplace_back(src[i], dst[i]);
    }
    return pairs;
}

}  // namespace

std::vector<uint32_t> firsts(const TensorPairs& pairs) {
    std::vector<uint32_t> out;
    out.reserve(pairs.size());
    for (const auto& p : pairs) {
        out.push_back(p.first);
    }
    return out;
}

std::vector<uint32_t> seconds(const TensorPairs& pairs) {
    std::vector<uint32_t> out;
    out.reserve(pairs.size());
    for (const auto& p : pairs) {
        out.push_back(p.second);
    }
    return out;
}

namespace {

void require_block(int64_t index, uint32_t num_blocks, const char* what) {
    if (index < 0 || index >= static_cast<int64_t>(num_blocks)) {
        throw_out_of_range(std::string(what) + " " + std::to_string(index) + " out of range [0, " +
                           std::to_string(num_blocks) + ")");
    }
}

}  // namespace

SourceRef resolve_source(CacheRegistry& registry, const RemoteKey& key) {
    SourceRef ref;
    switch (key.kind) {
        case RemoteKey::Kind::kCacheKey: {
            const bool req_valid = key.key.req_id != kInvalidId;
            if (req_valid && key.key.is_prefix()) {
                throw_status(StatusCode::kParamInvalid, "only one of req id and prefix id should be valid");
            }
            if (key.key.is_placeholder()) {
                not_exist("a placeholder cache_key (req_id UINT64_MAX)");
            }
            const KeyId id = KeyId::of(key.key);
            const KeyBinding* binding = registry.find_key(id);
            if (binding == nullptr) {
                not_exist("cache_key (" + std::to_string(id.id) + ", " + std::to_string(id.model_id) + ")");
            }
            ref.entry = registry.find(binding->cache_id);
            ref.batch_index = binding->batch_index;
            ref.key = id;
            break;
        }
        case RemoteKey::Kind::kById: {
            ref.entry = registry.find(key.cache_id);
            if (ref.entry == nullptr || ref.entry->geometry.is_blocks || key.batch_index >= ref.entry->geometry.batch_size) {
                not_exist("cache (cache_id " + std::to_string(key.cache_id) + ", batch_index " +
                          std::to_string(key.batch_index) + ")");
            }
            ref.batch_index = key.batch_index;
            ref.key = registry.key_at(*ref.entry, ref.batch_index);
            break;
        }
        case RemoteKey::Kind::kBlocks: {
            ref.entry = registry.find_blocks(key.model_id);
            if (ref.entry == nullptr) {
                not_exist("blocks cache (model_id " + std::to_string(key.model_id) + ")");
            }
            break;
        }
    }
    if (ref.entry == nullptr) {
        not_exist("cache");
    }
    if (key.kind != RemoteKey::Kind::kBlocks && ref.entry->geometry.is_blocks) {
        throw_status(StatusCode::kParamInvalid, "the remote cache is a blocks cache; use a BlocksCacheKey");
    }
    return ref;
}

SourceRef resolve_push_target(CacheRegistry& registry, int64_t cache_id, uint32_t batch_index) {
    SourceRef ref;
    ref.entry = registry.find(cache_id);
    if (ref.entry == nullptr || ref.entry->geometry.is_blocks || batch_index >= ref.entry->geometry.batch_size) {
        not_exist("cache (cache_id " + std::to_string(cache_id) + ", batch_index " + std::to_string(batch_index) +
                  ")");
    }
    ref.batch_index = batch_index;
    ref.key = registry.key_at(*ref.entry, batch_index);
    return ref;
}

const CacheEntry& pull_destination(CacheRegistry& registry, int64_t dst_id, bool blocks, uint32_t dst_batch_index,
                                   const std::vector<int64_t>& dst_blocks) {
    const CacheEntry* dst = registry.find(dst_id);
    if (dst == nullptr) {
        throw_status(StatusCode::kKvCacheNotExist, "dst cache (cache_id " + std::to_string(dst_id) + ") does not exist");
    }
    if (dst->geometry.is_blocks != blocks) {
        throw_status(StatusCode::kParamInvalid, blocks ? "param check failed, dst_cache should be blocks cache"
                                                       : "param check failed, cache can not be blocks cache");
    }
    if (!blocks && dst_batch_index >= dst->geometry.batch_size) {
        throw_out_of_range("batch_index " + std::to_string(dst_batch_index) + " out of range [0, " +
                           std::to_string(dst->geometry.batch_size) + ")");
    }
    if (blocks) {
        if (dst_blocks.empty()) {
            throw_out_of_range("dst_blocks can not be empty");
        }
        for (const int64_t b : dst_blocks) {
            require_block(b, dst->geometry.batch_size, "dst block index");
        }
    }
    return *dst;
}

TensorPairs add_pull_spans(CopyPlan& plan, const TensorSide& src, const CacheEntry& dst, const PullShape& shape) {
    const auto tensors = tensor_pairs(shape.mapping, src.geometry.num_tensors, dst.geometry.num_tensors);
    const uint64_t src_stride = src.geometry.stride;
    const uint64_t dst_stride = dst.geometry.stride;
    const uint64_t src_offset = src_stride * src.batch_index;
    if (!shape.blocks) {
        if (shape.size != -1 && shape.size <= 0) {
            throw_out_of_range("size (" + std::to_string(shape.size) + ") is invalid, should be -1 or > 0");
        }
        const uint64_t bytes = shape.size == -1 ? src_stride : static_cast<uint64_t>(shape.size);
        if (bytes > src_stride || bytes > dst_stride) {
            throw_out_of_range("pull size " + std::to_string(bytes) + " exceeds a batch slice (src " +
                               std::to_string(src_stride) + " B, dst " + std::to_string(dst_stride) + " B)");
        }
        for (const auto& [s, d] : tensors) {
            plan.spans.push_back(
                {dst.storage->tensor(d) + dst_stride * shape.dst_batch_index, src.tensors[s] + src_offset, bytes});
        }
    } else if (shape.kind == RemoteKey::Kind::kBlocks) {
        const auto& src_blocks = shape.src_blocks;
        const auto& dst_blocks = shape.dst_blocks;
        if (src_blocks.empty() || src_blocks.size() != dst_blocks.size()) {
            throw_out_of_range("src_blocks and dst_blocks must be non-empty and of equal length");
        }
        if (src_stride != dst_stride) {
            throw_out_of_range("block sizes differ: src " + std::to_string(src_stride) + " B, dst " +
                               std::to_string(dst_stride) + " B");
        }
        for (const int64_t b : src_blocks) {
            require_block(b, src.geometry.batch_size, "src block index");
        }
        for (const auto& [s, d] : tensors) {
            for (std::size_t i = 0; i < src_blocks.size(); ++i) {
                plan.spans.push_back({dst.storage->tensor(d) + dst_stride * static_cast<uint64_t>(dst_blocks[i]),
                                      src.tensors[s] + src_stride * static_cast<uint64_t>(src_blocks[i]), src_stride});
            }
        }
    } else {
        // A batch slice of a cache, laid out across dst blocks in order.
        if (!shape.src_blocks.empty()) {
            throw_out_of_range("src_blocks should be empty when src_cache_key is not a BlocksCacheKey");
        }
        const uint64_t needed = (src_stride + dst_stride - 1) / dst_stride;
        if (shape.dst_blocks.size() != needed) {
            throw_out_of_range("a batch slice of " + std::to_string(src_stride) + " B needs " +
                               std::to_string(needed) + " dst blocks of " + std::to_string(dst_stride) + " B");
        }
        for (const auto& [s, d] : tensors) {
            uint64_t done = 0;
            for (const int64_t b : shape.dst_blocks) {
                const uint64_t chunk = std::min(dst_stride, src_stride - done);
                plan.spans.push_back({dst.storage->tensor(d) + dst_stride * static_cast<uint64_t>(b),
                                      src.tensors[s] + src_offset + done, chunk});
                done += chunk;
            }
        }
    }
    for (const auto& span : plan.spans) {
        plan.total_bytes += span.bytes;
    }
    return tensors;
}

TensorPairs add_push_spans(CopyPlan& plan, const CacheEntry& src, uint32_t src_batch_index, const TensorSide& dst,
                           const TensorMapping& mapping) {
    if (src.geometry.is_blocks) {
        throw_status(StatusCode::kParamInvalid, "param check failed, cache can not be blocks cache");
    }
    if (src_batch_index >= src.geometry.batch_size) {
        throw_out_of_range("src_batch_index " + std::to_string(src_batch_index) + " out of range [0, " +
                           std::to_string(src.geometry.batch_size) + ")");
    }
    const auto tensors = tensor_pairs(mapping, src.geometry.num_tensors, dst.geometry.num_tensors);
    const uint64_t bytes = src.geometry.stride;
    if (bytes > dst.geometry.stride) {
        throw_out_of_range("src batch slice (" + std::to_string(bytes) + " B) exceeds the remote batch slice (" +
                           std::to_string(dst.geometry.stride) + " B)");
    }
    for (const auto& [s, d] : tensors) {
        plan.spans.push_back({dst.tensors[d] + dst.geometry.stride * dst.batch_index,
                              src.storage->tensor(s) + src.geometry.stride * src_batch_index, bytes});
    }
    plan.total_bytes = bytes * tensors.size();
    return tensors;
}

CopyPlan Engine::plan_pull(Engine& remote, const RemoteKey& key, int64_t dst_id, uint32_t dst_batch_index,
                           int64_t size, const std::vector<int64_t>& src_blocks, const std::vector<int64_t>& dst_blocks,
                           bool blocks, const TensorMapping& mapping, const Deadline& deadline) {
    const char* operation = blocks ? "pull_blocks" : "pull_cache";
    PairLock lock(registry_.mutex(), remote.registry_.mutex());
    require_live();
    if (remote.finalized_flag_) {
        throw_status(StatusCode::kNotYetLink, "the remote cluster has been finalized");
    }
    const CacheEntry& dst = pull_destination(registry_, dst_id, blocks, dst_batch_index, dst_blocks);
    const SourceRef src = resolve_source(remote.registry_, key);

    CopyPlan plan;
    plan.pins = {src.entry->storage, dst.storage};
    const TensorSide src_side{src.entry->geometry, src.entry->storage->tensors(), src.batch_index};
    const PullShape shape{key.kind, dst_batch_index, size, src_blocks, dst_blocks, blocks, mapping};
    const auto tensors = add_pull_spans(plan, src_side, dst, shape);
    deadline.check(operation);
    plan.independent = plan.total_bytes >= kParallelCopyThreshold && src.entry->storage != dst.storage &&
                       distinct(seconds(tensors)) && (!blocks || distinct(std::vector<int64_t>(dst_blocks)));

    // Commit: a successful pull_cache releases the key it consumed (once every tensor is pulled).
    // This may free the remote entry: `src` must not be used after it (the plan pins the memory).
    if (!blocks && src.key) {
        remote.registry_.take_tensors(*src.key, firsts(tensors));
    }
    return plan;
}

CopyPlan Engine::plan_push(Engine& remote, int64_t remote_cache_id, uint32_t remote_batch_index, int64_t src_id,
                           uint32_t src_batch_index, const TensorMapping& mapping, const Deadline& deadline) {
    PairLock lock(registry_.mutex(), remote.registry_.mutex());
    require_live();
    if (remote.finalized_flag_) {
        throw_status(StatusCode::kNotYetLink, "the remote cluster has been finalized");
    }
    const CacheEntry* src = registry_.find(src_id);
    if (src == nullptr) {
        throw_status(StatusCode::kKvCacheNotExist, "src cache (cache_id " + std::to_string(src_id) + ") does not exist");
    }
    if (src->geometry.is_blocks) {
        throw_status(StatusCode::kParamInvalid, "param check failed, cache can not be blocks cache");
    }
    if (src_batch_index >= src->geometry.batch_size) {
        throw_out_of_range("src_batch_index " + std::to_string(src_batch_index) + " out of range [0, " +
                           std::to_string(src->geometry.batch_size) + ")");
    }
    const SourceRef dst = resolve_push_target(remote.registry_, remote_cache_id, remote_batch_index);
    CopyPlan plan;
    plan.pins = {src->storage, dst.entry->storage};
    const TensorSide dst_side{dst.entry->geometry, dst.entry->storage->tensors(), remote_batch_index};
    const auto tensors = add_push_spans(plan, *src, src_batch_index, dst_side, mapping);
    deadline.check("push_cache");
    plan.independent =
        plan.total_bytes >= kParallelCopyThreshold && src->storage != dst.entry->storage && distinct(seconds(tensors));
    // Commit: the key bound to the written batch index is released once every tensor is written.
    if (dst.key) {
        remote.registry_.take_tensors(*dst.key, seconds(tensors));
    }
    return plan;
}

}  // namespace llm_datadist_ref
