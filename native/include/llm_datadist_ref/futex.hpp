// Waiting on a 32-bit word that another process may share (a futex without FUTEX_PRIVATE_FLAG).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace llm_datadist_ref {

/// Sleeps while `word` holds `expected`, at most `timeout` (spurious wake-ups happen: re-check).
template <class Rep, class Period>
inline void futex_wait(std::atomic<uint32_t>& word, uint32_t expected, std::chrono::duration<Rep, Period> timeout) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    if (ns <= 0) {
        return;
    }
    timespec relative{};
    relative.tv_sec = static_cast<time_t>(ns / 1000000000);
    relative.tv_nsec = static_cast<long>(ns % 1000000000);
    (void)::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected, &relative, nullptr, 0);
}

/// Wakes every waiter on `word`.
inline void futex_wake(std::atomic<uint32_t>& word) {
    (void)::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

/// One step of a spin wait.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

}  // namespace llm_datadist_ref
