// polyinfer: the command-line tool. Parses arguments, runs one subcommand, and
// maps every failure to one stderr line and an exit code (see exit_codes.hpp).
#include <exception>
#include <iostream>
#include <new>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/version.hpp"

namespace {

using namespace polyinfer::cli;

int run(int argc, char** argv) {
  CLI::App app{
      "polyinfer: fast multi-threaded inference over several engines behind one API; each "
      "engine is a plugin (`polyinfer info` lists them and the model formats they read).",
      "polyinfer"};
  app.set_version_flag("--version", std::string("polyinfer ") + polyinfer::kVersion,
                       "Print the version and exit.");
  app.require_subcommand(1);
  app.get_formatter()->column_width(34);
  app.footer(
      "Run `polyinfer <command> --help` for a command's flags.\n"
      "Exit status: 0 ok; 1 run failed or outputs mismatch; 2 bad usage or bad input.");

  InfoArgs infoArgs;
  PredictArgs predictArgs;
  BenchArgs benchArgs;
  ServeArgs serveArgs;
  CLI::App* info = addInfoCommand(app, infoArgs);
  CLI::App* predict = addPredictCommand(app, predictArgs);
  CLI::App* bench = addBenchCommand(app, benchArgs);
  CLI::App* serve = addServeCommand(app, serveArgs);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive as "errors" with exit code 0: print them normally.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    printError(polyinfer::ErrorCode::InvalidArgument, std::string(e.what()) + " (see `polyinfer --help`)");
    return kExitUsage;
  }

  if (info->parsed()) return runInfo(infoArgs);
  if (predict->parsed()) return runPredict(predictArgs);
  if (bench->parsed()) return runBench(benchArgs, argc, argv);
  if (serve->parsed()) return runServe(serveArgs);
  printError(polyinfer::ErrorCode::InvalidArgument, "no command given (see `polyinfer --help`)");
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const polyinfer::Error& e) {
    printError(e.code(), e.what());
    return exitCodeFor(e.code());
  } catch (const std::bad_alloc&) {
    printError(polyinfer::ErrorCode::ResourceExhausted, "out of memory");
    return kExitFailure;
  } catch (const std::exception& e) {
    printError(polyinfer::ErrorCode::Internal, std::string("unexpected failure: ") + e.what());
    return kExitFailure;
  }
}
