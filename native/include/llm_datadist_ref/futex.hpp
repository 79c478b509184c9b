// Waiting on a 32-bit word that another process may share (a futex without FUTEX_PRIVATE_FLAG).
#pragma once

#include <linux/futex.h>
#include <sched.h>
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

/// Waits for `ready()` without sleeping until `until`: a few pauses first (the answer is often a
/// cache-line hand-off away), then yielding the CPU, so that a peer thread sharing this core (a
/// loaded machine) gets to run. Returns ready().
template <class Ready>
bool busy_wait(Ready&& ready, std::chrono::steady_clock::time_point until) {
    constexpr unsigned kPauses = 64;  // a few microseconds
    for (unsigned i = 0; i < kPauses; ++i) {
        if (ready()) {
            return true;
        }
        cpu_relax();
    }
    while (std::chrono::steady_clock::now() < until) {
        if (ready()) {
            return true;
        }
        (void)::sched_yield();
    }
    return ready();
}

}  // namespace llm_datadist_ref
