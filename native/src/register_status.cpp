// Status codes and the translation of core failures into Python exceptions.
#include <exception>
#include <string>

#include "llm_datadist_ref/pybind11.hpp"
#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {
namespace {

PyObject* g_core_error = nullptr;  // _core.CoreError, used until the front end installs a factory
// The front end's exception factory. Leaked on purpose: destroying a Python object after the
// interpreter is gone would crash at exit.
py::object* g_error_factory = new py::object();

void raise_core_error(const CoreError& error) {
    const auto code = static_cast<int64_t>(error.code());
    const bool value_error = error.kind() == ErrorKind::kValueRange;
    if (g_error_factory->ptr() != nullptr && !g_error_factory->is_none()) {
        try {
            py::object exception = (*g_error_factory)(code, error.what(), value_error);
            PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
            return;
        } catch (py::error_already_set& failure) {
            failure.restore();
            return;
        }
    }
    py::tuple args = py::make_tuple(code, error.what(), value_error);
    PyErr_SetObject(g_core_error, args.ptr());
}

}  // namespace

void register_status(py::module_& m) {
    py::dict codes;
    codes["LLM_SUCCESS"] = static_cast<int64_t>(StatusCode::kSuccess);
    codes["LLM_FAILED"] = static_cast<int64_t>(StatusCode::kFailed);
    codes["LLM_WAIT_PROCESS_TIMEOUT"] = static_cast<int64_t>(StatusCode::kWaitProcessTimeout);
    codes["LLM_KV_CACHE_NOT_EXIST"] = static_cast<int64_t>(StatusCode::kKvCacheNotExist);
    codes["LLM_PARAM_INVALID"] = static_cast<int64_t>(StatusCode::kParamInvalid);
    codes["LLM_ENGINE_FINALIZED"] = static_cast<int64_t>(StatusCode::kEngineFinalized);
    codes["LLM_NOT_YET_LINK"] = static_cast<int64_t>(StatusCode::kNotYetLink);
    codes["LLM_FEATURE_NOT_ENABLED"] = static_cast<int64_t>(StatusCode::kFeatureNotEnabled);
    codes["LLM_TIMEOUT"] = static_cast<int64_t>(StatusCode::kTimeout);
    codes["LLM_OUT_OF_MEMORY"] = static_cast<int64_t>(StatusCode::kOutOfMemory);
    m.attr("STATUS_CODES") = codes;

    g_core_error = PyErr_NewExceptionWithDoc(
        "llm_datadist_ref._core.CoreError",
        "A core failure: args are (status_code, message, is_value_error). The front end turns it into "
        "LLMException.",
        PyExc_RuntimeError, nullptr);
    if (g_core_error == nullptr) {
        throw py::error_already_set();
    }
    m.attr("CoreError") = py::handle(g_core_error);

    m.def(
        "set_error_factory", [](py::object factory) { *g_error_factory = std::move(factory); },
        py::arg("factory"),
        "Installs `factory(status_code, message, is_value_error) -> BaseException`, used to raise every "
        "core failure (None restores CoreError).");

    py::register_exception_translator([](std::exception_ptr pointer) {
        try {
            if (pointer) {
                std::rethrow_exception(pointer);
            }
        } catch (const CoreError& error) {
            raise_core_error(error);
        }
    });
}

}  // namespace llm_datadist_ref
