// Plugin discovery, ABI check and engine choice from the model format.
#include <gtest/gtest.h>

#include <fstream>

#include "test_support.hpp"

using namespace polyinfer;
namespace fs = std::filesystem;

TEST(RegistryTest, RefusesPluginBuiltForAnotherAbiVersion) {
  Registry registry({POLYINFER_FAKE_PLUGIN_DIR});
  auto plugins = registry.plugins();
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins[0].name, "wrongabi");
  EXPECT_FALSE(plugins[0].loaded);
  const std::string expected = "built for plugin ABI version " +
                               std::to_string(POLYINFER_PLUGIN_ABI_VERSION + 41) +
                               ", but polyinfer " + POLYINFER_VERSION + " expects ABI version " +
                               std::to_string(POLYINFER_PLUGIN_ABI_VERSION);
  EXPECT_NE(plugins[0].error.find(expected), std::string::npos) << plugins[0].error;
  try {
    registry.engine("wrongabi");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unavailable);
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

TEST(RegistryTest, UnknownEngineListsAvailableOnes) {
  try {
    Registry::global().engine("tensorflow");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown engine 'tensorflow'"), std::string::npos) << message;
    for (const std::string& engine : test::builtEngines())
      EXPECT_NE(message.find(engine), std::string::npos) << message;
  }
}

TEST(RegistryTest, FindsTheBuiltPlugins) {
  auto plugins = Registry::global().plugins();
  for (const std::string& engine : test::builtEngines()) {
    auto it = std::find_if(plugins.begin(), plugins.end(), [&](auto& p) { return p.name == engine; });
    ASSERT_NE(it, plugins.end()) << engine;
    EXPECT_TRUE(it->loaded) << it->error;
    EXPECT_EQ(it->description.name, engine);
    EXPECT_FALSE(it->description.version.empty());
  }
}

TEST(RegistryTest, EngineFromModelFormat) {
  EXPECT_EQ(Registry::engineForModel("a/model.onnx"), "onnxruntime");
  EXPECT_EQ(Registry::engineForModel("a/model.PT"), "torch");
  EXPECT_EQ(Registry::engineForModel("a/net.caffemodel"), "opencv");
  EXPECT_EQ(Registry::engineForModel("a/yolo.weights"), "opencv");
  EXPECT_EQ(Registry::engineForModel("a/frozen.pb"), "opencv");
  EXPECT_EQ(Registry::engineForModel(test::modelFile("mlp", "model.pt")), "torch");
  const fs::path renamed = fs::temp_directory_path() / ("polyinfer-noext-" + std::to_string(::getpid()));
  fs::copy_file(test::modelFile("mlp", "model.onnx"), renamed, fs::copy_options::overwrite_existing);
  EXPECT_EQ(Registry::engineForModel(renamed), "onnxruntime");
  std::ofstream(renamed, std::ios::trunc) << "hello";
  EXPECT_THROW(Registry::engineForModel(renamed), Error);
  fs::remove(renamed);
}
