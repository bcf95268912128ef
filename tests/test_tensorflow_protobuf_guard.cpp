// A program that links protobuf itself (as a gRPC service would) has a
// protobuf runtime in its global symbol scope; TensorFlow's wheel libraries
// would bind to it and crash while loading. The plugin must refuse with
// Error(Unavailable) naming the library, and the process must go on.
#include <gtest/gtest.h>

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "test_support.hpp"

#if POLYINFER_HAVE_TENSORFLOW

namespace polyinfer {
namespace {

TEST(TfProtobufGuard, AGlobalProtobufRuntimeIsRefusedNotACrash) {
  // Use protobuf, so that the linker keeps it.
  char buffer[16];
  google::protobuf::io::ArrayOutputStream stream(buffer, sizeof buffer);
  EXPECT_EQ(stream.ByteCount(), 0);

  const std::string message = test::expectError(
      [] {
        Model::load(Criteria{.modelPath = test::modelFile("tf_tiny", "saved_model"),
                             .engine = "tensorflow"});
      },
      ErrorCode::Unavailable, {"protobuf", "libprotobuf", "RTLD_LOCAL"});
  // The other engines are unaffected.
  for (const std::string& engine : test::builtEngines()) {
    if (engine == "tensorflow") continue;
    if (const test::EngineModelFile mlp = test::modelFor("mlp", engine)) {
      auto model = Model::load(Criteria{.modelPath = mlp.file, .engine = engine});
      Predictor predictor = model->newPredictor();
      EXPECT_EQ(predictor.predict(test::loadReference("mlp").inputs).size(), 1u) << engine;
      break;
    }
  }
}

}  // namespace
}  // namespace polyinfer

#else

TEST(TfProtobufGuard, NotBuilt) { GTEST_SKIP() << "built without the TensorFlow engine"; }

#endif
