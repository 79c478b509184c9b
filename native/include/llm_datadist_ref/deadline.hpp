// sync_kv_timeout enforcement and the fault-injection delays behind `testing.delay`.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
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
class Deadline {
  public:
    using Clock = std::chrono::steady_clock;

    Deadline(Clock::time_point start, int64_t timeout_ms) noexcept
        : start_(start), timeout_(std::chrono::milliseconds(timeout_ms)) {}

    /// Throws CoreError(LLM_TIMEOUT) when the operation ran longer than the timeout.
    void check(std::string_view operation) const;

  private:
    Clock::time_point start_;
    Clock::duration timeout_;
};

}  // namespace llm_datadist_ref
