// The plugin's one exported symbol.
#include <memory>

#include "opencv_engine.hpp"
#include "polyinfer/plugin_kit.hpp"

POLYINFER_DEFINE_PLUGIN("opencv", []() -> std::unique_ptr<polyinfer::plugin::Engine> {
  return std::make_unique<polyinfer::opencv_engine::OpenCvEngine>();
})
