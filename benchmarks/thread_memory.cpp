// Memory when inference comes from short-lived threads instead of a fixed
// pool. Some engines keep state per thread that runs inference (MXNet: its
// oneDNN primitive caches and engine state are thread-local), so a process
// that predicts from ever new threads may grow where a fixed pool stays flat.
//
// One pattern per process (so that one pattern's freed memory does not hide
// the other's growth): the model is loaded, then `calls` predictions are made
// either by `--fixed` worker threads that live through the whole run (each
// with one predictor), or by `--short-lived` threads started one after the
// other (each creates its own predictor, makes calls / threads predictions,
// and ends, taking its predictor with it). RSS (/proc/self/statm) is printed
// after every tenth of the work, so growth shows as a slope, not one number.
#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "runner.hpp"
#include "test_layout_inputs.hpp"

namespace polyinfer_bench {
namespace {

double rss() { return polyinfer::bench::ResourceSampler::rssMiB(); }

int run(int argc, char** argv) {
  std::string model, engine, input, pattern;
  std::vector<std::string> options;
  int calls = 1000;
  int threads = 2;
  CLI::App app{
      "polyinfer_thread_memory: RSS of a process making N predictions from a fixed pool of "
      "threads or from short-lived threads (each with its own predictor). One pattern per run."};
  app.add_option("-u,--model", model, "model file or directory")->required();
  app.add_option("-e,--engine", engine, "engine (default: from the model format)");
  app.add_option("-i,--input", input, "directory in ONNX's test layout (input_K.pb)")->required();
  app.add_option("-O,--option", options, "engine option k=v (repeatable)");
  app.add_option("--pattern", pattern, "fixed: THREADS threads for the whole run; short-lived: "
                                       "THREADS threads one after the other, each with its own "
                                       "predictor; one-thread: THREADS predictors one after the "
                                       "other on one thread (tells per-thread from per-predictor "
                                       "growth)")
      ->required()
      ->check(CLI::IsMember({"fixed", "short-lived", "one-thread"}));
  app.add_option("-t,--threads", threads, "threads")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("-n,--calls", calls, "predictions in all")->capture_default_str()->check(CLI::Range(1, 10000000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (calls % threads != 0) throw polyinfer::Error(polyinfer::ErrorCode::InvalidArgument,
                                                   "--calls must be a multiple of --threads");
  const polyinfer::Tensors inputs = readTestLayoutInputs(input);
  const bool fixed = pattern == "fixed";
  const double base = rss();
  const auto loaded = polyinfer::Model::load(polyinfer::Criteria{
      .modelPath = model, .engine = engine, .options = parseOptionArgs(options),
      .workers = fixed ? threads : 1});
  const double afterLoad = rss();
  std::printf("%s %s, model %s: %d predictions, %d thread(s)/predictor(s), pattern %s\n", loaded->engineName().c_str(),
              loaded->engineVersion().c_str(), model.c_str(), calls, threads,
              pattern.c_str());
  std::printf("RSS MiB: start %.1f, after load %.1f\n", base, afterLoad);

  const int perThread = calls / threads;
  std::atomic<int> done{0};
  std::atomic<bool> failed{false};
  auto work = [&](polyinfer::Predictor& predictor, int n) {
    for (int k = 0; k < n && !failed; ++k) {
      predictor.predict(inputs);
      ++done;
    }
  };
  auto guarded = [&](auto&& body) {
    try {
      body();
    } catch (const std::exception& e) {
      if (!failed.exchange(true)) std::fprintf(stderr, "thread failed: %s\n", e.what());
    }
  };
  const Clock::time_point start = Clock::now();
  std::vector<double> readings;
  if (fixed) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        guarded([&] {
          polyinfer::Predictor predictor = loaded->newPredictor();
          work(predictor, perThread);
        });
      });
    for (int tenth = 1; tenth <= 10; ++tenth) {
      while (done < calls * tenth / 10 && !failed) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      readings.push_back(rss());
    }
    for (std::thread& thread : pool) thread.join();
  } else {
    for (int t = 0; t < threads && !failed; ++t) {
      auto body = [&] {
        guarded([&] {
          polyinfer::Predictor predictor = loaded->newPredictor();
          work(predictor, perThread);
        });
      };
      if (pattern == "one-thread") body();
      else std::thread(body).join();
      if ((t + 1) * 10 % threads == 0 || threads < 10) readings.push_back(rss());
    }
  }
  if (failed) return 1;
  std::printf("RSS MiB after each tenth of the predictions:");
  for (double reading : readings) std::printf(" %.1f", reading);
  std::printf("\nend: %.1f MiB (+%.1f over the model), growth from the first tenth to the end: "
              "%+.1f MiB; %.1f s\n",
              rss(), rss() - afterLoad, readings.back() - readings.front(), secondsSince(start));
  return 0;
}

}  // namespace
}  // namespace polyinfer_bench

int main(int argc, char** argv) {
  return polyinfer_bench::runReportingErrors("polyinfer_thread_memory",
                                             [&] { return polyinfer_bench::run(argc, argv); });
}
