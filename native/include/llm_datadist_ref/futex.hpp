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

/// This thread's CPU plus one (0: unknown), as a spinning side publishes it for its peer.
inline uint32_t cpu_tag() noexcept {
    const int cpu = ::sched_getcpu();
    return cpu < 0 ? 0U : static_cast<uint32_t>(cpu) + 1U;
}

/// Whether spinning can help: not while the peer last ran on this thread's CPU, where the peer
/// cannot answer until this thread gives the CPU up (sleeping lets the scheduler run the peer at
/// once, and its wake-up may move one of the two to an idle CPU).
inline bool apart_from(const std::atomic<uint32_t>& peer_cpu) noexcept {
    const uint32_t peer = peer_cpu.load(std::memory_order_relaxed);
    return peer == 0 || peer != cpu_tag();
}

/// Waits for `ready()` without sleeping until `until`, or until `worth_it()` turns false (checked
/// before the first slice and between slices): pauses in slices of about 2 us (the answer is
/// often a cache-line hand-off away), yielding the CPU between slices so that a peer thread
/// sharing this core (a loaded machine) gets to run. Returns ready().
template <class Ready, class WorthIt>
bool busy_wait(Ready&& ready, std::chrono::steady_clock::time_point until, WorthIt&& worth_it) {
    using Clock = std::chrono::steady_clock;
    constexpr auto kSlice = std::chrono::microseconds(2);
    while (true) {
        if (!worth_it()) {
            return ready();
        }
        const auto slice_end = Clock::now() + kSlice;
        for (unsigned i = 1;; ++i) {
            if (ready()) {
                return true;
            }
            cpu_relax();
            if ((i & 15U) == 0 && Clock::now() > slice_end) {
                break;
            }
        }
        if (Clock::now() >= until) {
            return ready();
        }
        (void)::sched_yield();
    }
}

}  // namespace llm_datadist_ref
