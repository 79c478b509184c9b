// The _core extension: one register_<area>() per area, in the boost-histogram style.
#include "llm_datadist_ref/pybind11.hpp"

PYBIND11_MODULE(_core, m) {
    using namespace llm_datadist_ref;
    m.doc() = "C++ core of llm_datadist_ref: memory pools, cache registry, copies, swaps and transfers.";
    register_status(m);
    m.def("set_cache_class", &set_cache_class, py::arg("cls"),
          "Records the Cache class whose handles Engine.allocate_cache returns (set by llm_datadist_ref._types).");
    EngineClass engine = register_pools(m);
    register_caches(engine);
    register_copies(engine);
    register_swap(engine);
    register_transfer(engine);
    register_remote(m, engine);
    register_mailbox(m, engine);
    register_testing(m);
    register_bench(m);
}
