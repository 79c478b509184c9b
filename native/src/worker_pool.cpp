#include "llm_datadist_ref/worker_pool.hpp"

#include <utility>

namespace llm_datadist_ref {

WorkerPool::WorkerPool(unsigned threads) {
    threads_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { loop(); });
    }
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& thread : threads_) {
        thread.join();
    }
}

void WorkerPool::loop() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock<std::mutex> lock(mu_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;  // stopping and drained
            }
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        job();
    }
}

void WorkerPool::submit(std::function<void()> job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void WorkerPool::run_all(std::vector<std::function<void()>> jobs) {
    Latch latch(jobs.size());
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& job : jobs) {
            queue_.push_back([&latch, work = std::move(job)] {
                work();
                latch.count_down();
            });
        }
    }
    wake_.notify_all();
    latch.wait();
}

WorkerPool& WorkerPool::shared() {
    // Deliberately never destroyed: joining at static-destruction time, after the interpreter has
    // gone, gains nothing, and the threads hold no resources that outlive the process.
    static WorkerPool* pool = new WorkerPool(4);
    return *pool;
}

void Latch::count_down() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ == 0) {
        done_.notify_all();
    }
}

void Latch::wait() {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return count_ == 0; });
}

}  // namespace llm_datadist_ref
