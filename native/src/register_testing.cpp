// Fault injection for tests (per-operation delays) and probes of core decisions.
#include <string>

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
    m.def("operation_names", [] {
        py::list names;
        for (std::size_t i = 0; i < static_cast<std::size_t>(Operation::kCount); ++i) {
            names.append(std::string(operation_name(static_cast<Operation>(i))));
        }
        return names;
    });
}

}  // namespace llm_datadist_ref
