// The plugin's one exported symbol. No LibTorch headers here.
#include <memory>

#include "polyinfer/plugin_kit.hpp"
#include "torch_engine.hpp"

POLYINFER_DEFINE_PLUGIN("torch",
                        [] { return std::make_unique<polyinfer::torch_engine::TorchEngine>(); })
