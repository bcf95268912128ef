// Shared helpers of the OpenCV plugin: the engine's name, OpenCV's exception
// text made readable, the load errors, and the element types OpenCV takes
// and returns. No OpenCV includes: cv depths are ints (CV_32F...).
#pragma once

#include <optional>
#include <string>

#include "polyinfer/model.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::opencv_engine {

/// The engine's name, as in the plugin's file name and manifest.
inline constexpr const char* kEngineName = "opencv";

/// OpenCV's exception text on one line: the "OpenCV(4.6.0) file:line: error:
/// (-2:Unspecified error) in function '...'" prefixes and "> " continuation
/// markers removed, whitespace collapsed, at most 600 characters.
std::string summarize(const std::string& what);

/// A cv::Exception's text at load as polyinfer::Error: Unsupported naming the
/// node when OpenCV's importer rejected one (and suggesting another engine),
/// else InvalidArgument. `path` is the model's file, for the message.
[[noreturn]] void throwLoadError(const std::string& what, const std::string& path);

/// Rethrows the exception being handled, while loading `path`, as
/// polyinfer::Error: a cv::Exception as throwLoadError does, anything else as
/// the kit's rethrowAsError does ("opencv: loading '<path>' failed: ...",
/// EngineFailure). Call only inside a catch block.
[[noreturn]] void rethrowLoadError(const std::string& path);

/// The kit's ExceptionTranslator for cv::Exception: the summarised text.
std::optional<plugin::TranslatedError> translateCvException(ErrorCode code);

/// Input element types OpenCV's DNN module takes: float32 and uint8.
const plugin::DTypeTable<int>& inputDepths();
/// The element types an output cv::Mat may have (CV_8U ... CV_16F).
const plugin::DTypeTable<int>& outputDepths();

/// A tensor the model declares nothing about but its name.
TensorInfo namedInfo(std::string name);

}  // namespace polyinfer::opencv_engine
