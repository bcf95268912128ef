// The plugin's one exported symbol: checks that the libonnxruntime found at
// run time provides the ORT API version these headers describe, then
// initialises the C++ API and creates the engine.
#include <onnxruntime_cxx_api.h>

#include <stdexcept>
#include <string>

#include "ort_common.hpp"
#include "ort_engine.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace {

std::unique_ptr<polyinfer::plugin::Engine> createOrtEngine() {
  const OrtApiBase* base = OrtGetApiBase();
  const OrtApi* api = base != nullptr ? base->GetApi(ORT_API_VERSION) : nullptr;
  if (api == nullptr)
    throw std::runtime_error(std::string("the loaded libonnxruntime (version ") +
                             (base != nullptr ? base->GetVersionString() : "unknown") +
                             ") does not provide ORT API version " + std::to_string(ORT_API_VERSION) +
                             ", which this plugin was built with; use ONNX Runtime 1." +
                             std::to_string(ORT_API_VERSION) + " or newer");
  Ort::InitApi(api);
  return std::make_unique<polyinfer::ort::OrtEngine>();
}

}  // namespace

POLYINFER_DEFINE_PLUGIN(polyinfer::ort::kEngineName, createOrtEngine)
