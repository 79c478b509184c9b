#include "llm_datadist_ref/copy_engine.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "llm_datadist_ref/worker_pool.hpp"

namespace llm_datadist_ref {
namespace {

constexpr std::size_t kPrefetchAhead = 2048;

/// memcpy of non-overlapping ranges, with streaming stores for the 64-byte lines of the
/// destination (16-byte aligned). Unfenced: HostCopyEngine::run fences once after its last span
/// (a fence per span waits for every streaming store in flight, 2 us over 8 blocks of 8 KiB).
void streaming_copy(std::byte* dst, const std::byte* src, std::size_t bytes) noexcept {
#if defined(__SSE2__)
    const std::size_t head = std::min(bytes, (16 - (reinterpret_cast<std::uintptr_t>(dst) & 15U)) & 15U);
    std::memcpy(dst, src, head);
    dst += head;
    src += head;
    bytes -= head;
    for (; bytes >= 64; bytes -= 64, dst += 64, src += 64) {
        // Hardware prefetchers stop at 4 KiB page boundaries (a peer's shared pool has 4 KiB
        // pages); asking for the line 2 KiB ahead keeps the next page's lines on their way.
        if (bytes > kPrefetchAhead) {  // nothing past the span's end
            _mm_prefetch(reinterpret_cast<const char*>(src) + kPrefetchAhead, _MM_HINT_T0);
        }
        const auto* from = reinterpret_cast<const __m128i*>(src);
        auto* to = reinterpret_cast<__m128i*>(dst);
        const __m128i a = _mm_loadu_si128(from);
        const __m128i b = _mm_loadu_si128(from + 1);
        const __m128i c = _mm_loadu_si128(from + 2);
        const __m128i d = _mm_loadu_si128(from + 3);
        _mm_stream_si128(to, a);
        _mm_stream_si128(to + 1, b);
        _mm_stream_si128(to + 2, c);
        _mm_stream_si128(to + 3, d);
    }
#endif
    std::memcpy(dst, src, bytes);
}

/// Makes the streaming stores so far visible before anything the caller does next (a lock
/// release, a reply to a peer).
void fence_streaming_stores() noexcept {
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

/// Copies one span; true when it used streaming stores (which then need a fence).
bool copy_span(const CopySpan& span) noexcept {
    const auto* src_end = span.src + span.bytes;
    const auto* dst_end = span.dst + span.bytes;
    const bool overlap = span.dst < src_end && span.src < dst_end;
    if (overlap) {
        if (span.dst != span.src) {
            std::memmove(span.dst, span.src, span.bytes);
        }
    } else if (span.bytes >= kStreamingCopyThreshold) {
        streaming_copy(span.dst, span.src, span.bytes);
        return true;
    } else {
        std::memcpy(span.dst, span.src, span.bytes);
    }
    return false;
}

/// Asks for the first kPrefetchHead bytes of a span's source (never past its end).
void prefetch_head(const CopySpan& span) noexcept {
#if defined(__SSE2__)
    constexpr std::size_t kPrefetchHead = 1024;
    const std::size_t bytes = std::min(span.bytes, kPrefetchHead);
    for (std::size_t offset = 0; offset < bytes; offset += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(span.src) + offset, _MM_HINT_T0);
    }
#else
    (void)span;
#endif
}

/// Asks for the first line of every 4 KiB page of the first short spans' sources at once, so
/// that the page walks of scattered blocks overlap instead of starting one block at a time.
void prefetch_pages(const CopySpan* spans, std::size_t count) noexcept {
#if defined(__SSE2__)
    constexpr std::size_t kPage = 4096;
    constexpr std::size_t kMaxPrefetches = 64;
    std::size_t issued = 0;
    for (std::size_t i = 0; i < count && issued < kMaxPrefetches; ++i) {
        if (spans[i].bytes >= kPrefetchNextBelow) {
            return;
        }
        for (std::size_t offset = 0; offset < spans[i].bytes && issued < kMaxPrefetches; offset += kPage, ++issued) {
            _mm_prefetch(reinterpret_cast<const char*>(spans[i].src) + offset, _MM_HINT_T0);
        }
    }
#else
    (void)spans;
    (void)count;
#endif
}

}  // namespace

void HostCopyEngine::run(const CopySpan* spans, std::size_t count) const {
    if (count > 1) {
        prefetch_pages(spans, count);
    }
    bool streamed = false;
    for (std::size_t i = 0; i < count; ++i) {
        if (i + 1 < count && spans[i].bytes < kPrefetchNextBelow) {
            prefetch_head(spans[i + 1]);
        }
        streamed = copy_span(spans[i]) || streamed;
    }
    if (streamed) {
        fence_streaming_stores();
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
