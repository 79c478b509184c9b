#include "llm_datadist_ref/memory_pool.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kTrimMinimum = std::size_t{64} << 20;

uint32_t page_count(std::size_t memory_size, unsigned page_shift) {
    if (page_shift < 10 || page_shift >= 31) {
        throw_out_of_range("page_shift " + std::to_string(page_shift) + " out of range [10, 31)");
    }
    if (memory_size == 0) {
        throw_out_of_range("memory_size must be greater than 0");
    }
    const std::size_t pages = memory_size >> page_shift;
    if (pages >= std::numeric_limits<uint32_t>::max()) {
        throw_out_of_range("memory_size " + std::to_string(memory_size) + " with page_shift " +
                           std::to_string(page_shift) + " exceeds the addressable page count");
    }
    return static_cast<uint32_t>(pages);
}

}  // namespace

MemoryPool::MemoryPool(std::shared_ptr<MemoryBackend> backend, std::size_t memory_size, unsigned page_shift)
    : backend_(std::move(backend)), page_shift_(page_shift), pages_(page_count(memory_size, page_shift)) {
    const std::size_t usable = static_cast<std::size_t>(pages_.capacity()) << page_shift_;
    if (usable > 0) {
        region_ = backend_->reserve(usable, std::max(page_size(), kHugePage));
    }
    trim_threshold_ = std::max(kTrimMinimum, usable / 8);
}

MemoryPool::~MemoryPool() { backend_->release(region_); }

std::optional<Extent> MemoryPool::allocate(std::size_t bytes) {
    if (bytes == 0) {
        return std::nullopt;
    }
    const std::size_t pages = pages_for(bytes);
    if (pages > std::numeric_limits<uint32_t>::max()) {
        return std::nullopt;
    }
    std::lock_guard<std::mutex> lock(mu_);
    const auto first = pages_.allocate(static_cast<uint32_t>(pages));
    if (!first) {
        return std::nullopt;
    }
    ++live_allocations_;
    return Extent{*first, static_cast<uint32_t>(pages)};
}

void MemoryPool::release(Extent extent) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    try {
        pages_.release(extent);
        --live_allocations_;
    } catch (...) {
        // A double release is only reachable through a bug in the core (every storage releases
        // its own runs once), and a quick-list push that cannot allocate leaves the pages
        // unusable: refuse to go on with a free index that no longer matches the pool.
        std::terminate();
    }
    released_since_trim_ += static_cast<std::size_t>(extent.count) << page_shift_;
    if (released_since_trim_ >= trim_threshold_) {
        trim_free_pages();
    }
}

void MemoryPool::trim_free_pages() noexcept {
    // Under mu_: no run can be handed out (and written) while its pages are being dropped.
    pages_.for_each_free_run([this](Extent run) {
        const std::size_t bytes = static_cast<std::size_t>(run.count) << page_shift_;
        backend_->discard(address(run), bytes);
        trimmed_bytes_ += bytes;
    });
    released_since_trim_ = 0;
}

bool MemoryPool::could_hold(uint64_t count, std::size_t bytes) const {
    const std::size_t per_run = pages_for(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t free = pages_.free_pages();
    return per_run > 0 && count <= free / per_run;
}

bool MemoryPool::overlaps(const std::byte* begin, std::size_t bytes) const noexcept {
    const auto lo = reinterpret_cast<std::uintptr_t>(begin);
    const auto base = reinterpret_cast<std::uintptr_t>(region_.base);
    return bytes > 0 && region_.bytes > 0 && lo < base + region_.bytes && base < lo + bytes;
}

PoolUsage MemoryPool::usage() const {
    std::lock_guard<std::mutex> lock(mu_);
    PoolUsage usage;
    usage.page_size = page_size();
    usage.capacity_pages = pages_.capacity();
    usage.used_pages = pages_.capacity() - pages_.free_pages();
    usage.live_allocations = live_allocations_;
    usage.free_runs = pages_.free_run_count();
    usage.trimmed_bytes = trimmed_bytes_;
    return usage;
}

CacheStorage::CacheStorage(std::shared_ptr<MemoryPool> pool, uint32_t num_tensors, std::size_t tensor_bytes)
    : pool_(std::move(pool)) {
    const auto exhausted = [&] {
        throw_status(StatusCode::kOutOfMemory, "memory pool exhausted: cannot allocate " +
                                                   std::to_string(num_tensors) + " tensors of " +
                                                   std::to_string(tensor_bytes) + " bytes");
    };
    // Bound the bookkeeping by the pool before reserving any: a huge num_tensors is OUT_OF_MEMORY,
    // never std::bad_alloc.
    if (!pool_->could_hold(num_tensors, tensor_bytes)) {
        exhausted();
    }
    extents_.reserve(num_tensors);
    addresses_.reserve(num_tensors);
    try {
        for (uint32_t i = 0; i < num_tensors; ++i) {
            const auto extent = pool_->allocate(tensor_bytes);
            if (!extent) {
                exhausted();
            }
            extents_.push_back(*extent);  // cannot throw: reserved
            addresses_.push_back(pool_->address(*extent));
        }
    } catch (...) {
        for (const auto& done : extents_) {
            pool_->release(done);
        }
        throw;
    }
}

CacheStorage::~CacheStorage() {
    for (const auto& extent : extents_) {
        pool_->release(extent);
    }
}

}  // namespace llm_datadist_ref
