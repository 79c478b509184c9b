// Extent allocator over the page indices of one pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace llm_datadist_ref {

/// A run of pages: [first, first + count).
struct Extent {
    uint32_t first = 0;
    uint32_t count = 0;
};

/// The runs handed out, by first page: the length of the live run that starts at each page (0:
/// none). A table with an entry per page rather than a hash map: constant time without hashing,
/// and nothing allocated per run. It is calloc'd, so the pages of the table that no run has
/// touched stay unbacked (4 bytes per pool page: at most 0.4% of the pool, at 1 KiB pages).
class LiveRuns {
  public:
    explicit LiveRuns(uint32_t capacity)
        : table_(static_cast<uint32_t*>(std::calloc(capacity > 0 ? capacity : 1, sizeof(uint32_t)))),
          capacity_(capacity) {
        if (!table_) {
            throw std::bad_alloc();
        }
    }
    /// Whether `extent` is exactly a live run.
    bool is_live(Extent extent) const noexcept {
        return extent.count > 0 && extent.first < capacity_ && table_[extent.first] == extent.count;
    }
    void add(Extent extent) noexcept {
        table_[extent.first] = extent.count;
        ++count_;
    }
    void remove(Extent extent) noexcept {
        table_[extent.first] = 0;
        --count_;
    }
    std::size_t size() const noexcept { return count_; }

  private:
    struct Free {
        void operator()(uint32_t* table) const noexcept { std::free(table); }
    };
    std::unique_ptr<uint32_t[], Free> table_;
    uint32_t capacity_;
    std::size_t count_ = 0;
};

/// Best-fit allocator over [0, capacity) pages. Free runs are indexed by start (to coalesce on
/// release) and by (length, start) (to find the smallest run that fits in O(log n)), so neither
/// operation scans the pool. In front of that index sit quick lists: a released run of up to
/// kQuickMaxPages pages waits, uncoalesced, on the list for its length and is handed out again in
/// O(1); the lists are folded back into the index (coalescing) before an allocation is refused.
///
/// Integrity: every run handed out is recorded until it is released, so a release that is not
/// exactly one live run (twice, never allocated, a part of one) is refused at once, on every path,
/// before anything changes. Every operation either completes or, if it throws (std::bad_alloc),
/// leaves the allocator as it was.
class PageAllocator {
  public:
    explicit PageAllocator(uint32_t capacity_pages);

    /// The first page of a fresh run of `count` (> 0) pages, or nothing when no free run is long enough.
    std::optional<uint32_t> allocate(uint32_t count);
    /// Returns a run handed out by allocate(). Throws std::logic_error, changing nothing, unless
    /// `extent` is exactly a live run.
    void release(Extent extent);

    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t free_pages() const noexcept { return free_pages_; }
    std::size_t live_runs() const noexcept { return live_.size(); }
    std::size_t free_run_count() const noexcept { return by_start_.size() + quick_runs_; }
    /// Free runs of the index (quick lists folded in first).
    std::vector<Extent> free_runs();
    /// Calls `visit` for every free run, quick lists included, without changing anything.
    void for_each_free_run(const std::function<void(Extent)>& visit) const;

    static constexpr uint32_t kQuickMaxPages = 64;

  private:
    void insert_free(uint32_t first, uint32_t count);
    std::optional<uint32_t> allocate_from_index(uint32_t count);
    void release_to_index(Extent extent);
    void grow(std::map<uint32_t, uint32_t>::iterator run, uint32_t added);
    void fold_quick_lists();

    std::vector<uint32_t> quick_[kQuickMaxPages + 1];  // by run length: first pages of free runs
    std::size_t quick_runs_ = 0;
    std::size_t quick_limit_;

    std::map<uint32_t, uint32_t> by_start_;            // first -> count
    std::set<std::pair<uint32_t, uint32_t>> by_size_;  // (count, first)
    LiveRuns live_;                                    // every run handed out
    uint32_t capacity_;
    uint32_t free_pages_;
};

}  // namespace llm_datadist_ref
