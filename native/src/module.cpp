// The _core extension: one register_<area>() per area, in the boost-histogram style.
#include "llm_datadist_ref/pybind11.hpp"

PYBIND11_MODULE(_core, m) {
    using namespace llm_datadist_ref;
    m.doc() = "C++ core of llm_datadist_ref: memory pools, cache registry, copies, swaps and transfers.";
    register_status(m);
    EngineClass engine = register_pools(m);
    register_caches(m, engine);
    register_copies(engine);
    register_swap(engine);
    register_transfer(engine);
    register_remote(m, engine);
    register_mailbox(m, engine);
    register_testing(m);
    register_bench(m);
}
