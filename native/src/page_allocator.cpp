#include "llm_datadist_ref/page_allocator.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <string>

namespace llm_datadist_ref {

PageAllocator::PageAllocator(uint32_t capacity_pages)
    : quick_limit_(std::max<std::size_t>(64, capacity_pages / 16)),
      live_(capacity_pages),
      capacity_(capacity_pages),
      free_pages_(0) {
    if (capacity_pages > 0) {
        insert_free(0, capacity_pages);
    }
}

void PageAllocator::insert_free(uint32_t first, uint32_t count) {
    // Both indexes or neither: a throw from the second insert undoes the first.
    const auto started = by_start_.emplace(first, count).first;
    try {
        by_size_.emplace(count, first);
    } catch (...) {
        by_start_.erase(started);
        throw;
    }
    free_pages_ += count;
}

std::optional<uint32_t> PageAllocator::allocate(uint32_t count) {
    if (count == 0 || count > free_pages_) {
        return std::nullopt;
    }
    if (count <= kQuickMaxPages && !quick_[count].empty()) {
        const uint32_t first = quick_[count].back();
        live_.add({first, count});
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
    live_.add({run_first, count});  // the remainder below keeps the run's nodes: nothing allocates
    auto start_node = by_start_.extract(run_first);
    auto size_node = by_size_.extract(fit);
    free_pages_ -= count;
    if (run_count > count) {  // the remainder keeps the run's nodes, re-keyed
        start_node.key() = run_first + count;
        start_node.mapped() = run_count - count;
        size_node.value() = {run_count - count, run_first + count};
        by_start_.insert(std::move(start_node));
        by_size_.insert(std::move(size_node));
    }
    return run_first;
}

void PageAllocator::release(Extent extent) {
    if (!live_.is_live(extent)) {
        throw std::logic_error("page run [" + std::to_string(extent.first) + ", +" + std::to_string(extent.count) +
                               ") is not a live allocation: released twice, never allocated, or a part of one");
    }
    if (extent.count <= kQuickMaxPages && quick_runs_ < quick_limit_) {
        quick_[extent.count].push_back(extent.first);  // may throw: nothing has changed yet
        ++quick_runs_;
        free_pages_ += extent.count;
    } else {
        release_to_index(extent);
    }
    live_.remove(extent);
}

void PageAllocator::fold_quick_lists() {
    // Run by run, each leaving its list only once it is in the index: a throw leaves both consistent.
    for (uint32_t count = 1; count <= kQuickMaxPages; ++count) {
        auto& runs = quick_[count];
        while (!runs.empty()) {
            free_pages_ -= count;  // release_to_index counts them again
            try {
                release_to_index({runs.back(), count});
            } catch (...) {
                free_pages_ += count;
                throw;
            }
            runs.pop_back();
            --quick_runs_;
        }
    }
}

void PageAllocator::release_to_index(Extent extent) {
    const uint32_t first = extent.first;
    const uint32_t end = extent.first + extent.count;
    // The free run starting at or after `first`, and the one before it. Overlap with either means
    // the free index is corrupt (live_ admits only live runs); refuse before changing anything.
    auto next = by_start_.lower_bound(first);
    if (next != by_start_.end() && next->first < end) {
        throw std::logic_error("page run overlaps a free run");
    }
    auto prev = next == by_start_.begin() ? by_start_.end() : std::prev(next);
    if (prev != by_start_.end() && prev->first + prev->second > first) {
        throw std::logic_error("page run overlaps a free run");
    }
    const bool join_prev = prev != by_start_.end() && prev->first + prev->second == first;
    const bool join_next = next != by_start_.end() && next->first == end;
    if (!join_prev && !join_next) {
        insert_free(first, extent.count);  // the only case that allocates nodes
        return;
    }
    // Coalescing re-keys existing nodes: no allocation, so nothing can throw half-way.
    if (join_prev && join_next) {
        const uint32_t next_count = next->second;
        by_size_.erase({next_count, next->first});
        by_start_.erase(next);
        grow(prev, extent.count + next_count);
    } else if (join_prev) {
        grow(prev, extent.count);
    } else {  // the next run now starts at `first`
        auto start_node = by_start_.extract(next);
        auto size_node = by_size_.extract({start_node.mapped(), start_node.key()});
        start_node.key() = first;
        start_node.mapped() += extent.count;
        size_node.value() = {start_node.mapped(), first};
        by_start_.insert(std::move(start_node));
        by_size_.insert(std::move(size_node));
    }
    free_pages_ += extent.count;
}

void PageAllocator::grow(std::map<uint32_t, uint32_t>::iterator run, uint32_t added) {
    auto size_node = by_size_.extract({run->second, run->first});
    run->second += added;
    size_node.value() = {run->second, run->first};
    by_size_.insert(std::move(size_node));
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

void PageAllocator::for_each_free_run(const std::function<void(Extent)>& visit) const {
    for (const auto& [first, count] : by_start_) {
        visit({first, count});
    }
    for (uint32_t count = 1; count <= kQuickMaxPages; ++count) {
        for (const uint32_t first : quick_[count]) {
            visit({first, count});
        }
    }
}

}  // namespace llm_datadist_ref
