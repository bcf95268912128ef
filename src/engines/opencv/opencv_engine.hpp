// The OpenCV DNN engine: runs models through Debian's OpenCV 4.6 dnn module.
//
// This header is light on purpose (no OpenCV includes).
//
// ---------------------------------------------------------------------------
// Formats
//   Declared in manifest.json: ONNX (.onnx); Caffe (.caffemodel +
//   {stem}.prototxt); Darknet (.weights + {stem}.cfg); TensorFlow frozen
//   graphs (.pb, optionally with {stem}.pbtxt). The core resolves the model's
//   path to one of them and finds the text part next to the weights file;
//   option `configFile` names another one (and wins). A Caffe or Darknet model
//   without its text part is NotFound. When the engine is named and no format
//   matched, a text part (.prototxt, .cfg, .pbtxt) given as the model is
//   refused (name the weights file), and any other file is read as ONNX.
//
// Threads
//   A cv::dnn::Net is not safe to share between threads, so the engine is
//   not re-entrant: the core reads the model's files once (LoadRequest::bytes,
//   kept by the model, not copied), and asks createInstance() for a Net per
//   predictor, built from those bytes (no file is re-read). Load itself
//   builds one Net to learn the output layers, and drops it.
//   num_threads is cv::setNumThreads: process-wide (OpenCV's parallel
//   framework is shared by all Nets), applied by the first model loaded; a
//   later model asking for another value gets the value in effect, reported
//   in its config() with source Engine. OpenCV has no inter-op pool:
//   interOpThreads is reported as 1.
//
// Inputs and outputs
//   ONNX models: names, element types and shapes come from the graph (inputs
//   that are initializers are not inputs). OpenCV's DNN module takes float32
//   and uint8 inputs only; a model declaring another input type is refused at
//   load with Unsupported. Outputs are reported with the graph's names and
//   shapes; their element type is what OpenCV computes (float32 for every
//   layer it has), known after a run.
//   Other formats: one input named "input" of undeclared type and shape, and
//   the network's unconnected output layers as outputs, in OpenCV's order.
//   Outputs are copied out of the cv::Mat OpenCV returns (the Net reuses it
//   on the next forward), reshaped to the declared rank when OpenCV's 2-d
//   minimum differs from it (a 1-d output comes back as a 1 x N Mat).
// ---------------------------------------------------------------------------
#pragma once

#include <memory>

#include "polyinfer/plugin.hpp"

namespace polyinfer::opencv_engine {

class OpenCvEngine final : public plugin::Engine {
 public:
  OpenCvEngine();

  EngineDescription describe() const override { return description_; }
  /// Checks device and options, takes the bytes the core read (and the
  /// configFile option's file), then builds the model. Throws Error only.
  std::shared_ptr<plugin::EngineModel> load(const plugin::LoadRequest& request) override;

 private:
  EngineDescription description_;
};

}  // namespace polyinfer::opencv_engine
