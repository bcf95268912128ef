// libFuzzer target: the gRPC front end's request decoder (kserve::decodeInferRequest on an
// inference.ModelInferRequest), fed any bytes gRPC may deliver: what protobuf parses as a
// ModelInferRequest is decoded and answered as the server would. Every malformed request must
// end in a polyinfer::Error; anything else escaping (another exception, a crash, a sanitizer
// report, an allocation over libFuzzer's -malloc_limit_mb) is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>

#include <google/protobuf/stubs/logging.h>

#include "grpc_codec.hpp"
#include "polyinfer/error.hpp"

// protobuf logs an ERROR line for every string field that is not UTF-8, which
// random bytes nearly always hold: ~100,000 lines in a 20 s run, and time
// spent writing them. Discarded: a rejected parse is an expected outcome here.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto request = std::make_shared<inference::ModelInferRequest>();
  if (!request->ParseFromArray(data, static_cast<int>(size))) return 0;
  try {
    polyinfer::kserve::InferRequest decoded = polyinfer::kserve::decodeInferRequest(*request, request);
    inference::ModelInferResponse response;
    polyinfer::kserve::encodeInferResponse("m", "1", decoded.id, decoded.inputs, decoded.outputs,
                                           response);
  } catch (const polyinfer::Error&) {
  }
  return 0;
}
