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

std::optional<MemoryPool::Layout> MemoryPool::allocate_tensors(uint32_t count, std::size_t bytes,
                                                                std::vector<std::byte*>& out, Deadline& deadline) {
    const std::size_t pages = pages_for(bytes);
    if (bytes == 0 || pages > std::numeric_limits<uint32_t>::max()) {
        return std::nullopt;
    }
    const std::size_t before = out.size();
    const auto lock = lock_counting_wait(mu_, deadline);
    // Refused before any page is taken when the free pages cannot hold them all (no overflow).
    if (count > pages_.free_pages() / pages) {
        return std::nullopt;
    }
    if (allocate_one_run(count, pages, out)) {
        return Layout::kOneRun;
    }
    const auto undo = [&] {
        for (std::size_t i = before; i < out.size(); ++i) {
            release_run(extent_of(out[i], bytes));
        }
        out.resize(before);
    };
    try {
        for (uint32_t i = 0; i < count; ++i) {
            const auto first = pages_.allocate(static_cast<uint32_t>(pages));
            if (!first) {  // the free pages would do, but no run is long enough
                undo();
                return std::nullopt;
            }
            ++live_allocations_;
            out.push_back(address({*first, static_cast<uint32_t>(pages)}));  // cannot throw: reserved
        }
    } catch (...) {  // std::bad_alloc from the allocator's index: nothing stays taken
        undo();
        throw;
    }
    return Layout::kRunPerTensor;
}

bool MemoryPool::allocate_one_run(uint32_t count, std::size_t pages, std::vector<std::byte*>& out) {
    const std::size_t total = pages * count;  // <= free pages (checked), so it fits in uint32
    const auto first = total > 0 ? pages_.allocate(static_cast<uint32_t>(total)) : std::nullopt;
    if (!first) {
        return false;
    }
    ++live_allocations_;
    std::byte* const base = address({*first, static_cast<uint32_t>(total)});
    for (uint32_t i = 0; i < count; ++i) {
        out.push_back(base + ((pages * i) << page_shift_));  // cannot throw: reserved
    }
    return true;
}

void MemoryPool::release_tensors(const std::vector<std::byte*>& tensors, std::size_t bytes, Layout layout) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    if (layout == Layout::kOneRun) {
        if (!tensors.empty()) {
            release_run({extent_of(tensors.front(), bytes).first,
                         static_cast<uint32_t>(pages_for(bytes) * tensors.size())});
        }
    } else {
        for (const std::byte* tensor : tensors) {
            release_run(extent_of(tensor, bytes));
        }
    }
    if (released_since_trim_ >= trim_threshold_) {
        trim_free_pages();
    }
}

void MemoryPool::release_run(Extent extent) noexcept {
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

CacheStorage::CacheStorage(std::shared_ptr<MemoryPool> pool, uint32_t num_tensors, std::size_t tensor_bytes,
                           Deadline& deadline)
    : pool_(std::move(pool)), tensor_bytes_(tensor_bytes) {
    // Bound the bookkeeping by the pool before reserving any: a huge num_tensors is OUT_OF_MEMORY,
    // never std::bad_alloc.
    const std::size_t per_run = pool_->pages_for(tensor_bytes);
    const bool fits = per_run > 0 && num_tensors <= pool_->capacity_pages() / per_run;
    if (fits) {
        addresses_.reserve(num_tensors);
    }
    const auto layout = fits ? pool_->allocate_tensors(num_tensors, tensor_bytes, addresses_, deadline) : std::nullopt;
    if (!layout) {
        throw_status(StatusCode::kOutOfMemory, "memory pool exhausted: cannot allocate " +
                                                   std::to_string(num_tensors) + " tensors of " +
                                                   std::to_string(tensor_bytes) + " bytes");
    }
    layout_ = *layout;
}

CacheStorage::~CacheStorage() { pool_->release_tensors(addresses_, tensor_bytes_, layout_); }

}  // namespace llm_datadist_ref
