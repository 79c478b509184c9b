#include "llm_datadist_ref/deadline.hpp"

#include <string>

#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {
namespace {

constexpr std::string_view kNames[] = {
    "allocate_cache", "deallocate_cache", "remove_cache_key", "copy_cache",  "allocate_blocks_cache",
    "deallocate_blocks_cache", "copy_blocks", "swap_blocks", "pull_cache", "pull_blocks", "push_cache",
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<std::size_t>(Operation::kCount));

}  // namespace

std::string_view operation_name(Operation op) noexcept { return kNames[static_cast<std::size_t>(op)]; }

std::optional<Operation> operation_from_name(std::string_view name) noexcept {
    for (std::size_t i = 0; i < static_cast<std::size_t>(Operation::kCount); ++i) {
        if (kNames[i] == name) {
            return static_cast<Operation>(i);
        }
    }
    return std::nullopt;
}

OperationDelays::Table& OperationDelays::table() noexcept {
    static Table delays{};
    return delays;
}

void Deadline::check_elapsed(std::string_view operation) const {
    const auto elapsed = Clock::now() - start_;
    if (elapsed > timeout_) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
        const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
        throw_status(StatusCode::kTimeout, std::string(operation) + " took " + std::to_string(ms) +
                                               " ms, longer than sync_kv_timeout (" + std::to_string(limit) +
                                               " ms); nothing was changed");
    }
}

}  // namespace llm_datadist_ref
