// The plugin kit (include/polyinfer/plugin_kit.hpp): precedence of option >
// environment > default, process-wide settings, devices, dtype tables,
// exception translation and manifest checking.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "polyinfer/plugin_kit.hpp"
#include "polyinfer/registry.hpp"
#include "test_support.hpp"

using namespace polyinfer;
namespace fs = std::filesystem;

namespace {

struct EnvVar {
  std::string name;
  EnvVar(std::string n, const std::string& value) : name(std::move(n)) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvVar() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST(PluginKit, ResolvesOptionThenEnvironmentThenDefault) {
  const Options none;
  plugin::ResolvedBool byDefault = plugin::resolveBool(none, "fast", {"KIT_TEST_FAST"}, true, "why");
  EXPECT_TRUE(byDefault.value);
  EXPECT_EQ(byDefault.entry.source, ValueSource::Default);
  EXPECT_EQ(byDefault.entry.detail, "why");
  {
    EnvVar env("KIT_TEST_FAST", "off");
    plugin::ResolvedBool fromEnv = plugin::resolveBool(none, "fast", {"KIT_TEST_FAST"}, true, "why");
    EXPECT_FALSE(fromEnv.value);
    EXPECT_EQ(fromEnv.entry.source, ValueSource::Environment);
    EXPECT_EQ(fromEnv.entry.detail, "from KIT_TEST_FAST");
    plugin::ResolvedBool explicitly =
        plugin::resolveBool(Options{{"fast", "yes"}}, "fast", {"KIT_TEST_FAST"}, false, "why");
    EXPECT_TRUE(explicitly.value);
    EXPECT_EQ(explicitly.entry.source, ValueSource::Explicit);
  }
  {
    EnvVar env("KIT_TEST_FAST", "maybe");
    test::expectError([&] { plugin::resolveBool(none, "fast", {"KIT_TEST_FAST"}, true, ""); },
                      ErrorCode::InvalidArgument,
                      {"environment variable KIT_TEST_FAST", "expected true or false", "'maybe'"});
  }
  {
    EnvVar env("KIT_TEST_N", "x");
    test::expectError([&] { plugin::resolveInt(none, "n", {"KIT_TEST_N"}, 1, "", 1, 8); },
                      ErrorCode::InvalidArgument, {"environment variable KIT_TEST_N", "[1, 8]", "'x'"});
  }
  plugin::ResolvedChoice mode = plugin::resolveChoice(Options{{"mode", "parallel"}}, "mode",
                                                      {"SEQUENTIAL", "PARALLEL"}, {}, "SEQUENTIAL", "");
  EXPECT_EQ(mode.value, "PARALLEL");
  test::expectError(
      [&] { plugin::resolveChoice(Options{{"mode", "x"}}, "mode", {"A", "B"}, {}, "A", ""); },
      ErrorCode::InvalidArgument, {"option 'mode'", "A|B", "'x'"});
}

TEST(PluginKit, ThreadOptionsAcceptDjlNames) {
  const OptionSpec intra = plugin::intraOpThreadsOption("num_threads", "d");
  EXPECT_EQ(intra.key, "num_threads");
  EXPECT_EQ(intra.aliases, std::vector<std::string>{"intraOpNumThreads"});
  const OptionSpec inter = plugin::interOpThreadsOption("interOpNumThreads", "d");
  EXPECT_EQ(inter.aliases, std::vector<std::string>{"num_interop_threads"});

  plugin::LoadRequest request;
  request.budget = ThreadBudget::fixed(8, "test");
  request.workers = 2;
  plugin::ResolvedInt computed = plugin::resolveIntraOpThreads(request, "num_threads", {});
  EXPECT_EQ(computed.value, 4);
  EXPECT_EQ(computed.entry.source, ValueSource::Default);
  EXPECT_EQ(plugin::resolveInterOpThreads(request, "inter", {}).value, 1);
  request.intraOpThreads = 3;
  EXPECT_EQ(plugin::resolveIntraOpThreads(request, "num_threads", {}).value, 3);
  EXPECT_EQ(plugin::noInterOpThreads(request, "X").source, ValueSource::Default);
  request.interOpThreads = 2;
  const ConfigEntry none = plugin::noInterOpThreads(request, "X");
  EXPECT_EQ(none.value, "1");
  EXPECT_EQ(none.source, ValueSource::Engine);
  EXPECT_NE(none.detail.find("X has no inter-op thread pool"), std::string::npos) << none.detail;
}

TEST(PluginKit, ProcessWideSettingAppliesOnceAndReportsConflicts) {
  plugin::ProcessWideSetting setting("Lib");
  int applied = 0;
  int64_t inEffect = -1;
  auto set = [&](int64_t v) {
    ++applied;
    inEffect = v;
  };
  auto current = [&] { return inEffect; };
  plugin::ResolvedInt first = setting.apply({4, {"threads", "4", ValueSource::Default, "cores 4"}}, set, current);
  EXPECT_EQ(first.value, 4);
  EXPECT_EQ(first.entry.detail, "cores 4; applied process-wide");
  plugin::ResolvedInt same = setting.apply({4, {"threads", "4", ValueSource::Default, ""}}, set, current);
  EXPECT_EQ(same.entry.detail, "process-wide, same value already in effect");
  plugin::ResolvedInt other = setting.apply({2, {"threads", "2", ValueSource::Explicit, ""}}, set, current);
  EXPECT_EQ(other.value, 4);
  EXPECT_EQ(other.entry.value, "4");
  EXPECT_EQ(other.entry.source, ValueSource::Engine);
  EXPECT_EQ(other.entry.detail, "requested 2 (option); process already uses 4 (set once per process)");
  EXPECT_EQ(applied, 1);

  plugin::ProcessWideSetting refused("Lib", true);
  plugin::ResolvedInt r = refused.apply(
      {1, {"flag", "true", ValueSource::Explicit, ""}},
      [](int64_t) { throw std::runtime_error("already in use"); }, [] { return int64_t{0}; });
  EXPECT_EQ(r.value, 0);
  EXPECT_EQ(r.entry.value, "false");
  EXPECT_EQ(r.entry.detail, "requested true; Lib refused (already in use); process uses false");

  plugin::ProcessWideSetting rounded("Lib");
  plugin::ResolvedInt rr = rounded.apply({3, {"t", "3", ValueSource::Default, ""}}, [](int64_t) {},
                                         [] { return int64_t{2}; });
  EXPECT_EQ(rr.entry.value, "2");
  EXPECT_EQ(rr.entry.source, ValueSource::Engine);
  EXPECT_NE(rr.entry.detail.find("requested 3, Lib uses 2"), std::string::npos) << rr.entry.detail;
}

TEST(PluginKit, ParsesDevices) {
  EXPECT_TRUE(plugin::parseDevice("e", "cpu", {"cpu"}).isCpu());
  EXPECT_TRUE(plugin::parseDevice("e", "", {"cpu"}).isCpu());
  const plugin::Device gpu = plugin::parseDevice("e", "gpu1", {"cpu", "gpu0", "gpu1"});
  EXPECT_EQ(gpu.kind, plugin::Device::Kind::Gpu);
  EXPECT_EQ(gpu.index, 1);
  test::expectError([] { plugin::parseDevice("e", "tpu", {"cpu"}); }, ErrorCode::InvalidArgument,
                    {"e: device 'tpu'", "expected cpu or gpuN", "available devices: cpu"});
  test::expectError([] { plugin::parseDevice("e", "gpu0", {"cpu"}, "no CUDA here"); },
                    ErrorCode::Unsupported, {"e: device 'gpu0': no CUDA here", "available devices: cpu"});
  test::expectError([] { plugin::parseDevice("e", "gpu2", {"cpu", "gpu0"}); }, ErrorCode::Unsupported,
                    {"device 'gpu2' does not exist", "cpu, gpu0"});
  EXPECT_EQ(plugin::parseDeviceName("e", "gpu7").index, 7);
}

TEST(PluginKit, DTypeTableMapsBothWays) {
  enum class Theirs { F, I, Q };
  const plugin::DTypeTable<Theirs> table{{DataType::Float32, Theirs::F}, {DataType::Int64, Theirs::I}};
  EXPECT_EQ(table.toEngine(DataType::Int64), Theirs::I);
  EXPECT_FALSE(table.toEngine(DataType::Bool).has_value());
  EXPECT_EQ(table.fromEngine(Theirs::F), DataType::Float32);
  EXPECT_EQ(table.fromEngine(Theirs::Q), DataType::Undefined);
  test::expectError([&] { table.require(DataType::Bool, "e", "input 'x'", "Lib 1.0"); },
                    ErrorCode::Unsupported, {"e: input 'x': dtype bool is not supported by Lib 1.0"});
}

namespace {
struct EngineException : std::exception {
  const char* what() const noexcept override { return "engine says no"; }
};
std::optional<plugin::TranslatedError> translate(ErrorCode code) {
  try {
    throw;
  } catch (const EngineException& e) {
    return plugin::TranslatedError{code == ErrorCode::InvalidArgument ? ErrorCode::Unsupported : code,
                                   std::string("translated: ") + e.what()};
  } catch (...) {
    return std::nullopt;
  }
}
template <typename Throw>
void rethrown(Throw fn, ErrorCode code, plugin::ExceptionTranslator t = &translate) {
  try {
    fn();
  } catch (...) {
    plugin::rethrowAsError("e", "loading 'm'", code, t);
  }
}
}  // namespace

TEST(PluginKit, TranslatesEngineExceptionsWithOneWording) {
  test::expectError([] { rethrown([] { throw EngineException(); }, ErrorCode::InvalidArgument); },
                    ErrorCode::Unsupported, {"e: loading 'm': translated: engine says no"});
  test::expectError([] { rethrown([] { throw std::runtime_error("plain"); }, ErrorCode::EngineFailure); },
                    ErrorCode::EngineFailure, {"e: loading 'm': plain"});
  test::expectError([] { rethrown([] { throw std::bad_alloc(); }, ErrorCode::EngineFailure); },
                    ErrorCode::ResourceExhausted, {"e: loading 'm': out of memory"});
  test::expectError([] { rethrown([] { throw 42; }, ErrorCode::InvalidArgument); }, ErrorCode::EngineFailure,
                    {"e: loading 'm': unknown exception"});
  test::expectError(
      [] { rethrown([] { throw Error(ErrorCode::NotFound, "as is"); }, ErrorCode::InvalidArgument); },
      ErrorCode::NotFound, {"as is"});
}

// A manifest that is wrong is reported per plugin, naming file and mistake.
TEST(PluginKit, ManifestErrorsNameTheFileAndTheMistake) {
  const fs::path dir = fs::temp_directory_path() / ("polyinfer-kit-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto plugin = [&](const std::string& name, const std::string& manifest) {
    std::ofstream(dir / ("libpolyinfer_engine_" + name + ".so")) << "not a library";
    if (!manifest.empty()) std::ofstream(dir / ("libpolyinfer_engine_" + name + ".json")) << manifest;
  };
  plugin("nomanifest", "");
  plugin("badjson", "{");
  plugin("typo", R"({"engine": "typo", "formats": [{"name": "T", "sufixes": [".t"]}]})");
  plugin("nomatch", R"({"engine": "nomatch", "formats": [{"name": "N"}]})");
  plugin("badmagic", R"({"engine": "badmagic", "formats": [{"name": "M", "magic": ["abc"]}]})");
  plugin("emptymagic", R"({"engine": "emptymagic", "formats": [{"name": "E", "magic": [""]}]})");
  plugin("longmagic", R"({"engine": "longmagic", "formats": [{"name": "L", "magic": [")" +
                          std::string(130, 'a') + R"("]}]})");
  plugin("wrongname", R"({"engine": "other", "formats": []})");
  plugin("good", R"({"engine": "good", "formats": [{"name": "G", "suffixes": [".g"]}]})");
  Registry registry({dir});
  std::map<std::string, PluginStatus> byName;
  for (PluginStatus& status : registry.plugins()) byName[status.name] = status;
  fs::remove_all(dir);
  auto expectErrorHas = [&](const std::string& name, const std::string& part) {
    EXPECT_NE(byName[name].error.find(part), std::string::npos) << name << ": " << byName[name].error;
  };
  expectErrorHas("nomanifest", "libpolyinfer_engine_nomanifest.json': cannot be opened");
  expectErrorHas("badjson", "is not valid JSON");
  expectErrorHas("typo", "unknown key \"sufixes\" in format \"T\"");
  expectErrorHas("nomatch", "nothing would match it");
  expectErrorHas("badmagic", "hex digits");
  expectErrorHas("emptymagic", "expected non-empty strings");
  expectErrorHas("longmagic", "got 65");
  expectErrorHas("wrongname", "declares engine 'other'");
  EXPECT_TRUE(byName["good"].error.empty()) << byName["good"].error;
  ASSERT_EQ(byName["good"].formats.size(), 1u);
  EXPECT_EQ(byName["good"].formats[0].describe(), "G (.g)");
}
