// The fixture of the command-line tool's tests (test_cli.cpp, test_cli_bench.cpp):
// the tool run as a separate process (the binary built in this tree:
// POLYINFER_CLI_PATH, which tests/CMakeLists.txt sets for those tests), its
// exit code and output, and the engine-parameterised form that runs a test on
// every engine the registry finds, with the generated file each reads.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "polyinfer/polyinfer.hpp"
#include "test_support.hpp"

namespace polyinfer::clitest {

namespace fs = std::filesystem;

struct RunResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

inline std::string shellQuote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

inline std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A number as the tool prints it: 6 significant digits.
inline std::string sixDigits(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

/// The first engine the registry finds that reads generated model `model`,
/// with the file; nullopt when none does.
inline std::optional<std::pair<std::string, std::string>> firstEngineFor(const std::string& model) {
  for (const std::string& engine : test::builtEngines())
    if (const test::EngineModelFile file = test::modelFor(model, engine))
      return std::make_pair(engine, file.file.string());
  return std::nullopt;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef POLYINFER_CLI_PATH
    GTEST_SKIP() << "the polyinfer tool is not built (POLYINFER_BUILD_CLI=OFF)";
#else
    cli_ = POLYINFER_CLI_PATH;
#endif
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("polyinfer_test_cli_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  /// Runs the tool; `env` holds NAME=VALUE settings for its environment.
  RunResult run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    std::string command;
    if (!env.empty()) {
      command = "env";
      for (const std::string& setting : env) command.append(" ").append(shellQuote(setting));
      command += ' ';
    }
    command += shellQuote(cli_);
    // (append(), not " " + string: GCC 12 warns falsely about the latter.)
    for (const std::string& arg : args) command.append(" ").append(shellQuote(arg));
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    command.append(" >").append(shellQuote(out.string()));
    command.append(" 2>").append(shellQuote(err.string())).append(" </dev/null");
    const int status = std::system(command.c_str());
    RunResult r;
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  /// Exit code 2 or 1 with exactly one "polyinfer: error: <Code>: ..." line
  /// on stderr, whose code goes with the exit code (README, "Exit status"):
  /// 2 for InvalidArgument and NotFound, 1 for the other codes and Mismatch.
  static void expectOneErrorLine(const RunResult& r, int exitCode) {
    EXPECT_EQ(r.exitCode, exitCode) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
    EXPECT_THAT(r.err, ::testing::StartsWith("polyinfer: error: "));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    const std::string usage = "polyinfer: error: (InvalidArgument|NotFound): .*";
    const std::string failure =
        "polyinfer: error: (Unsupported|EngineFailure|ResourceExhausted|Unavailable|Internal|"
        "DeadlineExceeded|Cancelled|Mismatch): .*";
    EXPECT_THAT(r.err.substr(0, r.err.find('\n')),
                ::testing::MatchesRegex(exitCode == 2 ? usage : failure));
  }

  /// expectOneErrorLine, and the line names `code` ("Unsupported").
  static void expectErrorCode(const RunResult& r, int exitCode, const std::string& code) {
    expectOneErrorLine(r, exitCode);
    EXPECT_THAT(r.err, ::testing::StartsWith("polyinfer: error: " + code + ": ")) << r.err;
  }

  static std::string dataSet(const std::string& model) {
    return test::modelFile(model, "test_data_set_0").string();
  }

  std::string cli_;
  fs::path dir_;
};

/// The tool on one engine (the parameter), for every engine the registry finds.
class CliEngineTest : public CliTest, public ::testing::WithParamInterface<std::string> {};

/// The JSON `bench --json FILE` wrote (null when unreadable).
inline nlohmann::json readJsonFile(const fs::path& file) {
  return nlohmann::json::parse(slurp(file), nullptr, /*allow_exceptions=*/false);
}

}  // namespace polyinfer::clitest

// `var` (a std::string): the file of generated model `name` that the test's
// engine (GetParam()) reads; the test is skipped with the engine's reason
// when it reads none.
#define MODEL_OR_SKIP(var, name)                                                  \
  const ::polyinfer::test::EngineModelFile var##File =                            \
      ::polyinfer::test::modelFor(name, GetParam());                              \
  if (!var##File) GTEST_SKIP() << var##File.whyNone;                              \
  const std::string var = var##File.file.string()

// `engine` and `mlp`: the first engine that reads the mlp, and its file, for
// tests of the tool rather than of an engine.
#define FIRST_ENGINE_OR_SKIP()                                                    \
  const auto first = ::polyinfer::clitest::firstEngineFor("mlp");                 \
  if (!first) GTEST_SKIP() << "no engine plugin reads the mlp";                   \
  const std::string& engine = first->first;                                       \
  const std::string& mlp = first->second
