// Persistent threads for swap_blocks, so a swap pays a wake-up, not a thread start.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llm_datadist_ref {

/// A fixed set of threads running submitted jobs. Jobs must not throw and must not touch Python.
class WorkerPool {
  public:
    explicit WorkerPool(unsigned threads);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Runs every job (on the workers) and returns when all have finished.
    void run_all(std::vector<std::function<void()>> jobs);
    /// Queues one job; the caller synchronises with it by its own means.
    void submit(std::function<void()> job);
    unsigned size() const noexcept { return static_cast<unsigned>(threads_.size()); }

    /// The process-wide pool: 4 workers, as the document describes for swap-out.
    static WorkerPool& shared();

  private:
    void loop();

    std::mutex mu_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

/// A countdown a caller waits on.
class Latch {
  public:
    explicit Latch(std::size_t count) : count_(count) {}
    void count_down();
    void wait();

  private:
    std::mutex mu_;
    std::condition_variable done_;
    std::size_t count_;
};

}  // namespace llm_datadist_ref
