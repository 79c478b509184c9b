// Status codes of the vendor API and the exception the core throws with them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace llm_datadist_ref {

/// Numeric values of the vendor's LLMStatusCode (ge error codes, base 0x5010B000).
enum class StatusCode : int64_t {
    kSuccess = 0,
    kFailed = 0xFFFFFFFF,
    kWaitProcessTimeout = 0x5010B001,
    kKvCacheNotExist = 0x5010B002,
    kParamInvalid = 0x5010B005,
    kEngineFinalized = 0x5010B006,
    kNotYetLink = 0x5010B007,
    kFeatureNotEnabled = 0x5010B019,
    kTimeout = 0x5010B01A,
    kOutOfMemory = 0x5010B01C,
};

/// How the Python front end should surface a core failure.
enum class ErrorKind : uint8_t {
    kSemantic,    ///< LLMException(status_code)
    kValueRange,  ///< an argument value out of range: LLMException(PARAM_INVALID) that is also a ValueError
};

/// The one exception type the core throws for API-level failures.
class CoreError : public std::runtime_error {
  public:
    CoreError(StatusCode code, const std::string& message, ErrorKind kind = ErrorKind::kSemantic)
        : std::runtime_error(message), code_(code), kind_(kind) {}

    StatusCode code() const noexcept { return code_; }
    ErrorKind kind() const noexcept { return kind_; }

  private:
    StatusCode code_;
    ErrorKind kind_;
};

/// Throws PARAM_INVALID flagged as a value-range error.
[[noreturn]] inline void throw_out_of_range(const std::string& message) {
    throw CoreError(StatusCode::kParamInvalid, message, ErrorKind::kValueRange);
}

[[noreturn]] inline void throw_status(StatusCode code, const std::string& message) {
    throw CoreError(code, message);
}

}  // namespace llm_datadist_ref
