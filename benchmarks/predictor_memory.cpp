// Memory per predictor: how the process's resident set grows as predictors
// are added to one loaded model. Engines that share one session between
// predictors (torch, onnxruntime) should add little per predictor; a
// non-re-entrant engine (opencv) builds a whole network per predictor.
//
// Steps, each followed by a reading of RSS (/proc/self/statm): start; model
// loaded; then N times: a predictor created and one call made on it (engines
// allocate their working memory on the first call). Every predictor is kept
// alive to the end. Run one engine per process, so that one engine's freed
// memory does not hide the next one's growth.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "test_layout_inputs.hpp"
#include "runner.hpp"

namespace polyinfer_bench {
namespace {

int run(int argc, char** argv) {
  std::string model, engine, input;
  std::vector<std::string> options;
  int predictors = 8;
  CLI::App app{
      "polyinfer_predictor_memory: RSS of the process as predictors are added to one model "
      "(each makes one call). Run one engine per process."};
  app.add_option("-u,--model", model, "model file or directory")->required();
  app.add_option("-e,--engine", engine, "engine (default: from the model format)");
  app.add_option("-i,--input", input, "directory in ONNX's test layout (input_K.pb)")->required();
  app.add_option("-O,--option", options, "engine option k=v (repeatable)");
  app.add_option("-n,--predictors", predictors, "predictors to add")->capture_default_str()
      ->check(CLI::Range(1, 256));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  const polyinfer::Tensors inputs = readTestLayoutInputs(input);
  const polyinfer::Options engineOptions = parseOptionArgs(options);

  const double base = polyinfer::bench::ResourceSampler::rssMiB();
  const auto loaded = polyinfer::Model::load(polyinfer::Criteria{
      .modelPath = model, .engine = engine, .options = engineOptions, .workers = predictors});
  const double afterLoad = polyinfer::bench::ResourceSampler::rssMiB();
  std::printf("%s %s, model %s (file %.1f MiB)\n", loaded->engineName().c_str(),
              loaded->engineVersion().c_str(), model.c_str(),
              std::filesystem::is_regular_file(model)
                  ? static_cast<double>(std::filesystem::file_size(model)) / (1 << 20)
                  : 0.0);
  std::printf("RSS MiB: start %.1f, after load %.1f (+%.1f)\n", base, afterLoad, afterLoad - base);

  std::vector<polyinfer::Predictor> kept;
  std::vector<double> after;
  for (int i = 0; i < predictors; ++i) {
    kept.push_back(loaded->newPredictor());
    kept.back().predict(inputs);
    after.push_back(polyinfer::bench::ResourceSampler::rssMiB());
    std::printf("  predictor %2d created + 1 call: %.1f MiB (+%.1f)\n", i + 1, after.back(),
                after.back() - (i == 0 ? afterLoad : after[i - 1]));
  }
  // The first predictor's first call also pays one-time costs (kernels,
  // thread pools): the per-predictor figure is the slope after it.
  const double perPredictor =
      predictors > 1 ? (after.back() - after.front()) / static_cast<double>(predictors - 1) : 0.0;
  std::printf("first predictor + first call: +%.1f MiB; each further predictor: +%.1f MiB\n",
              after.front() - afterLoad, perPredictor);
  return 0;
}

}  // namespace
}  // namespace polyinfer_bench

int main(int argc, char** argv) {
  return polyinfer_bench::runReportingErrors("polyinfer_predictor_memory", [&] { return polyinfer_bench::run(argc, argv); });
}
