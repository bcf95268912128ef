#include "tf_settings.hpp"

#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"
#include "saved_model_schema.pb.h"
#include "tf_api.hpp"
#include "tf_common.hpp"
#include "tf_saved_model.hpp"

namespace polyinfer::tf {

namespace {

constexpr const char* kDefaultTags = "serve";
constexpr const char* kDefaultSignature = "serving_default";
/// tensorflow.RewriterConfig.Toggle.ON.
constexpr int kToggleOn = 1;

/// TensorFlow's CPU devices share one intra-op pool, created with the first
/// session in the process and sized by that session's configuration.
plugin::ProcessWideSetting& intraOpSetting() {
  static plugin::ProcessWideSetting setting("TensorFlow");
  return setting;
}

}  // namespace

std::vector<OptionSpec> optionSpecs() {
  return {
      {keys::kTags, {"tags"},
       "the MetaGraph's tag set, comma-separated; default " + std::string(kDefaultTags)},
      {keys::kSignatureDefKey, {"signature", "signatureDefKey"},
       "the signature whose inputs and outputs the model has; default " +
           std::string(kDefaultSignature)},
      plugin::intraOpThreadsOption(
          keys::kIntraOpNumThreads,
          "threads one op may use (ConfigProto.intra_op_parallelism_threads; TensorFlow's CPU "
          "pool is process-wide, sized by the first model loaded): integer >= 1; default "
          "Criteria::intraOpThreads, else env " + std::string(kIntraOpEnv) +
              ", OMP_NUM_THREADS, POLYINFER_INTRA_OP_THREADS, else max(1, usable cores / workers)"),
      plugin::interOpThreadsOption(
          keys::kInterOpNumThreads,
          "threads running independent ops of one call (ConfigProto.inter_op_parallelism_threads, "
          "a pool per model): integer >= 1, 1 = ops run in the calling thread; default "
          "Criteria::interOpThreads, else env " + std::string(kInterOpEnv) +
              ", POLYINFER_INTER_OP_THREADS, else 1"),
      {keys::kPrecision, {},
       "fp32 (default) or bf16: TensorFlow's oneDNN auto-mixed-precision rewrite "
       "(auto_mixed_precision_onednn_bfloat16) runs eligible ops in bfloat16; inputs and outputs "
       "keep their types; needs oneDNN (" + std::string(kOneDnnEnv) + " not 0)"},
  };
}

SessionSettings resolveSettings(const plugin::LoadRequest& request) {
  const Options& options = request.options;
  SessionSettings settings;

  const std::optional<std::string> tagsText = options.getString(keys::kTags);
  settings.tags = parseTags(tagsText.value_or(kDefaultTags));
  if (settings.tags.empty())
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": option Tags: expected one or more comma-separated "
                                           "tags (e.g. serve), got '" + tagsText.value_or("") + "'");
  settings.signatureKey = options.getString(keys::kSignatureDefKey).value_or(kDefaultSignature);
  if (settings.signatureKey.empty())
    throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) +
                                                ": option SignatureDefKey: expected a signature "
                                                "key (e.g. serving_default), got an empty value");

  plugin::ResolvedInt intraOp = plugin::resolveIntraOpThreads(
      request, keys::kIntraOpNumThreads,
      {kIntraOpEnv, "OMP_NUM_THREADS", plugin::kIntraOpThreadsEnv});
  const int64_t requestedIntraOp = intraOp.value;
  intraOp = intraOpSetting().apply(
      std::move(intraOp), [](int64_t) {},
      [requestedIntraOp] { return requestedIntraOp; });
  plugin::ResolvedInt interOp = plugin::resolveInterOpThreads(
      request, keys::kInterOpNumThreads, {kInterOpEnv, plugin::kInterOpThreadsEnv});
  interOp.entry.detail += interOp.value == 1
                              ? "; ops run in the calling thread (inter_op_parallelism_threads=-1)"
                              : "; a pool of this model's own (use_per_session_threads)";
  settings.intraOpThreads = static_cast<int>(intraOp.value);
  settings.interOpThreads = static_cast<int>(interOp.value);

  const plugin::ResolvedBool oneDnn = plugin::resolveBool(
      Options(), "oneDNN", {kOneDnnEnv}, true,
      "TensorFlow's default on x86-64 Linux; env " + std::string(kOneDnnEnv) +
          "=0 turns it off (read once per process by TensorFlow)");

  const std::optional<std::string> precision =
      options.getChoice(keys::kPrecision, plugin::precisionNames());
  ConfigEntry precisionEntry{keys::kPrecision, "fp32",
                             precision ? ValueSource::Explicit : ValueSource::Default,
                             "the types stored in the model"};
  if (precision == "fp16")
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) +
                    ": precision=fp16 is not supported on the CPU (supported: fp32, bf16): "
                    "TensorFlow's float16 mixed precision rewrite is for GPUs");
  if (precision == "bf16") {
    if (!oneDnn.value)
      throw Error(ErrorCode::Unsupported,
                  std::string(kEngineName) + ": precision=bf16 needs TensorFlow's oneDNN "
                                             "rewrites, which " + kOneDnnEnv + "=0 turns off");
    settings.bf16 = true;
    precisionEntry.value = "bf16";
    precisionEntry.detail =
        "oneDNN auto mixed precision: eligible ops run in bfloat16, inputs and outputs keep "
        "their types";
  }

  std::vector<ConfigEntry>& entries = settings.entries;
  entries.push_back(std::move(intraOp.entry));
  entries.push_back(std::move(interOp.entry));
  entries.push_back(oneDnn.entry);
  entries.back().value = oneDnn.value ? "on" : "off";
  entries.push_back(std::move(precisionEntry));
  entries.push_back({keys::kTags, plugin::join(settings.tags, ","),
                     tagsText ? ValueSource::Explicit : ValueSource::Default, "MetaGraph tag set"});
  entries.push_back({keys::kSignatureDefKey, settings.signatureKey,
                     options.has(keys::kSignatureDefKey) ? ValueSource::Explicit
                                                         : ValueSource::Default,
                     "signature run by predict"});
  return settings;
}

std::string SessionSettings::configProto() const {
  tfschema::ConfigProto config;
  config.set_intra_op_parallelism_threads(intraOpThreads);
  // Negative: every op runs in the thread that called TF_SessionRun, which is
  // what a worker that already runs calls in parallel wants.
  config.set_inter_op_parallelism_threads(interOpThreads == 1 ? -1 : interOpThreads);
  if (interOpThreads > 1) config.set_use_per_session_threads(true);
  if (bf16)
    config.mutable_graph_options()->mutable_rewrite_options()->set_auto_mixed_precision_onednn_bfloat16(
        kToggleOn);
  return config.SerializeAsString();
}

}  // namespace polyinfer::tf
