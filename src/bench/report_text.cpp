// The text report: for people at a terminal, at most 100 columns wide.
#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "report.hpp"
#include "report_util.hpp"

namespace polyinfer::bench {

namespace {

using detail::Fact;
using detail::Table;

constexpr std::size_t kWidth = 100;
constexpr std::size_t kIndent = 2;
constexpr std::size_t kLabelWidth = 13;
constexpr std::size_t kValueColumn = kIndent + kLabelWidth + 1;

/// Columns a string takes: UTF-8 code points ("±", "·" are one column each).
std::size_t displayWidth(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string padRight(const std::string& text, std::size_t width) {
  const std::size_t w = displayWidth(text);
  return w >= width ? text : text + std::string(width - w, ' ');
}

std::string padLeft(const std::string& text, std::size_t width) {
  const std::size_t w = displayWidth(text);
  return w >= width ? text : std::string(width - w, ' ') + text;
}

/// One line: a table cell or fact must not break the layout.
std::string flattened(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return text;
}

/// Greedy word wrap; a word longer than `width` (a path) gets a line of its own.
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t start = 0;
  const std::string flat = flattened(text);
  while (start <= flat.size()) {
    std::size_t end = flat.find(' ', start);
    if (end == std::string::npos) end = flat.size();
    const std::string word = flat.substr(start, end - start);
    if (!word.empty()) {
      if (!line.empty() && displayWidth(line) + 1 + displayWidth(word) > width) {
        lines.push_back(line);
        line.clear();
      }
      line += line.empty() ? word : " " + word;
    }
    start = end + 1;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

std::string rtrim(std::string text) {
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

/// The table as lines, columns two spaces apart, numbers right-aligned. When
/// it is wider than `maxWidth`, the last (text) column wraps.
std::vector<std::string> tableLines(const Table& table, std::size_t maxWidth) {
  const std::size_t columns = table.header.size();
  std::vector<std::size_t> widths(columns, 0);
  for (std::size_t c = 0; c < columns; ++c) widths[c] = displayWidth(table.header[c]);
  for (const auto& row : table.rows)
    for (std::size_t c = 0; c < columns && c < row.size(); ++c)
      widths[c] = std::max(widths[c], displayWidth(flattened(row[c])));
  std::size_t total = 0;
  for (std::size_t c = 0; c < columns; ++c) total += widths[c] + (c > 0 ? 2 : 0);
  const bool wrapLast = columns > 0 && total > maxWidth && !table.numeric[columns - 1] &&
                        total - widths[columns - 1] + 20 <= maxWidth;
  if (wrapLast) widths[columns - 1] = maxWidth - (total - widths[columns - 1]);

  const auto render = [&](const std::vector<std::string>& cells) {
    // Cells of the last column may span several lines.
    std::vector<std::string> last = wrapLast
                                        ? wrap(cells[columns - 1], widths[columns - 1])
                                        : std::vector<std::string>{flattened(cells[columns - 1])};
    std::vector<std::string> out;
    for (std::size_t l = 0; l < last.size(); ++l) {
      std::string line;
      for (std::size_t c = 0; c < columns; ++c) {
        if (c > 0) line += "  ";
        const std::string cell = c + 1 == columns ? last[l] : (l == 0 ? flattened(cells[c]) : "");
        line += table.numeric[c] ? padLeft(cell, widths[c]) : padRight(cell, widths[c]);
      }
      out.push_back(rtrim(line));
    }
    return out;
  };
  std::vector<std::string> lines = render(table.header);
  std::string rule;
  for (std::size_t c = 0; c < columns; ++c) {
    if (c > 0) rule += "  ";
    rule += std::string(widths[c], '-');
  }
  lines.push_back(rule);
  for (const auto& row : table.rows) {
    std::vector<std::string> cells = row;
    cells.resize(columns);
    for (std::string& line : render(cells)) lines.push_back(std::move(line));
  }
  return lines;
}

void writeFacts(std::ostream& out, const std::vector<Fact>& facts) {
  for (const Fact& fact : facts) {
    const std::vector<std::string> lines = wrap(fact.value, kWidth - kValueColumn);
    for (std::size_t i = 0; i < lines.size(); ++i)
      out << rtrim(std::string(kIndent, ' ') + padRight(i == 0 ? fact.label : "", kLabelWidth) +
                   " " + lines[i])
          << '\n';
  }
}

/// A table under a fact label ("latency ms", "config"), in the value column.
void writeLabelledTable(std::ostream& out, const std::string& label, const Table& table) {
  const std::vector<std::string> lines = tableLines(table, kWidth - kValueColumn);
  for (std::size_t i = 0; i < lines.size(); ++i)
    out << rtrim(std::string(kIndent, ' ') + padRight(i == 0 ? label : "", kLabelWidth) + " " +
                 lines[i])
        << '\n';
}

void writeTable(std::ostream& out, const Table& table) {
  for (const std::string& line : tableLines(table, kWidth - kIndent))
    out << std::string(kIndent, ' ') << line << '\n';
}

void writeSection(std::ostream& out, const std::string& title) {
  const std::string head = "--- " + flattened(title) + " ";
  const std::size_t w = displayWidth(head);
  out << '\n' << head << std::string(w < kWidth ? kWidth - w : 3, '-') << '\n';
}

void writeRun(std::ostream& out, const BenchReport& report, const RunResult& run) {
  writeFacts(out, detail::runSetupFacts(run));
  writeFacts(out, detail::runThroughputFacts(run));
  writeLabelledTable(out, "latency ms", detail::latencyTable(run));
  writeFacts(out, detail::runResourceFacts(report, run));
  const Table config = detail::configTable(run);
  if (config.rows.empty())
    writeFacts(out, {{"config", "none reported", ""}});
  else
    writeLabelledTable(out, "config", config);
  writeFacts(out, detail::runProblemFacts(run));
}

/// Sweep/Tune: what every point shares, or that it varies.
std::vector<Fact> commonFacts(const BenchReport& report) {
  const auto common = [&](const std::string& label, auto get) -> Fact {
    const std::string first = get(report.runs.front());
    for (const RunResult& run : report.runs)
      if (get(run) != first)
        return {label, "varies by point (each point's is in the JSON report)", ""};
    return {label, first, ""};
  };
  std::vector<Fact> facts;
  facts.push_back(common("engine", [](const RunResult& r) {
    return r.target.engineName +
           (r.target.engineVersion.empty() ? "" : " " + r.target.engineVersion);
  }));
  facts.push_back(common("model", [](const RunResult& r) { return r.target.model; }));
  facts.push_back(common("device", [](const RunResult& r) { return r.target.device; }));
  facts.push_back(
      common("inputs", [](const RunResult& r) { return detail::joined(r.target.inputs, "; "); }));
  facts.push_back(common(
      "mode", [](const RunResult& r) { return std::string(detail::modeName(r.mode)) + " loop"; }));
  facts.push_back(common("timed region", [](const RunResult& r) { return r.timedRegion; }));
  return facts;
}

void writePointProblems(std::ostream& out, const BenchReport& report) {
  std::vector<Fact> facts;
  for (std::size_t i = 0; i < report.runs.size(); ++i)
    for (Fact fact : detail::runProblemFacts(report.runs[i])) {
      fact.value = fmt::format("#{} {}: {}", i + 1, detail::pointText(report.runs[i]), fact.value);
      facts.push_back(std::move(fact));
    }
  writeFacts(out, facts);
}

}  // namespace

void writeText(std::ostream& out, const BenchReport& report) {
  out << "polyinfer bench · " << detail::kindName(report.kind) << '\n';
  writeFacts(out, detail::headerFacts(report));
  if (report.runs.empty()) {
    out << "\n  no runs\n";
    return;
  }
  switch (report.kind) {
    case BenchReport::Kind::Single:
      for (const RunResult& run : report.runs) {
        writeSection(out, detail::runTitle(run));
        writeRun(out, report, run);
      }
      break;
    case BenchReport::Kind::Compare: {
      for (std::size_t i = 0; i < report.runs.size(); ++i) {
        writeSection(out,
                     fmt::format("run {} of {} · {}{}", i + 1, report.runs.size(),
                                 detail::runTitle(report.runs[i]), i == 0 ? " (baseline)" : ""));
        writeRun(out, report, report.runs[i]);
      }
      writeSection(out, "comparison");
      writeTable(out, detail::compareTable(report));
      const RunResult& first = report.runs.front();
      writeFacts(out, {{"ratios",
                        fmt::format("against the first run ({}): throughput ratio above 1 "
                                    "is faster, latency ratio below 1 is faster",
                                    first.label.empty() ? first.target.engineName : first.label),
                        ""},
                       {"max |diff|",
                        "largest absolute difference of each run's outputs from the "
                        "first run's on the same inputs",
                        ""}});
      writeSection(out, "memory (each engine in a process of its own)");
      writeTable(out, detail::compareMemoryTable(report));
      writeFacts(out, {{"ratio", "peak RSS against the first run's: below 1 uses less memory", ""}});
      break;
    }
    case BenchReport::Kind::Sweep:
    case BenchReport::Kind::Tune: {
      const bool tune = report.kind == BenchReport::Kind::Tune;
      writeSection(out, "common to all points");
      writeFacts(out, commonFacts(report));
      writeSection(out, fmt::format("{}: {} point{}", tune ? "tune" : "sweep", report.runs.size(),
                                    report.runs.size() == 1 ? "" : "s"));
      writeTable(out, detail::pointTable(report));
      writeFacts(out, {{"columns",
                        "inf/s and items/s: throughput; p50 and p99: latency in ms over "
                        "all samples of all threads; stable: every window within the "
                        "tolerance",
                        ""}});
      writePointProblems(out, report);
      if (tune && report.tune) {
        writeSection(out, "tune outcome");
        writeFacts(out, detail::tuneFacts(report));
        const auto best = report.tune->best;
        if (best && *best < report.runs.size()) {
          writeSection(
              out, fmt::format("best: #{} {}", *best + 1, detail::pointText(report.runs[*best])));
          writeRun(out, report, report.runs[*best]);
        }
      }
      break;
    }
  }
}

}  // namespace polyinfer::bench
