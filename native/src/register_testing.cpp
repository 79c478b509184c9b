// Fault injection for tests (per-operation delays), probes of core decisions, and the page
// allocator on its own.
#include <optional>
#include <stdexcept>
#include <string>

#include "llm_datadist_ref/page_allocator.hpp"
#include "llm_datadist_ref/pybind11.hpp"

namespace llm_datadist_ref {
namespace {

Operation read_operation(const std::string& name) {
    const auto op = operation_from_name(name);
    if (!op) {
        throw py::value_error("unknown CacheManager operation '" + name + "'");
    }
    return *op;
}

}  // namespace

void register_testing(py::module_& m) {
    m.def(
        "set_operation_delay",
        [](const std::string& name, int64_t ms) {
            if (ms < 0 || ms > INT32_MAX) {
                throw py::value_error("delay must be in [0, 2**31) ms");
            }
            OperationDelays::set(read_operation(name), static_cast<int32_t>(ms));
        },
        py::arg("operation"), py::arg("ms"),
        "Makes every call of a CacheManager operation sleep `ms` (GIL released) before it checks its deadline.");
    m.def(
        "hold_registry_lock",
        [](Engine& engine, int64_t ms) {
            if (ms < 0 || ms > INT32_MAX) {
                throw py::value_error("ms must be in [0, 2**31)");
            }
            py::gil_scoped_release release;
            engine.hold_registry_lock(ms);
        },
        py::arg("engine"), py::arg("ms"),
        "Holds the engine's registry lock for `ms` (GIL released), as a long operation of another thread would.");
    m.def(
        "operation_delay", [](const std::string& name) { return OperationDelays::get(read_operation(name)); },
        py::arg("operation"));
    m.def(
        "copy_blocks_independent",
        [](py::handle copy_block_info, uint32_t num_blocks) {
            return blocks_independent(read_block_copy_info(copy_block_info), num_blocks);
        },
        py::arg("copy_block_info"), py::arg("num_blocks"),
        "Whether copy_blocks may run these copies in any order (on several workers): the blocks must "
        "be in range, which this does not check.");
    // The allocator of a pool, on its own: its integrity checks cannot be reached through an
    // Engine (every storage releases its own runs exactly once), so they are tested here.
    py::class_<PageAllocator>(m, "PageAllocator", "A pool's page allocator on its own, for tests.")
        .def(py::init([](int64_t capacity) {
                 if (capacity < 0 || capacity >= static_cast<int64_t>(UINT32_MAX)) {
                     throw py::value_error("capacity out of range");
                 }
                 return std::make_unique<PageAllocator>(static_cast<uint32_t>(capacity));
             }),
             py::arg("capacity_pages"))
        .def(
            "allocate",
            [](PageAllocator& self, uint32_t count) -> std::optional<uint32_t> { return self.allocate(count); },
            py::arg("count"))
        .def(
            "release",
            [](PageAllocator& self, uint32_t first, uint32_t count) {
                try {
                    self.release({first, count});
                } catch (const std::logic_error& error) {
                    throw py::value_error(error.what());
                }
            },
            py::arg("first"), py::arg("count"), "ValueError, changing nothing, unless (first, count) is a live run.")
        .def_property_readonly("free_pages", &PageAllocator::free_pages)
        .def_property_readonly("capacity", &PageAllocator::capacity)
        .def_property_readonly("live_runs", &PageAllocator::live_runs)
        .def_property_readonly("free_run_count", &PageAllocator::free_run_count)
        .def("free_runs", [](PageAllocator& self) {
            py::list runs;
            for (const Extent& run : self.free_runs()) {
                runs.append(py::make_tuple(run.first, run.count));
            }
            return runs;
        });
    m.def("operation_names", [] {
        py::list names;
        for (std::size_t i = 0; i < static_cast<std::size_t>(Operation::kCount); ++i) {
            names.append(std::string(operation_name(static_cast<Operation>(i))));
        }
        return names;
    });
}

}  // namespace llm_datadist_ref
