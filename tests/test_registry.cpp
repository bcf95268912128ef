// Plugin discovery, ABI check, lazy start, and engine choice from the formats
// the plugins declare (the fake plugins in tests/fake_plugins claim formats
// the core has never heard of: a directory, a two-file group, content magic,
// and extensions two engines claim).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "polyinfer/plugin.hpp"
#include "test_support.hpp"

using namespace polyinfer;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed at scope end.
struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("polyinfer-registry-" + std::to_string(::getpid()) + "-" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary | std::ios::trunc) << text;
    return path / name;
  }
};

std::string configValue(const Model& model, const std::string& key) {
  const ConfigEntry* entry = test::configEntry(model, key);
  return entry ? entry->value : "<no " + key + ">";
}

bool envSet(const char* name) { return std::getenv(name) != nullptr; }

Registry& fakeRegistry() {
  static Registry registry({POLYINFER_FAKE_FORMATS_DIR});
  return registry;
}

std::shared_ptr<Model> loadFake(const fs::path& path, const std::string& engine = {}) {
  return Model::load(Criteria{.modelPath = path, .engine = engine}, fakeRegistry());
}

float runY(Predictor& predictor, float x = 1.0f) {
  const Tensors out = predictor.predict(Tensors{Tensor::fromVector<float>({1}, {x})});
  return out[0].tensor.toVector<float>()[0];
}

int64_t instanceOf(Predictor& predictor) {
  const Tensors out = predictor.predict(Tensors{Tensor::fromVector<float>({1}, {1.0f})});
  return out[1].tensor.toVector<int64_t>()[0];
}

}  // namespace

TEST(RegistryTest, RefusesPluginBuiltForAnotherAbiVersion) {
  Registry registry({POLYINFER_FAKE_PLUGIN_DIR});
  auto plugins = registry.plugins();
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins[0].name, "wrongabi");
  EXPECT_FALSE(plugins[0].loaded);
  EXPECT_TRUE(plugins[0].error.empty()) << "scanning reads the manifest only: " << plugins[0].error;
  const std::string expected = "built for plugin ABI version " +
                               std::to_string(POLYINFER_PLUGIN_ABI_VERSION + 41) +
                               ", but polyinfer " + POLYINFER_VERSION + " expects ABI version " +
                               std::to_string(POLYINFER_PLUGIN_ABI_VERSION);
  try {
    registry.describe("wrongabi");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unavailable);
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  plugins = registry.plugins();
  EXPECT_FALSE(plugins[0].loaded);
  EXPECT_NE(plugins[0].error.find(expected), std::string::npos) << plugins[0].error;
}

TEST(RegistryTest, UnknownEngineListsAvailableOnes) {
  try {
    Registry::global().describe("nosuchengine");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown engine 'nosuchengine'"), std::string::npos) << message;
    for (const std::string& engine : test::builtEngines())
      EXPECT_NE(message.find(engine), std::string::npos) << message;
  }
}

TEST(RegistryTest, FindsTheBuiltPlugins) {
  auto plugins = Registry::global().plugins();
  for (const std::string& engine : test::builtEngines()) {
    auto it = std::find_if(plugins.begin(), plugins.end(), [&](auto& p) { return p.name == engine; });
    ASSERT_NE(it, plugins.end()) << engine;
    EXPECT_FALSE(it->formats.empty()) << engine << ": its manifest declares its formats";
    const EngineDescription description = Registry::global().describe(engine);
    EXPECT_EQ(description.name, engine);
    EXPECT_FALSE(description.version.empty());
    EXPECT_EQ(description.formats.size(), it->formats.size());
  }
}

// The built engines' manifests: the core has no table of its own.
TEST(RegistryTest, EngineFromModelFormat) {
  Registry& registry = Registry::global();
  TempDir dir;
  auto engineOf = [&](const std::string& name, const std::string& text = "x") {
    return registry.resolve(dir.write(name, text)).engine;
  };
  const std::vector<std::string> engines = test::builtEngines();
  const std::set<std::string> built(engines.begin(), engines.end());
  if (built.contains("onnxruntime")) {
    EXPECT_EQ(engineOf("model.onnx"), "onnxruntime");
    const ModelResolution onnx = registry.resolve(dir.path / "model.onnx");
    EXPECT_EQ(onnx.location.format, "ONNX");
    if (built.contains("opencv")) {
      // Both claim .onnx; onnxruntime's format has the higher priority, and
      // the resolution says who else claimed it.
      ASSERT_EQ(onnx.alsoClaimedBy.size(), 1u);
      EXPECT_EQ(onnx.alsoClaimedBy[0], "opencv (ONNX)");
      EXPECT_EQ(registry.resolve(dir.path / "model.onnx", "opencv").engine, "opencv");
    }
    fs::copy_file(test::modelFile("mlp", "model.onnx"), dir.path / "noext");
    EXPECT_EQ(registry.resolve(dir.path / "noext").engine, "onnxruntime") << "by content";
  }
  if (built.contains("torch")) {
    EXPECT_EQ(engineOf("model.PT"), "torch");
    EXPECT_EQ(registry.resolve(test::modelFile("mlp", "model.pt")).engine, "torch");
  }
  if (built.contains("opencv")) {
    EXPECT_EQ(engineOf("net.caffemodel"), "opencv");
    EXPECT_EQ(engineOf("yolo.weights"), "opencv");
    EXPECT_EQ(engineOf("frozen.pb"), "opencv");
    // A companion file stands for its model.
    dir.write("yolo.cfg", "[net]");
    const ModelResolution fromCfg = registry.resolve(dir.path / "yolo.cfg");
    EXPECT_EQ(fromCfg.location.path, dir.path / "yolo.weights");
    EXPECT_EQ(fromCfg.location.companions.at("config"), dir.path / "yolo.cfg");
  }
  dir.write("hello", "hello");
  test::expectError([&] { registry.resolve(dir.path / "hello"); }, ErrorCode::InvalidArgument,
                    {"cannot tell the format", "hello", "name the engine"});
  test::expectError([&] { registry.resolve(dir.path / "missing.onnx"); }, ErrorCode::NotFound,
                    {"not found"});
}

// Scanning and resolving read manifests only: no plugin library is opened,
// no engine started, until a model is loaded with it.
TEST(RegistryTest, StartsAnEngineOnlyWhenItIsUsed) {
  if (envSet("POLYINFER_FAKE_FAKEFMT_OPENED"))
    GTEST_SKIP() << "an earlier test in this process used the fake plugins; ctest runs each test "
                    "in a process of its own";
  TempDir dir;
  dir.write("fake_model.marker", "3");
  Registry registry({POLYINFER_FAKE_FORMATS_DIR});
  const std::vector<PluginStatus> plugins = registry.plugins();
  ASSERT_EQ(plugins.size(), 2u);
  for (const PluginStatus& plugin : plugins) {
    EXPECT_FALSE(plugin.loaded) << plugin.name;
    EXPECT_TRUE(plugin.error.empty()) << plugin.error;
    EXPECT_FALSE(plugin.formats.empty()) << plugin.name;
  }
  EXPECT_EQ(registry.resolve(dir.path).engine, "fakefmt");
  EXPECT_FALSE(envSet("POLYINFER_FAKE_FAKEFMT_OPENED")) << "scan opened the plugin library";
  EXPECT_FALSE(envSet("POLYINFER_FAKE_FAKEFMT_STARTED"));
  EXPECT_FALSE(envSet("POLYINFER_FAKE_FAKEDUP_OPENED"));

  auto model = Model::load(Criteria{.modelPath = dir.path}, registry);
  EXPECT_TRUE(envSet("POLYINFER_FAKE_FAKEFMT_OPENED"));
  EXPECT_TRUE(envSet("POLYINFER_FAKE_FAKEFMT_STARTED"));
  EXPECT_FALSE(envSet("POLYINFER_FAKE_FAKEDUP_OPENED")) << "only the engine used is opened";
  for (const PluginStatus& plugin : registry.plugins())
    EXPECT_EQ(plugin.loaded, plugin.name == "fakefmt") << plugin.name;
}

TEST(RegistryTest, AFakePluginClaimsADirectoryFormat) {
  TempDir dir;
  dir.write("fake_model.marker", "3");
  dir.write("other.txt", "not a model");
  auto model = loadFake(dir.path);
  EXPECT_EQ(model->engineName(), "fakefmt");
  EXPECT_EQ(model->location().path, dir.path);
  EXPECT_TRUE(model->location().isDirectory());
  EXPECT_EQ(configValue(*model, "format"), "FakeDir");
  EXPECT_NE(test::configEntry(*model, "engine")->detail.find("marker file"), std::string::npos)
      << test::configEntry(*model, "engine")->detail;
  Predictor predictor = model->newPredictor();
  EXPECT_FLOAT_EQ(runY(predictor, 2.0f), 6.0f);
  // The marker file itself names its directory.
  EXPECT_EQ(loadFake(dir.path / "fake_model.marker")->location().path, dir.path);
}

TEST(RegistryTest, AFakePluginClaimsATwoFileFormat) {
  TempDir dir;
  dir.write("net-graph.fake", "5");
  dir.write("net-0001.fakeparams", "p1");
  dir.write("net-0002.fakeparams", "p2");
  dir.write("other-0009.fakeparams", "not this model's");
  for (const fs::path& given : {dir.path / "net-graph.fake", dir.path / "net-0001.fakeparams", dir.path}) {
    SCOPED_TRACE(given.string());
    auto model = loadFake(given);
    EXPECT_EQ(model->engineName(), "fakefmt");
    EXPECT_EQ(model->location().path, dir.path / "net-graph.fake");
    EXPECT_EQ(configValue(*model, "format"), "FakeTwoFile");
    // The last companion in name order: the highest epoch.
    EXPECT_EQ(configValue(*model, "companion.params"), (dir.path / "net-0002.fakeparams").string());
    EXPECT_EQ(configValue(*model, "bytes.companions"), "1") << "companions read once, with the model";
    Predictor predictor = model->newPredictor();
    EXPECT_FLOAT_EQ(runY(predictor), 5.0f);
  }
  // Without its required companion the file is not that format, and says why.
  fs::remove(dir.path / "net-0001.fakeparams");
  fs::remove(dir.path / "net-0002.fakeparams");
  test::expectError([&] { loadFake(dir.path / "net-graph.fake"); }, ErrorCode::NotFound,
                    {"net-graph.fake", "FakeTwoFile", "fakefmt", "{stem}-*.fakeparams"});
}

TEST(RegistryTest, TwoPluginsClaimingOneExtension) {
  TempDir dir;
  // Equal priority: an error naming both engines.
  dir.write("m.dup", "2");
  test::expectError([&] { loadFake(dir.path / "m.dup"); }, ErrorCode::InvalidArgument,
                    {"m.dup", "fakefmt (format FakeDup)", "fakedup (format DupDup)", "name the engine"});
  EXPECT_EQ(loadFake(dir.path / "m.dup", "fakedup")->engineName(), "fakedup");
  EXPECT_EQ(loadFake(dir.path / "m.dup", "fakefmt")->engineName(), "fakefmt");
  // Different priorities: the higher wins, and the loser is named.
  dir.write("m.prio", "2");
  const ModelResolution resolved = fakeRegistry().resolve(dir.path / "m.prio");
  EXPECT_EQ(resolved.engine, "fakefmt");
  EXPECT_EQ(resolved.alsoClaimedBy, std::vector<std::string>{"fakedup (DupPriority)"});
  auto model = loadFake(dir.path / "m.prio");
  EXPECT_NE(test::configEntry(*model, "engine")->detail.find("fakedup (DupPriority)"), std::string::npos)
      << test::configEntry(*model, "engine")->detail;
  // A directory holding two models is refused, listing them.
  test::expectError([&] { loadFake(dir.path); }, ErrorCode::InvalidArgument,
                    {"several model files", "m.dup", "m.prio"});
}

TEST(RegistryTest, ContentMagicAndNamedEngine) {
  TempDir dir;
  dir.write("blob", "FAKE");
  EXPECT_EQ(fakeRegistry().resolve(dir.path / "blob").engine, "fakefmt");
  // A named engine gets a file none of its formats matches, as it is.
  dir.write("plain.txt", "4");
  const ModelResolution resolved = fakeRegistry().resolve(dir.path / "plain.txt", "fakedup");
  EXPECT_EQ(resolved.engine, "fakedup");
  EXPECT_EQ(resolved.location.format, "");
  Predictor predictor = loadFake(dir.path / "plain.txt", "fakedup")->newPredictor();
  EXPECT_FLOAT_EQ(runY(predictor), 4.0f);
}

// A non-re-entrant engine: the core reads the files once, builds one native
// instance at load (handed to the first predictor) and one more per further
// predictor, all from those bytes.
TEST(RegistryTest, NonReentrantEngineGetsAnInstancePerPredictor) {
  TempDir dir;
  dir.write("m-graph.fake", "7");
  dir.write("m-0000.fakeparams", "p");
  auto model = loadFake(dir.path / "m-graph.fake");
  // The files are gone: instances come from the bytes read at load.
  fs::remove(dir.path / "m-graph.fake");
  fs::remove(dir.path / "m-0000.fakeparams");
  std::vector<Predictor> predictors;
  for (int i = 0; i < 3; ++i) predictors.push_back(model->newPredictor());
  std::set<int64_t> instances;
  for (Predictor& predictor : predictors) {
    EXPECT_FLOAT_EQ(runY(predictor), 7.0f);
    instances.insert(instanceOf(predictor));
  }
  EXPECT_EQ(instances.size(), 3u) << "each predictor owns its own instance";
  EXPECT_EQ(*instances.rbegin() - *instances.begin(), 2) << "no instance built and thrown away";
  // The re-entrant fake shares one model: no instances.
  dir.write("r.dup", "2");
  Predictor shared = loadFake(dir.path / "r.dup", "fakedup")->newPredictor();
  EXPECT_EQ(instanceOf(shared), 0);
}

// Criteria's thread fields reach every engine the same way.
TEST(RegistryTest, CriteriaThreadsReachThePlugin) {
  TempDir dir;
  dir.write("t.dup", "1");
  Criteria criteria{.modelPath = dir.path / "t.dup", .engine = "fakedup"};
  criteria.intraOpThreads = 3;
  criteria.interOpThreads = 2;
  auto model = Model::load(criteria, fakeRegistry());
  const ConfigEntry* intra = test::configEntry(*model, "num_threads");
  ASSERT_NE(intra, nullptr);
  EXPECT_EQ(intra->value, "3");
  EXPECT_EQ(intra->source, ValueSource::Explicit);
  EXPECT_NE(intra->detail.find("Criteria::intraOpThreads"), std::string::npos) << intra->detail;
  const ConfigEntry* inter = test::configEntry(*model, "interOpThreads");
  ASSERT_NE(inter, nullptr);
  EXPECT_EQ(inter->value, "1");
  EXPECT_EQ(inter->source, ValueSource::Engine);
  EXPECT_NE(inter->detail.find("requested 2"), std::string::npos) << inter->detail;
  // The same knob given as an option too: only with the same value.
  criteria.options = Options{{"intraOpNumThreads", "3"}};
  EXPECT_EQ(configValue(*Model::load(criteria, fakeRegistry()), "num_threads"), "3");
  criteria.options = Options{{"num_threads", "2"}};
  test::expectError([&] { Model::load(criteria, fakeRegistry()); }, ErrorCode::InvalidArgument,
                    {"Criteria::intraOpThreads = 3", "num_threads = 2"});
  criteria.options = {};
  criteria.intraOpThreads = -1;
  test::expectError([&] { Model::load(criteria, fakeRegistry()); }, ErrorCode::InvalidArgument,
                    {"intraOpThreads", "-1"});
}
