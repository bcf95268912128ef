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

/// What the workers run on, made once: tensors for Predictor::predict, or
/// values for Predictor::predictValues (a model with non-tensor inputs or
/// outputs). Copies are cheap (the storage is shared), so that workers share
/// only the read-only bytes, not a container.
struct TargetInputs {
  bool values = false;
  Tensors tensors;     ///< when !values
  Values valueInputs;  ///< when values
};

class ModelWorker final : public TargetWorker {
 public:
  ModelWorker(const Model& model, const TargetInputs& inputs)
      : predictor_(model.newPredictor()), inputs_(inputs) {}

  void infer() override {
    // The outputs are made and released inside the timed call, as a caller's
    // would be.
    if (inputs_.values) {
      Values outputs = predictor_.predictValues(inputs_.valueInputs);
      (void)outputs;
      return;
    }
    Tensors outputs = predictor_.predict(inputs_.tensors);
    (void)outputs;
  }

  Tensors inferWithOutputs() override {
    if (!inputs_.values) return predictor_.predict(inputs_.tensors);
    // A model with outputs that are not tensors (a classifier's ZipMap): its
    // tensor outputs, which parity checks and saved outputs can take.
    Tensors tensors;
    for (const NamedValue& output : predictor_.predictValues(inputs_.valueInputs))
      if (output.value.isTensor()) tensors.add(output.name, output.value.tensor());
    return tensors;
  }

 private:
  Predictor predictor_;
  TargetInputs inputs_;
};

class ModelTarget final : public Target {
 public:
  ModelTarget(std::shared_ptr<const Model> model, TargetInputs inputs,
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

    // The batch is the first input's dim 0, when that input is a tensor of rank >= 2.
    const std::vector<TensorInfo>& declared = model_->inputs();
    auto add = [&](std::size_t i, std::string name, const Value& value) {
      if (i == 0 && value.isTensor() && value.tensor().rank() >= 2) info.batch = value.tensor().shape()[0];
      if (name.empty()) name = i < declared.size() ? declared[i].name : "input" + std::to_string(i);
      info.inputs.push_back(name + " " + value.describe());
    };
    if (inputs_.values) {
      for (std::size_t i = 0; i < inputs_.valueInputs.size(); ++i)
        add(i, inputs_.valueInputs[i].name, inputs_.valueInputs[i].value);
    } else {
      for (std::size_t i = 0; i < inputs_.tensors.size(); ++i)
        add(i, inputs_.tensors[i].name, inputs_.tensors[i].tensor);
    }
    return info;
  }

  std::unique_ptr<TargetWorker> newWorker() override {
    return std::make_unique<ModelWorker>(*model_, inputs_);
  }

  std::string timedRegion() const override {
    if (inputs_.values)
      return "Predictor::predictValues (the model has inputs or outputs that are not tensors) on inputs "
             "already in memory (made once, shared read-only by all workers): polyinfer's input checks, "
             "the engine's run and the output values' creation and release; not included: making "
             "inputs, pre- or post-processing";
    return "Predictor::predict on inputs already in memory (made once, shared read-only by all "
           "workers): polyinfer's input checks, the engine's run and the output tensors' creation "
           "and release; not included: making inputs, pre- or post-processing";
  }

 private:
  std::shared_ptr<const Model> model_;
  TargetInputs inputs_;
  std::vector<ConfigValue> extra_;
};

std::unique_ptr<Target> makeTarget(std::shared_ptr<const Model> model, TargetInputs inputs,
                                   std::vector<ConfigValue> extraConfig) {
  if (!model)
    throw Error(ErrorCode::InvalidArgument, "makeModelTarget: expected a loaded model, got null");
  return std::make_unique<ModelTarget>(std::move(model), std::move(inputs), std::move(extraConfig));
}

}  // namespace

std::unique_ptr<Target> makeModelTarget(std::shared_ptr<const Model> model, Tensors inputs,
                                        std::vector<ConfigValue> extraConfig) {
  TargetInputs targetInputs;
  targetInputs.values = model && !model->tensorsOnly();
  if (targetInputs.values) targetInputs.valueInputs = Values(inputs);
  else targetInputs.tensors = std::move(inputs);
  return makeTarget(std::move(model), std::move(targetInputs), std::move(extraConfig));
}

std::unique_ptr<Target> makeModelTarget(std::shared_ptr<const Model> model, Values inputs,
                                        std::vector<ConfigValue> extraConfig) {
  TargetInputs targetInputs;
  targetInputs.values = true;
  targetInputs.valueInputs = std::move(inputs);
  return makeTarget(std::move(model), std::move(targetInputs), std::move(extraConfig));
}

}  // namespace polyinfer::bench
