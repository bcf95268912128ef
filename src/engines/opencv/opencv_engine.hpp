// The OpenCV DNN engine: runs models through Debian's OpenCV 4.6 dnn module.
//
// This header is light on purpose (no OpenCV includes).
//
// ---------------------------------------------------------------------------
// Formats
//   ONNX (.onnx); Caffe (.caffemodel + .prototxt); Darknet (.weights + .cfg);
//   TensorFlow frozen graphs (.pb, optionally with a .pbtxt). For the
//   two-file formats the model path names the weights file and the text file
//   is option `configFile`, or else the file next to it with the same stem
//   and the format's text extension.
//
// Threads
//   A cv::dnn::Net is not safe to share between threads, so the engine is
//   not re-entrant: the Model keeps the model's bytes in memory once, and
//   every Predictor builds its own Net from them (no file re-read). The Net
//   built at load time to check the model is handed to the first predictor.
//   num_threads is cv::setNumThreads: process-wide (OpenCV's TBB arena is
//   shared by all Nets), applied by the first model loaded; a later model
//   asking for another value gets the value in effect, reported in its
//   config() with source Engine.
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
//   Outputs are views of the cv::Mat OpenCV returns (no copy; the view keeps
//   the Mat alive), reshaped to the declared rank when OpenCV's 2-d minimum
//   differs from it (a 1-d output comes back as a 1 x N Mat).
// ---------------------------------------------------------------------------
#pragma once

#include <memory>

#include "polyinfer/plugin.hpp"

namespace polyinfer::opencv_engine {

inline constexpr const char* kEngineName = "opencv";

/// The engine object the plugin entry point hands out. Throws on failure.
std::unique_ptr<plugin::Engine> createEngine();

}  // namespace polyinfer::opencv_engine
