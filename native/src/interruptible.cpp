// Long copies and swaps that Ctrl-C can stop: the plan runs in slices, and between slices the
// caller takes the GIL back for a moment to let Python handle pending signals.
#include <algorithm>
#include <vector>

#include "llm_datadist_ref/pybind11.hpp"

namespace llm_datadist_ref {
namespace {

/// Bytes moved between two signal checks: a few milliseconds of copying.
constexpr std::size_t kInterruptSliceBytes = std::size_t{64} << 20;

bool overlaps_itself(const CopySpan& span) noexcept {
    return span.dst < span.src + span.bytes && span.src < span.dst + span.bytes;
}

/// The spans cut into slices of about kInterruptSliceBytes; a span that overlaps itself (a
/// memmove) is never cut, the others are cut into contiguous pieces.
std::vector<std::vector<CopySpan>> slices_of(const std::vector<CopySpan>& spans) {
    std::vector<std::vector<CopySpan>> slices(1);
    std::size_t filled = 0;
    for (const CopySpan& span : spans) {
        std::size_t done = 0;
        while (done < span.bytes) {
            if (filled >= kInterruptSliceBytes) {
                slices.emplace_back();
                filled = 0;
            }
            const std::size_t room = kInterruptSliceBytes - filled;
            const std::size_t piece = overlaps_itself(span) ? span.bytes : std::min(room, span.bytes - done);
            slices.back().push_back({span.dst + done, span.src + done, piece});
            filled += piece;
            done += piece;
        }
    }
    return slices;
}

/// Between two slices: lets Python run its signal handlers; a raised KeyboardInterrupt stops the
/// operation here (the destination may then hold part of the bytes; nothing else has changed).
void check_signals() {
    if (PyErr_CheckSignals() != 0) {
        throw py::error_already_set();
    }
}

}  // namespace

void run_interruptible(const Engine& engine, const CopyPlan& plan) {
    if (plan.total_bytes <= kInterruptSliceBytes) {
        run_plan(engine, plan);
        return;
    }
    const auto slices = slices_of(plan.spans);
    for (std::size_t i = 0; i < slices.size(); ++i) {
        if (i > 0) {
            check_signals();
        }
        CopyPlan slice;
        slice.spans = slices[i];
        slice.independent = plan.independent;  // the parent plan's pins keep the memory alive
        for (const CopySpan& span : slice.spans) {
            slice.total_bytes += span.bytes;
        }
        run_plan(engine, slice);
    }
}

void run_interruptible(Engine& engine, const SwapPlan& plan) {
    struct ReleaseStaging {  // however the swap ends, an idle ring is not kept resident
        Engine& engine;
        ~ReleaseStaging() { engine.release_idle_staging(); }
    } release_staging{engine};
    const auto run_slice = [&engine](const SwapPlan& slice) {
        if (slice.copies.total_bytes >= kReleaseGilThreshold) {
            py::gil_scoped_release release;
            engine.run(slice);
        } else {
            engine.run(slice);
        }
    };
    if (plan.copies.total_bytes <= kInterruptSliceBytes) {
        run_slice(plan);
        return;
    }
    // Slices of whole spans (one block of one tensor each), so every slice keeps the plan's
    // direction and block size and no two slices write the same bytes.
    SwapPlan slice;
    slice.direction = plan.direction;
    slice.block_bytes = plan.block_bytes;
    bool first = true;
    const auto flush = [&] {
        if (!first) {
            check_signals();
        }
        first = false;
        run_slice(slice);
        slice.copies.spans.clear();
        slice.copies.total_bytes = 0;
    };
    for (const CopySpan& span : plan.copies.spans) {
        slice.copies.spans.push_back(span);
        slice.copies.total_bytes += span.bytes;
        if (slice.copies.total_bytes >= kInterruptSliceBytes) {
            flush();
        }
    }
    if (!slice.copies.spans.empty()) {
        flush();
    }
}

}  // namespace llm_datadist_ref
