// polyinfer: fast multi-threaded inference over several engines, one API.
//
//   auto model = polyinfer::Model::load({.modelPath = "resnet18.onnx", .workers = 4});
//   // on each of the 4 threads:
//   polyinfer::Predictor predictor = model->newPredictor();
//   polyinfer::Tensors out = predictor.predict({input});
#pragma once

#include "polyinfer/batching.hpp"
#include "polyinfer/dtype.hpp"
#include "polyinfer/engine_info.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/model.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/profile.hpp"
#include "polyinfer/registry.hpp"
#include "polyinfer/tensor.hpp"
#include "polyinfer/thread_budget.hpp"
#include "polyinfer/version.hpp"
