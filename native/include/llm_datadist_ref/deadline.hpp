// sync_kv_timeout enforcement and the fault-injection delays behind `testing.delay`.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

namespace llm_datadist_ref {

/// CacheManager operations that can be delayed by the testing hook.
enum class Operation : uint8_t {
    kAllocateCache,
    kDeallocateCache,
    kRemoveCacheKey,
    kCopyCache,
    kAllocateBlocksCache,
    kDeallocateBlocksCache,
    kCopyBlocks,
    kSwapBlocks,
    kPullCache,
    kPullBlocks,
    kPushCache,
    kCount,
};

/// The Python method name of an operation.
std::string_view operation_name(Operation op) noexcept;
std::optional<Operation> operation_from_name(std::string_view name) noexcept;

/// Injected delay per operation in milliseconds (0 = none). One relaxed load per operation when
/// unused.
class OperationDelays {
  public:
    static int32_t get(Operation op) noexcept {
        return table()[static_cast<std::size_t>(op)].load(std::memory_order_relaxed);
    }
    static void set(Operation op, int32_t ms) noexcept {
        table()[static_cast<std::size_t>(op)].store(ms, std::memory_order_relaxed);
    }

  private:
    using Table = std::array<std::atomic<int32_t>, static_cast<std::size_t>(Operation::kCount)>;
    static Table& table() noexcept;
};

/// When an operation started and how long it may take. Operations call check() after validating
/// and before committing anything, so a late operation changes nothing.
///
/// A deadline made by unstarted() reads no clock until the operation may take long (an injected
/// delay, a wait for a lock held elsewhere, a large request): the operation calls start() just
/// before that. An operation that never had to do so ran a few microseconds of its own work, far
/// below any timeout (>= 1 ms), and check() has nothing to measure: the quick operations
/// (allocate, deallocate) read the clock not at all on their common path.
class Deadline {
  public:
    using Clock = std::chrono::steady_clock;

    Deadline(Clock::time_point start, int64_t timeout_ms) noexcept
        : start_(start), timeout_(std::chrono::milliseconds(timeout_ms)) {}

    static Deadline unstarted(int64_t timeout_ms) noexcept { return Deadline(kUnstarted, timeout_ms); }

    /// Starts the clock of an unstarted deadline (no-op once started).
    void start() noexcept {
        if (start_ == kUnstarted) {
            start_ = Clock::now();
        }
    }

    /// Throws CoreError(LLM_TIMEOUT) when the operation ran longer than the timeout.
    void check(std::string_view operation) const {
        if (start_ != kUnstarted) {
            check_elapsed(operation);
        }
    }

  private:
    static constexpr Clock::time_point kUnstarted = Clock::time_point::min();
    void check_elapsed(std::string_view operation) const;

    Clock::time_point start_;
    Clock::duration timeout_;
};

/// Locks `mu` for an operation with `deadline`: the time spent waiting for another holder counts,
/// so the deadline's clock starts before such a wait.
inline std::unique_lock<std::mutex> lock_counting_wait(std::mutex& mu, Deadline& deadline) {
    std::unique_lock<std::mutex> lock(mu, std::try_to_lock);
    if (!lock.owns_lock()) {
        deadline.start();
        lock.lock();
    }
    return lock;
}

}  // namespace llm_datadist_ref
