#include "llm_datadist_ref/copy_engine.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <thread>

#include "llm_datadist_ref/worker_pool.hpp"

namespace llm_datadist_ref {
namespace {

void copy_span(const CopySpan& span) noexcept {
    const auto* src_end = span.src + span.bytes;
    const auto* dst_end = span.dst + span.bytes;
    const bool overlap = span.dst < src_end && span.src < dst_end;
    if (overlap) {
        if (span.dst != span.src) {
            std::memmove(span.dst, span.src, span.bytes);
        }
    } else {
        std::memcpy(span.dst, span.src, span.bytes);
    }
}

}  // namespace

void HostCopyEngine::run(const CopySpan* spans, std::size_t count) const {
    for (std::size_t i = 0; i < count; ++i) {
        copy_span(spans[i]);
    }
}

void HostCopyEngine::run_parallel(const std::vector<CopySpan>& spans, unsigned ways) const {
    ways = std::max(1U, std::min<unsigned>(ways, static_cast<unsigned>(spans.size())));
    if (ways <= 1) {
        run(spans.data(), spans.size());
        return;
    }
    // Contiguous shares of roughly equal bytes, so no worker idles while another finishes.
    std::size_t total = 0;
    for (const auto& span : spans) {
        total += span.bytes;
    }
    const std::size_t share = (total + ways - 1) / ways;
    std::vector<std::function<void()>> jobs;
    jobs.reserve(ways);
    std::size_t begin = 0;
    while (begin < spans.size()) {
        std::size_t end = begin;
        std::size_t bytes = 0;
        while (end < spans.size() && (bytes < share || end == begin)) {
            bytes += spans[end].bytes;
            ++end;
        }
        const CopySpan* first = spans.data() + begin;
        const std::size_t count = end - begin;
        jobs.emplace_back([this, first, count] { run(first, count); });
        begin = end;
    }
    WorkerPool::shared().run_all(std::move(jobs));
}

unsigned copy_parallelism() noexcept {
    static const unsigned ways = std::max(1U, std::min(4U, std::thread::hardware_concurrency()));
    return ways;
}

std::shared_ptr<CopyEngine> default_copy_engine() {
    static const auto engine = std::make_shared<HostCopyEngine>();
    return engine;
}

}  // namespace llm_datadist_ref
