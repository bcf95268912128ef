// Reports of a BenchReport: a text table for people, and JSON, CSV and a
// self-contained HTML page for machines and for reading later. Only result.hpp
// types are read here; nothing is measured.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "result.hpp"

namespace polyinfer::bench {

/// The text report on stdout: machine and command; per run the effective
/// configuration (with sources), throughput, latency percentiles, stability,
/// memory, CPU; for Compare a table with ratios against the first run and
/// output parity; for Sweep/Tune one row per point (and the winning flags).
void writeText(std::ostream& out, const BenchReport& report);

/// The JSON document (schema: docs/bench-json.md, "schema": "polyinfer-bench/1").
/// `withSamples` adds every latency sample to each run (large).
nlohmann::json toJson(const BenchReport& report, bool withSamples = false);
void writeJson(const std::filesystem::path& file, const BenchReport& report,
               bool withSamples = false);

/// Reads a document writeJson wrote back into a BenchReport (runs with their
/// samples when it was written withSamples). Lets `polyinfer bench` run each
/// configuration of a plan in a child process and report them together.
/// Error(InvalidArgument) naming the file for anything that is not such a
/// document.
BenchReport readJson(const std::filesystem::path& file);

/// CSV: a header line and one row per run (sweep point, engine).
void writeCsv(const std::filesystem::path& file, const BenchReport& report);

/// One HTML page, no network resources (inline CSS and SVG): the tables,
/// the latency distribution, throughput over time, and for sweeps/tunes the
/// throughput-vs-p99 curve.
void writeHtml(const std::filesystem::path& file, const BenchReport& report);

}  // namespace polyinfer::bench
