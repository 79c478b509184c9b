#include "llm_datadist_ref/page_allocator.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace llm_datadist_ref {

PageAllocator::PageAllocator(uint32_t capacity_pages)
    : quick_limit_(std::max<std::size_t>(64, capacity_pages / 16)), capacity_(capacity_pages), free_pages_(0) {
    if (capacity_pages > 0) {
        insert_free(0, capacity_pages);
    }
}

void PageAllocator::insert_free(uint32_t first, uint32_t count) {
    by_start_.emplace(first, count);
    by_size_.emplace(count, first);
    free_pages_ += count;
}

void PageAllocator::erase_free(std::map<uint32_t, uint32_t>::iterator it) {
    by_size_.erase({it->second, it->first});
    free_pages_ -= it->second;
    by_start_.erase(it);
}

std::optional<uint32_t> PageAllocator::allocate(uint32_t count) {
    if (count == 0 || count > free_pages_) {
        return std::nullopt;
    }
    if (count <= kQuickMaxPages && !quick_[count].empty()) {
        const uint32_t first = quick_[count].back();
        quick_[count].pop_back();
        --quick_runs_;
        free_pages_ -= count;
        return first;
    }
    if (auto first = allocate_from_index(count)) {
        return first;
    }
    if (quick_runs_ == 0) {
        return std::nullopt;
    }
    fold_quick_lists();  // the waiting runs may coalesce into one long enough
    return allocate_from_index(count);
}

std::optional<uint32_t> PageAllocator::allocate_from_index(uint32_t count) {
    // Smallest run that fits; among equals, the lowest address (keeps the pool compact).
    const auto fit = by_size_.lower_bound({count, 0});
    if (fit == by_size_.end()) {
        return std::nullopt;
    }
    const uint32_t run_count = fit->first;
    const uint32_t run_first = fit->second;
    erase_free(by_start_.find(run_first));
    if (run_count > count) {
        insert_free(run_first + count, run_count - count);
    }
    return run_first;
}

void PageAllocator::release(Extent extent) {
    if (extent.count == 0 || extent.first >= capacity_ || extent.count > capacity_ - extent.first) {
        throw std::logic_error("page run outside the pool");
    }
    if (extent.count <= kQuickMaxPages && quick_runs_ < quick_limit_) {
        quick_[extent.count].push_back(extent.first);
        ++quick_runs_;
        free_pages_ += extent.count;
        return;
    }
    release_to_index(extent);
}

void PageAllocator::fold_quick_lists() {
    for (uint32_t count = 1; count <= kQuickMaxPages; ++count) {
        auto& runs = quick_[count];
        for (const uint32_t first : runs) {
            free_pages_ -= count;  // release_to_index counts them again
            release_to_index({first, count});
        }
        runs.clear();
    }
    quick_runs_ = 0;
}

void PageAllocator::release_to_index(Extent extent) {
    uint32_t first = extent.first;
    uint32_t count = extent.count;
    // The free run starting at or after `first`, and the one before it.
    auto next = by_start_.lower_bound(first);
    if (next != by_start_.end() && next->first < first + count) {
        throw std::logic_error("page run released twice");
    }
    if (next != by_start_.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second > first) {
            throw std::logic_error("page run released twice");
        }
        if (prev->first + prev->second == first) {
            first = prev->first;
            count += prev->second;
            erase_free(prev);
        }
    }
    if (next != by_start_.end() && next->first == extent.first + extent.count) {
        count += next->second;
        erase_free(next);
    }
    insert_free(first, count);
}

std::vector<Extent> PageAllocator::free_runs() {
    fold_quick_lists();
    std::vector<Extent> runs;
    runs.reserve(by_start_.size());
    for (const auto& [first, count] : by_start_) {
        runs.push_back({first, count});
    }
    return runs;
}

}  // namespace llm_datadist_ref
