// The --intra-op-threads and --inter-op-threads flags that predict and bench
// share: thread counts set through Criteria, the same way on every engine.
#include <string>

#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace polyinfer::cli {

namespace {

/// A CLI11 check for "an integer >= 0" with a short message.
CLI::Validator threadCount() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          const long long value = std::stoll(text, &used);
          if (used == text.size() && value >= 0 && value <= 1'000'000) return {};
        } catch (const std::exception&) {
        }
        return "expected a thread count >= 0 (0: the computed default), got '" + text + "'";
      },
      "", "thread count");
}

}  // namespace

void addThreadCountOptions(CLI::App& cmd, int& intraOpThreads, int& interOpThreads) {
  cmd.add_option("--intra-op-threads", intraOpThreads,
                 "Threads per call inside the engine (intra-op), on every engine. 0 or absent: "
                 "the computed default, usable cores / workers (see `polyinfer info`). An engine "
                 "option for the same knob may be given too, but only with the same value.")
      ->check(threadCount())
      ->type_name("N");
  cmd.add_option("--inter-op-threads", interOpThreads,
                 "Threads that run independent operators of a call in parallel (inter-op), on "
                 "every engine (one without such a pool reports 1). 0 or absent: the computed "
                 "default, 1. An engine option for the same knob may be given too, but only with "
                 "the same value.")
      ->check(threadCount())
      ->type_name("N");
}

}  // namespace polyinfer::cli
