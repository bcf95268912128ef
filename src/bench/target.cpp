// The in-process target: a shared polyinfer::Model, one Predictor per worker.
#include "target.hpp"

#include "polyinfer/error.hpp"

namespace polyinfer::bench {
namespace {

std::string sourceName(ValueSource source) {
  // Not polyinfer::toString: that prints "option" for Explicit; the reports
  // use the precedence words "explicit > environment > default".
  switch (source) {
    case ValueSource::Explicit: return "explicit";
    case ValueSource::Environment: return "environment";
    case ValueSource::Default: return "default";
    case ValueSource::Engine: return "engine";
  }
  return "default";
}

class ModelWorker final : public TargetWorker {
 public:
  // The Tensors object is copied (cheap: the storage is shared), so that
  // workers share only the read-only bytes, not a container.
  ModelWorker(const Model& model, const Tensors& inputs)
      : predictor_(model.newPredictor()), inputs_(inputs), values_(!model.tensorsOnly()) {
    if (values_) valueInputs_ = Values(inputs);
  }

  void infer() override {
    // The outputs are made and released inside the timed call, as a caller's
    // would be.
    if (values_) {
      Values outputs = predictor_.predictValues(valueInputs_);
      (void)outputs;
      return;
    }
    Tensors outputs = predictor_.predict(inputs_);
    (void)outputs;
  }

  Tensors inferWithOutputs() override {
    if (!values_) return predictor_.predict(inputs_);
    // A model with outputs that are not tensors (a classifier's ZipMap): its
    // tensor outputs, which parity checks and saved outputs can take.
    Tensors tensors;
    for (const NamedValue& output : predictor_.predictValues(valueInputs_))
      if (output.value.isTensor()) tensors.add(output.name, output.value.tensor());
    return tensors;
  }

 private:
  Predictor predictor_;
  Tensors inputs_;
  /// The model has outputs that are not tensors: it runs through predictValues.
  bool values_;
  Values valueInputs_;
};

class ModelTarget final : public Target {
 public:
  ModelTarget(std::shared_ptr<const Model> model, Tensors inputs,
              std::vector<ConfigValue> extraConfig)
      : model_(std::move(model)), inputs_(std::move(inputs)), extra_(std::move(extraConfig)) {}

  TargetInfo info() const override {
    TargetInfo info;
    info.engineName = model_->engineName();
    info.engineVersion = model_->engineVersion();
    info.model = model_->modelPath().string();
    info.device = "cpu";
    for (const ConfigEntry& entry : model_->config()) {
      if (entry.key == "device") info.device = entry.value;
      info.config.push_back({entry.key, entry.value, sourceName(entry.source), entry.detail});
    }
    for (const ConfigValue& value : extra_) info.config.push_back(value);

    if (!inputs_.empty() && inputs_[0].tensor.rank() >= 2)
      info.batch = inputs_[0].tensor.shape()[0];
    const std::vector<TensorInfo>& declared = model_->inputs();
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      std::string name = inputs_[i].name;
      if (name.empty()) name = i < declared.size() ? declared[i].name : "input" + std::to_string(i);
      info.inputs.push_back(name + " " + inputs_[i].tensor.describe());
    }
    return info;
  }

  std::unique_ptr<TargetWorker> newWorker() override {
    return std::make_unique<ModelWorker>(*model_, inputs_);
  }

  std::string timedRegion() const override {
    if (!model_->tensorsOnly())
      return "Predictor::predictValues (the model has outputs that are not tensors) on inputs already in "
             "memory (made once, shared read-only by all workers): polyinfer's input checks, the engine's "
             "run and the output values' creation and release; not included: making inputs, pre- or "
             "post-processing";
    return "Predictor::predict on inputs already in memory (made once, shared read-only by all "
           "workers): polyinfer's input checks, the engine's run and the output tensors' creation "
           "and release; not included: making inputs, pre- or post-processing";
  }

 private:
  std::shared_ptr<const Model> model_;
  Tensors inputs_;
  std::vector<ConfigValue> extra_;
};

}  // namespace

std::unique_ptr<Target> makeModelTarget(std::shared_ptr<const Model> model, Tensors inputs,
                                        std::vector<ConfigValue> extraConfig) {
  if (!model)
    throw Error(ErrorCode::InvalidArgument, "makeModelTarget: expected a loaded model, got null");
  return std::make_unique<ModelTarget>(std::move(model), std::move(inputs), std::move(extraConfig));
}

}  // namespace polyinfer::bench
