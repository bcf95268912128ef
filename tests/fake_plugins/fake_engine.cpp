// A fake engine plugin for the registry's tests, built twice (fakefmt and
// fakedup, see CMakeLists.txt) from this file. It declares its formats in a
// manifest only (fakefmt.json, fakedup.json) and is found without any core
// edit. Its "model" is a text file holding a number: output y = x * number,
// plus output "instance", the ordinal of the native instance that ran the
// call (fakefmt is not re-entrant: one instance per predictor, built by the
// core's per-predictor path from bytes read once).
//
// Opening the library sets POLYINFER_FAKE_<NAME>_OPENED=1 and creating the
// engine sets POLYINFER_FAKE_<NAME>_STARTED=1, so tests can tell that
// scanning started neither.
#include <atomic>
#include <cstdlib>
#include <string>

#include "polyinfer/plugin_kit.hpp"

#ifndef FAKE_ENGINE_NAME
#error "FAKE_ENGINE_NAME must be defined"
#endif

namespace {

using namespace polyinfer;

const std::string kName = FAKE_ENGINE_NAME;

std::string marker(const char* what) {
  std::string upper = kName;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "POLYINFER_FAKE_" + upper + "_" + what;
}

__attribute__((constructor)) void onOpen() { ::setenv(marker("OPENED").c_str(), "1", 1); }

std::atomic<int64_t> instancesBuilt{0};

float parseScale(const std::string& text) {
  try {
    return std::stof(std::string(plugin::trim(text)));
  } catch (const std::exception&) {
    throw Error(ErrorCode::InvalidArgument, kName + ": model text '" + text + "' is not a number");
  }
}

struct FakeInstance final : plugin::NativeInstance {
  float scale = 1;
  int64_t ordinal = 0;
};

class FakePredictor final : public plugin::EnginePredictor {
 public:
  FakePredictor(float scale, int64_t instance) : scale_(scale), instance_(instance) {}
  Tensors predict(const Tensors& inputs) override {
    std::vector<float> y = inputs[0].tensor.toVector<float>();
    for (float& v : y) v *= scale_;
    Tensors out;
    out.add("y", Tensor::fromVector<float>(inputs[0].tensor.shape(), y));
    out.add("instance", Tensor::fromVector<int64_t>({}, {instance_}));
    return out;
  }

 private:
  float scale_;
  int64_t instance_;
};

class FakeModel final : public plugin::EngineModel {
 public:
  FakeModel(const plugin::LoadRequest& request, std::vector<ConfigEntry> config)
      : bytes_(request.bytes), config_(std::move(config)) {
    if (!bytes_) {
      // Re-entrant: read the model now (a directory model: its marker file).
      std::filesystem::path file = request.location.path;
      if (request.location.isDirectory()) file /= "fake_model.marker";
      const std::vector<std::uint8_t> text = plugin::readFileBytes(kName, file, "model file");
      scale_ = parseScale(std::string(text.begin(), text.end()));
    }
  }
  std::vector<TensorInfo> inputs() const override {
    TensorInfo x;
    x.name = "x";
    x.dtype = DataType::Float32;
    return {x};
  }
  std::vector<TensorInfo> outputs() const override {
    TensorInfo y, instance;
    y.name = "y";
    instance.name = "instance";
    return {y, instance};
  }
  std::vector<ConfigEntry> config() const override { return config_; }

  std::unique_ptr<plugin::EnginePredictor> createPredictor() const override {
    return std::make_unique<FakePredictor>(scale_, 0);
  }
  std::unique_ptr<plugin::NativeInstance> createInstance() const override {
    auto instance = std::make_unique<FakeInstance>();
    instance->scale = parseScale(std::string(bytes_->main.begin(), bytes_->main.end()));
    instance->ordinal = ++instancesBuilt;
    return instance;
  }
  std::unique_ptr<plugin::EnginePredictor> createPredictor(
      std::unique_ptr<plugin::NativeInstance> instance) const override {
    const auto& fake = dynamic_cast<const FakeInstance&>(*instance);
    return std::make_unique<FakePredictor>(fake.scale, fake.ordinal);
  }

 private:
  std::shared_ptr<const plugin::ModelBytes> bytes_;
  std::vector<ConfigEntry> config_;
  float scale_ = 1;
};

class FakeEngine final : public plugin::Engine {
 public:
  FakeEngine() { ::setenv(marker("STARTED").c_str(), "1", 1); }

  EngineDescription describe() const override {
    EngineDescription d;
    d.name = kName;
    d.version = "1.0";
    d.devices = {"cpu"};
    d.reentrant = FAKE_ENGINE_REENTRANT;
    d.options = {plugin::intraOpThreadsOption("num_threads", "threads (fake)")};
    return d;
  }

  std::shared_ptr<plugin::EngineModel> load(const plugin::LoadRequest& request) override {
    plugin::parseDevice(kName, request.device, {"cpu"});
    std::vector<ConfigEntry> config{
        {"location", request.location.path.string(), ValueSource::Default, ""},
        {"format", request.location.format, ValueSource::Default, ""},
        plugin::resolveIntraOpThreads(request, "num_threads", {}).entry,
        plugin::noInterOpThreads(request, "the fake engine"),
    };
    for (const auto& [role, file] : request.location.companions)
      config.push_back({"companion." + role, file.string(), ValueSource::Default, ""});
    if (request.bytes)
      config.push_back({"bytes.companions", std::to_string(request.bytes->companions.size()),
                        ValueSource::Default, ""});
    return std::make_shared<FakeModel>(request, std::move(config));
  }
};

}  // namespace

POLYINFER_DEFINE_PLUGIN(FAKE_ENGINE_NAME, [] { return std::make_unique<FakeEngine>(); })
