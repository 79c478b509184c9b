// copy_cache and copy_blocks within one engine.
#include <algorithm>
#include <string>
#include <vector>

#include "llm_datadist_ref/engine.hpp"
#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {
namespace {

const CacheEntry& existing(CacheRegistry& registry, int64_t cache_id, const char* role) {
    const CacheEntry* entry = registry.find(cache_id);
    if (entry == nullptr) {
        throw_status(StatusCode::kKvCacheNotExist,
                     std::string(role) + " cache (cache_id " + std::to_string(cache_id) + ") does not exist");
    }
    return *entry;
}

void require_index(int64_t index, uint64_t bound, const char* what) {
    if (index < 0 || static_cast<uint64_t>(index) >= bound) {
        throw_out_of_range(std::string(what) + " " + std::to_string(index) + " out of range [0, " +
                           std::to_string(bound) + ")");
    }
}

}  // namespace

// True unless a block is written twice, or written and also read (pairs with src == dst copy
// nothing and do not count). Costs O(pairs), never O(blocks of the cache): a mark per block when
// the pairs name a good share of the cache, else sorted lists of the blocks read and written.
bool blocks_independent(const std::vector<IndexPair>& pairs, uint32_t num_blocks) {
    constexpr std::size_t kMarksPerPair = 8;
    if (static_cast<std::size_t>(num_blocks) <= kMarksPerPair * pairs.size()) {
        std::vector<uint8_t> role(num_blocks, 0);  // bit 0: read, bit 1: written
        for (const auto& pair : pairs) {
            if (pair.src != pair.dst) {
                role[static_cast<std::size_t>(pair.src)] |= 1;
            }
        }
        for (const auto& pair : pairs) {
            if (pair.src == pair.dst) {
                continue;
            }
            uint8_t& mark = role[static_cast<std::size_t>(pair.dst)];
            if (mark != 0) {
                return false;
            }
            mark = 2;
        }
        return true;
    }
    std::vector<int64_t> read;
    std::vector<int64_t> written;
    read.reserve(pairs.size());
    written.reserve(pairs.size());
    for (const auto& pair : pairs) {
        if (pair.src != pair.dst) {
            read.push_back(pair.src);
            written.push_back(pair.dst);
        }
    }
    std::sort(read.begin(), read.end());
    std::sort(written.begin(), written.end());
    if (std::adjacent_find(written.begin(), written.end()) != written.end()) {
        return false;
    }
    // No block both read and written: the sorted lists share no value.
    auto r = read.begin();
    for (const int64_t block : written) {
        r = std::lower_bound(r, read.end(), block);
        if (r != read.end() && *r == block) {
            return false;
        }
    }
    return true;
}

CopyPlan Engine::plan_copy_cache(int64_t dst_id, int64_t src_id, uint32_t dst_batch_index, uint32_t src_batch_index,
                                 uint64_t offset, int64_t size, const Deadline& deadline) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    require_live();
    const CacheEntry& src = existing(registry_, src_id, "src");
    const CacheEntry& dst = existing(registry_, dst_id, "dst");
    if (src.geometry.is_blocks || dst.geometry.is_blocks) {
        throw_status(StatusCode::kParamInvalid, "param check failed, copy_cache does not take blocks caches");
    }
    if (src.geometry.num_tensors != dst.geometry.num_tensors) {
        throw_out_of_range("num_tensors mismatches, src = " + std::to_string(src.geometry.num_tensors) +
                           ", dst = " + std::to_string(dst.geometry.num_tensors));
    }
    require_index(src_batch_index, src.geometry.batch_size, "src_batch_index");
    require_index(dst_batch_index, dst.geometry.batch_size, "dst_batch_index");
    if (size != -1 && size <= 0) {
        throw_out_of_range("size (" + std::to_string(size) + ") is invalid, should be -1 or > 0");
    }
    const uint64_t src_stride = src.geometry.stride;
    const uint64_t dst_stride = dst.geometry.stride;
    if (offset >= src_stride || offset >= dst_stride) {
        throw_out_of_range("offset " + std::to_string(offset) + " out of range of a batch slice (src " +
                           std::to_string(src_stride) + " B, dst " + std::to_string(dst_stride) + " B)");
    }
    const uint64_t bytes = size == -1 ? src_stride - offset : static_cast<uint64_t>(size);
    if (bytes > src_stride - offset || bytes > dst_stride - offset) {
        throw_out_of_range("offset + size (" + std::to_string(offset) + " + " + std::to_string(bytes) +
                           ") exceeds a batch slice (src " + std::to_string(src_stride) + " B, dst " +
                           std::to_string(dst_stride) + " B)");
    }
    deadline.check("copy_cache");

    CopyPlan plan;
    plan.pins = {src.storage, dst.storage};
    plan.spans.reserve(src.geometry.num_tensors);
    const uint64_t src_at = src_stride * src_batch_index + offset;
    const uint64_t dst_at = dst_stride * dst_batch_index + offset;
    for (uint32_t t = 0; t < src.geometry.num_tensors; ++t) {
        plan.spans.push_back({dst.storage->tensor(t) + dst_at, src.storage->tensor(t) + src_at, bytes});
    }
    plan.total_bytes = bytes * src.geometry.num_tensors;
    plan.independent = true;  // each span stays within its own tensor
    return plan;
}

CopyPlan Engine::plan_copy_blocks(int64_t cache_id, const std::vector<IndexPair>& pairs, const Deadline& deadline) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    require_live();
    const CacheEntry& cache = existing(registry_, cache_id, "");
    if (!cache.geometry.is_blocks) {
        throw_status(StatusCode::kParamInvalid, "param check failed, cache should be blocks cache");
    }
    const uint32_t num_blocks = cache.geometry.batch_size;
    for (const auto& pair : pairs) {
        require_index(pair.src, num_blocks, "src block index");
        require_index(pair.dst, num_blocks, "dst block index");
    }
    deadline.check("copy_blocks");

    CopyPlan plan;
    plan.pins = {cache.storage};
    const uint64_t block = cache.geometry.stride;
    plan.spans.reserve(pairs.size() * cache.geometry.num_tensors);
    for (uint32_t t = 0; t < cache.geometry.num_tensors; ++t) {
        std::byte* base = cache.storage->tensor(t);
        for (const auto& pair : pairs) {
            if (pair.src != pair.dst) {
                plan.spans.push_back({base + block * static_cast<uint64_t>(pair.dst),
                                      base + block * static_cast<uint64_t>(pair.src), block});
            }
        }
    }
    plan.total_bytes = plan.spans.size() * block;
    plan.independent = blocks_independent(pairs, num_blocks);
    return plan;
}

void Engine::run(const CopyPlan& plan) const {
    if (plan.independent && plan.total_bytes >= kParallelCopyThreshold && copy_parallelism() > 1) {
        copier_->run_parallel(plan.spans, copy_parallelism());
    } else {
        copier_->run(plan.spans.data(), plan.spans.size());
    }
}

}  // namespace llm_datadist_ref
