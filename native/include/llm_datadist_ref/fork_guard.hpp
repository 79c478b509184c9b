// What keeps the core usable in a child made by fork() (multiprocessing's "fork" start method).
#pragma once

#include <cstdint>
#include <mutex>

namespace llm_datadist_ref {

/// The order in which the fork handler takes the core's locks: the order the code nests them in
/// (a registry lock may be held while a pool lock is taken, never the other way round).
enum class LockRank : uint8_t { kRegistry = 0, kStaging = 1, kPool = 2, kWorkers = 3, kCount = 4 };

/// Every long-lived mutex of the core is registered here. Around fork() the handler takes them
/// all (rank by rank), so no child inherits a lock that another thread of the parent held
/// half-way through an update; both sides release them afterwards. Holders never wait for the
/// GIL or for Python, so fork() only waits for operations already running in C++ to leave their
/// critical sections.
class ForkGuard {
  public:
    /// RAII registration of one mutex for the lifetime of its owner.
    class Registration {
      public:
        Registration(std::mutex& mutex, LockRank rank);
        ~Registration();
        Registration(const Registration&) = delete;
        Registration& operator=(const Registration&) = delete;

      private:
        std::mutex* mutex_;
        LockRank rank_;
    };

    /// Incremented in every child: lets process-wide singletons (the worker pool) see that their
    /// threads were left behind in the parent and must be recreated.
    static uint64_t generation() noexcept;
};

}  // namespace llm_datadist_ref
