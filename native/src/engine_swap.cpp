// swap_blocks: HOST <-> DEVICE block moves. Swap-out runs on 4 workers; swap-in runs through a
// 4-block staging buffer (an H2D stage on the caller, a D2D stage on one worker), as the document
// describes the device implementation. Small swaps run inline.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "llm_datadist_ref/engine.hpp"
#include "llm_datadist_ref/status.hpp"
#include "llm_datadist_ref/worker_pool.hpp"

namespace llm_datadist_ref {
namespace {

constexpr unsigned kSwapOutWorkers = 4;
constexpr std::size_t kStagingSlots = 4;

struct SwapSide {
    const std::vector<std::byte*>* tensors = nullptr;
    uint64_t block_bytes = 0;
    uint32_t num_blocks = 0;
    Placement placement = Placement::kHost;
    std::shared_ptr<CacheStorage> pin;
};

SwapSide resolve(CacheRegistry& registry, int64_t cache_id, const ExternalCache* external, const char* role) {
    SwapSide side;
    if (cache_id >= 0) {
        const CacheEntry* entry = registry.find(cache_id);
        if (entry == nullptr) {
            throw_status(StatusCode::kKvCacheNotExist,
                         std::string(role) + " cache (cache_id " + std::to_string(cache_id) + ") does not exist");
        }
        if (!entry->geometry.is_blocks) {
            throw_out_of_range(std::string("param check failed, ") + role + " cache should be blocks cache");
        }
        side.tensors = &entry->storage->tensors();
        side.block_bytes = entry->geometry.stride;
        side.num_blocks = entry->geometry.batch_size;
        side.placement = entry->geometry.placement;
        side.pin = entry->storage;
        return side;
    }
    if (external == nullptr || external->num_blocks == 0 || external->tensor_bytes < external->num_blocks) {
        throw_out_of_range(std::string(role) + " cpu cache is empty");
    }
    side.tensors = &external->tensors;
    side.block_bytes = external->tensor_bytes / external->num_blocks;
    side.num_blocks = external->num_blocks;
    side.placement = Placement::kHost;  // Cache.create_cpu_cache requires HOST
    return side;
}

/// Lowest address a caller's tensor may start at: the null page and the rest of what Linux
/// refuses to map by default (vm.mmap_min_addr, 64 KiB) hold nothing a caller can own.
constexpr std::uintptr_t kLowestUserAddress = 64 * 1024;

/// Whether the page holding `address` is mapped (mincore fails with ENOMEM otherwise).
bool page_is_mapped(std::uintptr_t address) noexcept {
    static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    unsigned char resident = 0;
    return ::mincore(reinterpret_cast<void*>(address & ~(page - 1)), 1, &resident) == 0;
}

/// The checks the core can make on caller memory without touching it (ExternalCache).
void check_external(const Engine& engine, const ExternalCache& external, const char* role) {
    const std::size_t bytes = external.tensor_bytes;
    std::vector<std::pair<std::uintptr_t, std::size_t>> spans;  // (begin, index), sorted below
    spans.reserve(external.tensors.size());
    for (std::size_t i = 0; i < external.tensors.size(); ++i) {
        const auto begin = reinterpret_cast<std::uintptr_t>(external.tensors[i]);
        const std::string tensor = std::string(role) + " cpu cache tensor " + std::to_string(i);
        if (begin < kLowestUserAddress || bytes > UINTPTR_MAX - begin) {
            throw_out_of_range(tensor + " has an invalid address " + std::to_string(begin));
        }
        if (!page_is_mapped(begin) || !page_is_mapped(begin + bytes - 1)) {
            throw_out_of_range(tensor + " at address " + std::to_string(begin) + " is not mapped memory of " +
                               std::to_string(bytes) + " bytes");
        }
        if (engine.aliases_own_memory(external.tensors[i], bytes)) {
            throw_out_of_range(tensor + " lies in this engine's own pool or staging memory");
        }
        spans.emplace_back(begin, i);
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i) {
        if (spans[i].first - spans[i - 1].first < bytes) {
            throw_out_of_range(std::string(role) + " cpu cache tensors " + std::to_string(spans[i - 1].second) +
                               " and " + std::to_string(spans[i].second) + " overlap");
        }
    }
}

void run_ring(const std::vector<CopySpan>& pieces, std::byte* staging, std::size_t slot_bytes) {
    // Ring of kStagingSlots slots. One producer (the caller: host -> staging, the H2D stage) fills
    // slots in order; the D2D stage (staging -> device) is drained by one worker AND by the caller
    // whenever the ring is full, so neither stage waits for a thread that is not running: on a
    // busy machine the caller does both stages itself instead of handing every piece over and
    // waiting. Drainers claim filled pieces with one CAS each; a slot is refilled once its piece
    // is drained. Waits spin briefly, then yield.
    struct Ring {
        std::atomic<std::size_t> filled{0};     ///< pieces staged so far
        std::atomic<std::size_t> claimed{0};    ///< pieces a drainer has taken
        std::atomic<std::size_t> completed{0};  ///< pieces written to the device
        std::array<std::atomic<std::size_t>, kStagingSlots> drained{};  ///< per slot: last piece + 1
        std::array<CopySpan, kStagingSlots> pieces{};
    };
    auto ring = std::make_shared<Ring>();
    const std::size_t total = pieces.size();
    const auto wait_until = [](const auto& ready) {
        for (unsigned spins = 0; !ready(); ++spins) {
            if (spins >= 64) {
                std::this_thread::yield();
            }
        }
    };
    // Drains the oldest staged piece nobody has claimed; false when there is none.
    const auto drain_one = [ring, staging, slot_bytes] {
        std::size_t next = ring->claimed.load(std::memory_order_relaxed);
        while (next < ring->filled.load(std::memory_order_acquire)) {
            if (ring->claimed.compare_exchange_weak(next, next + 1, std::memory_order_acq_rel)) {
                const std::size_t slot = next % kStagingSlots;
                const CopySpan& piece = ring->pieces[slot];
                std::memcpy(piece.dst, staging + slot * slot_bytes, piece.bytes);
                ring->drained[slot].store(next + 1, std::memory_order_release);
                ring->completed.fetch_add(1, std::memory_order_release);  // last touch of the ring's memory
                return true;
            }
        }
        return false;
    };

    // A worker that starts late finds every piece claimed and leaves without touching staging.
    WorkerPool::shared().submit([ring, total, drain_one, wait_until] {
        while (ring->claimed.load(std::memory_order_acquire) < total) {
            if (!drain_one()) {
                wait_until([&] {
                    const std::size_t next = ring->claimed.load(std::memory_order_acquire);
                    return next >= total || next < ring->filled.load(std::memory_order_acquire);
                });
            }
        }
    });

    for (std::size_t i = 0; i < total; ++i) {
        const std::size_t slot = i % kStagingSlots;
        // The slot is free once piece i - kStagingSlots has been drained: drain it ourselves if
        // the worker has not got to it.
        while (i >= kStagingSlots && ring->drained[slot].load(std::memory_order_acquire) != i - kStagingSlots + 1) {
            if (!drain_one()) {
                std::this_thread::yield();
            }
        }
        const CopySpan& piece = pieces[i];
        std::memcpy(staging + slot * slot_bytes, piece.src, piece.bytes);
        ring->pieces[slot] = piece;
        ring->filled.store(i + 1, std::memory_order_release);
    }
    while (drain_one()) {
    }
    wait_until([&] { return ring->completed.load(std::memory_order_acquire) == total; });
}

}  // namespace

SwapPlan Engine::plan_swap(int64_t src_id, const ExternalCache* src_external, int64_t dst_id,
                           const ExternalCache* dst_external, const std::vector<IndexPair>& pairs,
                           const Deadline& deadline) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    require_live();
    const SwapSide src = resolve(registry_, src_id, src_external, "src");
    const SwapSide dst = resolve(registry_, dst_id, dst_external, "dst");
    if (src_id < 0) {
        check_external(*this, *src_external, "src");
    }
    if (dst_id < 0) {
        check_external(*this, *dst_external, "dst");
    }
    SwapPlan plan;
    if (src.placement == Placement::kHost && dst.placement == Placement::kDevice) {
        plan.direction = SwapDirection::kIn;
    } else if (src.placement == Placement::kDevice && dst.placement == Placement::kHost) {
        plan.direction = SwapDirection::kOut;
    } else {
        throw_out_of_range("swap_blocks moves blocks between HOST and DEVICE only");
    }
    if (src.tensors->size() != dst.tensors->size()) {
        throw_out_of_range("src num_tensors " + std::to_string(src.tensors->size()) + " and dst num_tensors " +
                           std::to_string(dst.tensors->size()) + " must be equal");
    }
    if (src.block_bytes != dst.block_bytes) {
        throw_out_of_range("src block size " + std::to_string(src.block_bytes) + " and dst block size " +
                           std::to_string(dst.block_bytes) + " must be equal");
    }
    for (const auto& pair : pairs) {
        if (pair.src < 0 || pair.src >= src.num_blocks) {
            throw_out_of_range("src_block_index " + std::to_string(pair.src) + " must be in [0, " +
                               std::to_string(src.num_blocks) + ")");
        }
        if (pair.dst < 0 || pair.dst >= dst.num_blocks) {
            throw_out_of_range("dst_block_index " + std::to_string(pair.dst) + " must be in [0, " +
                               std::to_string(dst.num_blocks) + ")");
        }
    }
    deadline.check("swap_blocks");

    // Several sources may name one destination; applied in order the last one wins, so keep only
    // that one: the parallel workers then never write the same block.
    std::unordered_map<int64_t, std::size_t> last_writer;
    last_writer.reserve(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        last_writer[pairs[i].dst] = i;
    }
    plan.block_bytes = src.block_bytes;
    plan.copies.pins = {src.pin, dst.pin};
    plan.copies.spans.reserve(pairs.size() * src.tensors->size());
    for (std::size_t t = 0; t < src.tensors->size(); ++t) {
        std::byte* src_base = (*src.tensors)[t];
        std::byte* dst_base = (*dst.tensors)[t];
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            if (last_writer[pairs[i].dst] != i) {
                continue;
            }
            plan.copies.spans.push_back({dst_base + plan.block_bytes * static_cast<uint64_t>(pairs[i].dst),
                                         src_base + plan.block_bytes * static_cast<uint64_t>(pairs[i].src),
                                         plan.block_bytes});
        }
    }
    plan.copies.total_bytes = plan.copies.spans.size() * plan.block_bytes;
    return plan;
}

void Engine::run(const SwapPlan& plan) {
    const auto& spans = plan.copies.spans;
    if (plan.copies.total_bytes < kInlineSwapThreshold) {
        copier_->run(spans.data(), spans.size());
    } else if (plan.direction == SwapDirection::kOut) {
        copier_->run_parallel(spans, kSwapOutWorkers);
    } else {
        run_staged_swap_in(plan);
    }
}

void Engine::run_staged_swap_in(const SwapPlan& plan) {
    std::lock_guard<std::mutex> staging_lock(staging_mu_);
    // Blocks larger than a slot go through the ring in slot-sized pieces: the ring never holds
    // more than 4 x kMaxStagingSlotBytes, whatever the block size.
    const std::size_t slot_bytes = std::min(plan.block_bytes, kMaxStagingSlotBytes);
    if (staging_.bytes < slot_bytes * kStagingSlots) {
        map_staging(slot_bytes * kStagingSlots);
    }
    std::vector<CopySpan> pieces;
    pieces.reserve(plan.copies.spans.size() * ((plan.block_bytes + slot_bytes - 1) / slot_bytes));
    for (const CopySpan& span : plan.copies.spans) {
        for (std::size_t done = 0; done < span.bytes; done += slot_bytes) {
            pieces.push_back({span.dst + done, span.src + done, std::min(slot_bytes, span.bytes - done)});
        }
    }
    run_ring(pieces, staging_.base, slot_bytes);
}

void Engine::release_idle_staging() {
    // A swap running meanwhile holds the lock and will release the ring itself when it is done.
    std::unique_lock<std::mutex> staging_lock(staging_mu_, std::try_to_lock);
    if (staging_lock.owns_lock() && staging_.bytes > kRetainedStagingBytes) {
        unmap_staging();  // idle from now on: a large ring is not kept resident between swaps
    }
}

}  // namespace llm_datadist_ref
