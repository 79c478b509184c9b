// A memory pool (DEVICE from mem_pool_cfg, HOST from host_mem_pool_cfg) and the storage of one cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "llm_datadist_ref/deadline.hpp"
#include "llm_datadist_ref/fork_guard.hpp"
#include "llm_datadist_ref/memory_backend.hpp"
#include "llm_datadist_ref/page_allocator.hpp"

namespace llm_datadist_ref {

/// Pool usage as the tests and `testing.pool_usage` see it.
struct PoolUsage {
    std::size_t page_size = 0;
    uint32_t capacity_pages = 0;
    uint32_t used_pages = 0;
    std::size_t live_allocations = 0;
    std::size_t free_runs = 0;
    std::size_t trimmed_bytes = 0;  ///< freed bytes handed back to the OS so far
};

/// Page-granular pool over one backend region. Allocation sizes are rounded up to whole pages, so
/// every address handed out is aligned to the page size (the region base is aligned to at least
/// max(page size, 2 MiB)). Thread-safe.
class MemoryPool {
  public:
    /// `memory_size` bytes (> 0) with pages of 1 << page_shift bytes, page_shift in [10, 31).
    /// The pool manages memory_size / page_size whole pages.
    MemoryPool(std::shared_ptr<MemoryBackend> backend, std::size_t memory_size, unsigned page_shift);
    ~MemoryPool();
    MemoryPool(const MemoryPool&) = delete;
    MemoryPool& operator=(const MemoryPool&) = delete;

    /// How the tensors of one allocation lie: back to back in one run (one page-allocator
    /// operation for the lot, the usual case), or in a run each (when no free run holds them all).
    /// Either way every tensor starts on a page and has whole pages of its own.
    enum class Layout : uint8_t { kOneRun, kRunPerTensor };

    /// `count` tensors of `bytes` (> 0) each, appended to `out` as addresses, under one lock: all
    /// of them, or none (nothing) when the pool cannot hold them. `out` must have room reserved.
    /// A wait for the pool's lock counts against `deadline`.
    std::optional<Layout> allocate_tensors(uint32_t count, std::size_t bytes, std::vector<std::byte*>& out,
                                           Deadline& deadline);
    /// Returns tensors of `bytes` each that allocate_tensors handed out with `layout`, under one lock.
    void release_tensors(const std::vector<std::byte*>& tensors, std::size_t bytes, Layout layout) noexcept;
    /// Whether [begin, begin + bytes) shares a byte with this pool's region.
    bool overlaps(const std::byte* begin, std::size_t bytes) const noexcept;

    std::byte* address(Extent extent) const noexcept {
        return region_.base + (static_cast<std::size_t>(extent.first) << page_shift_);
    }
    std::size_t page_size() const noexcept { return std::size_t{1} << page_shift_; }
    /// Pages the pool manages (fixed at construction, so readable without the lock).
    uint32_t capacity_pages() const noexcept { return pages_.capacity(); }
    std::size_t pages_for(std::size_t bytes) const noexcept {
        return (bytes >> page_shift_) + ((bytes & (page_size() - 1)) != 0 ? 1 : 0);
    }
    PoolUsage usage() const;
    /// The backend region the pages lie in (its fd is >= 0 when the backend shares it).
    const Region& region() const noexcept { return region_; }

    /// Freed pages go back to the OS (MemoryBackend::discard) once this many bytes have been
    /// released since the last time: max(64 MiB, capacity / 8), so a long-running process does
    /// not keep the high-water mark of its pools resident, and the cost of re-touching pages is
    /// paid at most once per that many bytes freed.
    std::size_t trim_threshold() const noexcept { return trim_threshold_; }

  private:
    void trim_free_pages() noexcept;  // caller holds mu_
    void release_run(Extent extent) noexcept;  // caller holds mu_
    /// One run for all `count` tensors of `pages` each, or false. Caller holds mu_.
    bool allocate_one_run(uint32_t count, std::size_t pages, std::vector<std::byte*>& out);
    Extent extent_of(const std::byte* run, std::size_t bytes) const noexcept {
        return {static_cast<uint32_t>(static_cast<std::size_t>(run - region_.base) >> page_shift_),
                static_cast<uint32_t>(pages_for(bytes))};
    }

    std::shared_ptr<MemoryBackend> backend_;
    Region region_;
    unsigned page_shift_;
    mutable std::mutex mu_;
    PageAllocator pages_;
    std::size_t live_allocations_ = 0;
    std::size_t released_since_trim_ = 0;
    std::size_t trim_threshold_ = 0;
    std::size_t trimmed_bytes_ = 0;
    ForkGuard::Registration fork_registration_{mu_, LockRank::kPool};
};

/// The tensors of one allocated cache: `num_tensors` tensors of `tensor_bytes` each, on whole pages
/// (back to back in one page run when the pool has one long enough, else a run each).
/// Owned through shared_ptr, so a copy that pinned it keeps the memory valid even if the cache is
/// released meanwhile; the pages go back to the pool when the last owner lets go.
class CacheStorage {
  public:
    /// Allocates every tensor or nothing: a pool that cannot hold them all is refused before any
    /// memory is reserved (CoreError(OUT_OF_MEMORY)); any throw part-way undoes what was taken.
    CacheStorage(std::shared_ptr<MemoryPool> pool, uint32_t num_tensors, std::size_t tensor_bytes, Deadline& deadline);
    ~CacheStorage();
    CacheStorage(const CacheStorage&) = delete;
    CacheStorage& operator=(const CacheStorage&) = delete;

    std::byte* tensor(std::size_t index) const noexcept { return addresses_[index]; }
    const std::vector<std::byte*>& tensors() const noexcept { return addresses_; }

  private:
    std::shared_ptr<MemoryPool> pool_;
    std::size_t tensor_bytes_;
    std::vector<std::byte*> addresses_;  ///< whole pages for tensor_bytes_ per tensor
    MemoryPool::Layout layout_ = MemoryPool::Layout::kOneRun;
};

}  // namespace llm_datadist_ref
