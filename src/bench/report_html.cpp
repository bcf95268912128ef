// The HTML report: one self-contained page. Inline CSS, inline SVG drawn
// here (no scripts, fonts or other network resources), so it opens the same
// offline, in a mail attachment or years later. Over 500 lines on purpose:
// the page's CSS and its SVG plots are one document, kept in one place.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>

#include "report.hpp"
#include "report_util.hpp"

namespace polyinfer::bench {

namespace {

using detail::Fact;
using detail::Table;

// Tableau 10: distinguishable, and readable for the common colour blindnesses.
constexpr std::string_view kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                         "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string colour(std::size_t i) { return std::string(kPalette[i % std::size(kPalette)]); }

/// Text and attribute values as HTML/SVG entities.
std::string esc(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// Pixel coordinates in SVG: one decimal is sub-pixel and keeps the page small.
std::string px(double v) { return fmt::format("{:.1f}", v); }

// ---- axes

double niceStep(double rough) {
  if (!(rough > 0) || !std::isfinite(rough)) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  const double f = rough / magnitude;
  const double n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return n * magnitude;
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double step = 0.2;  ///< linear ticks (also used on a log axis spanning under a decade)
  double p0 = 0, p1 = 1;

  double map(double v) const {
    if (log) {
      const double a = std::log10(lo), b = std::log10(hi);
      return p0 + (std::log10(std::max(v, lo * 1e-3)) - a) / (b - a) * (p1 - p0);
    }
    return p0 + (v - lo) / (hi - lo) * (p1 - p0);
  }

  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log && std::log10(hi / lo) >= 1) {
      const bool dense = std::log10(hi / lo) <= 3;
      for (int k = static_cast<int>(std::floor(std::log10(lo)));
           k <= static_cast<int>(std::ceil(std::log10(hi))); ++k)
        for (double m : {1.0, 2.0, 5.0}) {
          if (!dense && m != 1.0) continue;
          const double v = m * std::pow(10.0, k);
          if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push_back(v);
        }
      return out;
    }
    // Bounded: a degenerate step must not loop for ever.
    for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && out.size() < 100;
         v += step)
      out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    return out;
  }

  std::string label(double v) const {
    if (log && std::log10(hi / lo) >= 1)
      return v >= 1 ? fmt::format("{:.0f}", v) : fmt::format("{:g}", v);
    if (step >= 1) return fmt::format("{:.0f}", v);
    int decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    if (std::abs(step / std::pow(10.0, -decimals) - 2.5) < 1e-6) ++decimals;  // 0.25, 0.025
    return fmt::format("{:.{}f}", v, std::clamp(decimals, 0, 6));
  }
};

/// A linear axis over [lo, hi] widened to whole ticks (about `count` of them).
Axis linearAxis(double lo, double hi, double p0, double p1, int count = 6) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi <= lo) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  Axis a;
  a.step = niceStep((hi - lo) / count);
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  if (a.hi <= a.lo) a.hi = a.lo + a.step;
  a.p0 = p0;
  a.p1 = p1;
  return a;
}

/// A log axis over [lo, hi] (lo > 0), slightly padded.
Axis logAxis(double lo, double hi, double p0, double p1) {
  if (hi <= lo * 1.2) {
    lo /= 1.15;
    hi *= 1.15;
  }
  Axis a;
  a.log = true;
  a.lo = lo / 1.05;
  a.hi = hi * 1.05;
  a.step = niceStep((a.hi - a.lo) / 8);  // ticks when the range is under a decade
  a.p0 = p0;
  a.p1 = p1;
  return a;
}

/// One SVG chart: a plot area with margins, axes and elements.
struct Chart {
  double width, height;
  double left = 64, right = 18, top = 14, bottom = 46;
  Axis x, y;
  std::string body;

  Chart(double w, double h) : width(w), height(h) {}
  double plotLeft() const { return left; }
  double plotRight() const { return width - right; }
  double plotTop() const { return top; }
  double plotBottom() const { return height - bottom; }
  double X(double v) const { return x.map(v); }
  double Y(double v) const { return y.map(v); }

  void axes(const std::string& xTitle, const std::string& yTitle) {
    std::string s;
    for (double t : y.ticks()) {
      const double py = Y(t);
      s += fmt::format(R"(<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>)", px(plotLeft()),
                       px(plotRight()), px(py), px(py));
      s += fmt::format(
          R"(<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>)",
          px(plotLeft() - 6), px(py), esc(y.label(t)));
    }
    for (double t : x.ticks()) {
      const double pxv = X(t);
      s += fmt::format(R"(<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>)", px(pxv), px(pxv),
                       px(plotTop()), px(plotBottom()));
      s += fmt::format(R"(<line class="tick" x1="{}" x2="{}" y1="{}" y2="{}"/>)", px(pxv), px(pxv),
                       px(plotBottom()), px(plotBottom() + 4));
      s += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">{}</text>)", px(pxv),
                       px(plotBottom() + 17), esc(x.label(t)));
    }
    s += fmt::format(R"(<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>)", px(plotLeft()),
                     px(plotRight()), px(plotBottom()), px(plotBottom()));
    s += fmt::format(R"(<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>)", px(plotLeft()),
                     px(plotLeft()), px(plotTop()), px(plotBottom()));
    s += fmt::format(R"(<text class="title" x="{}" y="{}" text-anchor="middle">{}</text>)",
                     px((plotLeft() + plotRight()) / 2), px(height - 8), esc(xTitle));
    s += fmt::format(R"svg(<text class="title" transform="translate(14 {}) rotate(-90)" )svg"
                     R"(text-anchor="middle">{}</text>)",
                     px((plotTop() + plotBottom()) / 2), esc(yTitle));
    body = s + body;  // grid under the data
  }

  std::string svg(const std::string& description) const {
    return fmt::format(R"(<svg viewBox="0 0 {} {}" role="img" aria-label="{}">)"
                       "<title>{}</title>{}</svg>\n",
                       px(width), px(height), esc(description), esc(description), body);
  }
};

std::string polyline(const std::vector<std::pair<double, double>>& points,
                     const std::string& stroke, std::string_view extra = "") {
  std::string pts;
  for (const auto& [x, y] : points) pts += px(x) + "," + px(y) + " ";
  return fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2" {} points="{}"/>)",
                     stroke, extra, pts);
}

/// Colour swatches and names; `extra`: more entries, already HTML.
std::string legend(const std::vector<std::pair<std::string, std::string>>& entries,
                   const std::string& extra = "") {
  std::string s = R"(<div class="legend">)";
  for (const auto& [name, c] : entries)
    s += fmt::format(R"(<span><i class="sw" style="background:{}"></i>{}</span>)", c, esc(name));
  return s + extra + "</div>\n";
}

// ---- what to call a run in legends

std::string seriesName(const BenchReport& report, std::size_t i) {
  const RunResult& run = report.runs[i];
  if (report.kind == BenchReport::Kind::Sweep || report.kind == BenchReport::Kind::Tune)
    return fmt::format("#{} {}", i + 1, detail::pointText(run));
  return detail::runTitle(run);
}

std::vector<std::pair<std::string, std::string>> runLegend(const BenchReport& report) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (std::size_t i = 0; i < report.runs.size(); ++i)
    entries.emplace_back(seriesName(report, i), colour(i));
  return entries;
}

// ---- plots

/// A histogram of one run's latencies on a shared log x axis, with p50, p99
/// and p99.9 marked: where the bulk lies and how long the tail is.
std::string latencyHistogram(const RunResult& run, const std::string& c, double lo, double hi,
                             bool wide) {
  Chart chart(wide ? 960 : 560, wide ? 300 : 250);
  chart.x = logAxis(lo, hi, chart.plotLeft(), chart.plotRight());
  constexpr int kBins = 48;
  const double a = std::log10(chart.x.lo), b = std::log10(chart.x.hi);
  std::vector<int64_t> counts(kBins, 0);
  for (double s : run.samplesMs) {
    if (!(s > 0)) s = chart.x.lo;
    const int bin = static_cast<int>((std::log10(s) - a) / (b - a) * kBins);
    ++counts[static_cast<std::size_t>(std::clamp(bin, 0, kBins - 1))];
  }
  const double n = static_cast<double>(run.samplesMs.size());
  const double peak =
      static_cast<double>(*std::max_element(counts.begin(), counts.end())) / n * 100;
  chart.y = linearAxis(0, peak * 1.25, chart.plotBottom(), chart.plotTop(), 4);
  for (int i = 0; i < kBins; ++i) {
    if (counts[static_cast<std::size_t>(i)] == 0) continue;
    const double e0 = std::pow(10.0, a + (b - a) * i / kBins);
    const double e1 = std::pow(10.0, a + (b - a) * (i + 1) / kBins);
    const double pct = static_cast<double>(counts[static_cast<std::size_t>(i)]) / n * 100;
    const double x0 = chart.X(e0) + 0.5, x1 = chart.X(e1) - 0.5;
    chart.body += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}">)"
                              R"(<title>{}–{} ms: {:.2f}% ({} samples)</title></rect>)",
                              px(x0), px(chart.Y(pct)), px(std::max(x1 - x0, 0.5)),
                              px(chart.Y(0) - chart.Y(pct)), c, detail::fmtMs(e0),
                              detail::fmtMs(e1), pct, counts[static_cast<std::size_t>(i)]);
  }
  const std::pair<const char*, double> marks[] = {
      {"p50", run.latency.p50}, {"p99", run.latency.p99}, {"p99.9", run.latency.p999}};
  // Lines first, then the labels (haloed) on top, one row each so they never
  // print over one another.
  for (const auto& [name, v] : marks)
    if (v > 0)
      chart.body += fmt::format(R"(<line class="mark" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>)",
                                px(chart.X(v)), px(chart.plotTop()), px(chart.plotBottom()));
  for (std::size_t k = 0; k < std::size(marks); ++k) {
    const double v = marks[k].second;
    if (!(v > 0)) continue;
    const double mx = chart.X(v);
    const double ly = chart.plotTop() + 12 + 14 * static_cast<double>(k);
    const bool flip = mx > chart.plotRight() - 110;
    chart.body +=
        fmt::format(R"(<text class="marklabel" x="{}" y="{}" text-anchor="{}">{} {} ms</text>)",
                    px(flip ? mx - 4 : mx + 4), px(ly), flip ? "end" : "start", marks[k].first,
                    detail::fmtMs(v));
  }
  chart.axes("latency (ms, log scale)", "% of samples");
  return chart.svg(fmt::format("Latency histogram of {}", detail::runTitle(run)));
}

std::string latencySection(const BenchReport& report) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const RunResult& run : report.runs)
    for (double s : run.samplesMs)
      if (s > 0) {
        lo = std::min(lo, s);
        hi = std::max(hi, s);
      }
  std::string s = "<section>\n<h2>Latency distribution</h2>\n";
  if (!(hi > 0))
    return s + R"(<p class="note">No latency samples were recorded.</p></section>)"
               "\n";
  s += R"(<p class="note">Timed samples of every thread, log-scale bins, one panel per run )"
       R"(on a shared axis (a run made in a child process, as in comparisons, sweeps and tunes, )"
       R"(brings at most 20,000 evenly spaced samples; its percentiles come from all of them). )"
       R"(Dashed lines: p50, p99 and p99.9.</p>)"
       "\n";
  const bool wide = report.runs.size() == 1;
  const bool many = report.runs.size() > 6;
  if (many)
    s += "<details><summary>" + esc(fmt::format("{} panels", report.runs.size())) + "</summary>\n";
  s += wide ? "<div>\n" : "<div class=\"panels\">\n";
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunResult& run = report.runs[i];
    s += fmt::format(
        R"(<figure><figcaption><i class="sw" style="background:{}"></i>{}</figcaption>)", colour(i),
        esc(seriesName(report, i)));
    if (run.samplesMs.empty())
      s += R"(<p class="note">No samples.</p>)";
    else
      s += latencyHistogram(run, colour(i), lo, hi, wide);
    s += "</figure>\n";
  }
  s += "</div>\n";
  if (many) s += "</details>\n";
  return s + "</section>\n";
}

/// Completions per time bin of each run: warm-up effects, throttling, or a
/// stall show up here and not in the averages.
std::string throughputSection(const BenchReport& report) {
  std::string s = "<section>\n<h2>Throughput over time</h2>\n";
  double tmax = 0;
  double wantWidth = 0;
  for (const RunResult& run : report.runs) {
    if (run.completionSeconds.empty()) continue;
    const double end = std::max(run.wallSeconds, *std::max_element(run.completionSeconds.begin(),
                                                                   run.completionSeconds.end()));
    tmax = std::max(tmax, end);
    // About 15 completions per bin at least, so a bin's rate is not noise.
    wantWidth = std::max(wantWidth, 15 * end / static_cast<double>(run.completionSeconds.size()));
  }
  if (!(tmax > 0))
    return s + R"(<p class="note">No completion times were recorded.</p></section>)"
               "\n";
  double width = niceStep(std::max(wantWidth, tmax / 60));
  if (tmax / width < 4) width = niceStep(tmax / 8);  // short runs: at least a few points

  Chart chart(960, 300);
  std::vector<std::vector<std::pair<double, double>>> series(report.runs.size());
  double ymax = 0;
  for (std::size_t r = 0; r < report.runs.size(); ++r) {
    const RunResult& run = report.runs[r];
    if (run.completionSeconds.empty()) continue;
    const double end = std::max(run.wallSeconds, *std::max_element(run.completionSeconds.begin(),
                                                                   run.completionSeconds.end()));
    const std::size_t bins = static_cast<std::size_t>(std::ceil(end / width - 1e-9));
    std::vector<int64_t> counts(std::max<std::size_t>(bins, 1), 0);
    for (double t : run.completionSeconds) {
      const auto bin = static_cast<std::size_t>(std::max(0.0, std::floor(t / width)));
      ++counts[std::min(bin, counts.size() - 1)];
    }
    for (std::size_t b = 0; b < counts.size(); ++b) {
      const double start = static_cast<double>(b) * width;
      const double covered = std::min(end, start + width) - start;
      if (covered < width / 2) continue;  // a sliver at the end says nothing about the rate
      const double rate = static_cast<double>(counts[b]) / covered;
      series[r].emplace_back(start + covered / 2, rate);
      ymax = std::max(ymax, rate);
    }
    ymax = std::max(ymax, run.throughput);
  }
  chart.x = linearAxis(0, tmax, chart.plotLeft(), chart.plotRight(), 8);
  chart.y = linearAxis(0, ymax * 1.1, chart.plotBottom(), chart.plotTop(), 5);
  for (std::size_t r = 0; r < report.runs.size(); ++r) {
    if (series[r].empty()) continue;
    const RunResult& run = report.runs[r];
    if (report.runs.size() <= 3 && run.throughput > 0) {
      const double end = series[r].back().first + width / 2;
      chart.body += fmt::format(
          R"(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}" stroke-width="1" )"
          R"(stroke-dasharray="6 4" opacity="0.8">)"
          R"(<title>{4}: overall {5} inferences/s</title></line>)",
          px(chart.X(0)), px(chart.X(std::min(end, tmax))), px(chart.Y(run.throughput)), colour(r),
          esc(seriesName(report, r)), detail::fmtRate(run.throughput));
    }
    std::vector<std::pair<double, double>> pts;
    for (const auto& [t, rate] : series[r]) pts.emplace_back(chart.X(t), chart.Y(rate));
    chart.body += polyline(pts, colour(r), R"(stroke-linejoin="round")");
    for (const auto& [t, rate] : series[r])
      chart.body +=
          fmt::format(R"(<circle cx="{}" cy="{}" r="2.5" fill="{}">)"
                      R"(<title>{}: {:.2f}–{:.2f} s, {} inferences/s</title></circle>)",
                      px(chart.X(t)), px(chart.Y(rate)), colour(r), esc(seriesName(report, r)),
                      t - width / 2, t + width / 2, detail::fmtRate(rate));
  }
  chart.axes("time since the start of the timed region (s)", "inferences/s");
  s += fmt::format(R"(<p class="note">Completions per {} s bin{}.</p>)", detail::fmtExact(width),
                   report.runs.size() <= 3 ? "; dashed: each run's overall throughput" : "");
  if (report.runs.size() > 1) s += legend(runLegend(report));
  s += chart.svg("Throughput over time") + "</section>\n";
  return s;
}

/// RSS on the sampler's timer over each run (load, warm-up, timed region).
std::string memorySection(const BenchReport& report) {
  double tmax = 0, ymax = 0;
  for (const RunResult& run : report.runs)
    for (const MemorySample& m : run.rss) {
      tmax = std::max(tmax, m.seconds);
      ymax = std::max(ymax, m.rssMiB);
    }
  if (!(ymax > 0)) return "";
  Chart chart(960, 260);
  chart.x = linearAxis(0, std::max(tmax, 1e-3), chart.plotLeft(), chart.plotRight(), 8);
  chart.y = linearAxis(0, ymax * 1.1, chart.plotBottom(), chart.plotTop(), 5);
  if (report.runs.size() == 1) {
    // Phase bands: where the load and the warm-up end.
    const auto& samples = report.runs.front().rss;
    const auto tint = [](const std::string& phase) {
      if (phase == "load") return "#f1f3f6";
      if (phase == "warmup") return "#fff6e0";
      if (phase == "timed") return "#eaf3fc";
      return "#f7f7f7";
    };
    for (std::size_t i = 0; i < samples.size();) {
      std::size_t j = i;
      while (j + 1 < samples.size() && samples[j + 1].phase == samples[i].phase) ++j;
      const double t0 = samples[i].seconds;
      const double t1 = j + 1 < samples.size() ? samples[j + 1].seconds : samples[j].seconds;
      const double x0 = chart.X(t0), x1 = chart.X(t1);
      chart.body += fmt::format(
          R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}">)"
          R"(<title>{} {:.2f}–{:.2f} s</title>)"
          R"(</rect><text x="{}" y="{}" class="phase">{}</text>)",
          px(x0), px(chart.plotTop()), px(std::max(x1 - x0, 0.0)),
          px(chart.plotBottom() - chart.plotTop()), tint(samples[i].phase), esc(samples[i].phase),
          t0, t1, px(x0 + 4), px(chart.plotTop() + 12),
          // Named only where the name fits (about 6.5 px a character).
          esc(x1 - x0 > 6.5 * static_cast<double>(samples[i].phase.size()) + 8 ? samples[i].phase
                                                                               : ""));
      i = j + 1;
    }
  }
  for (std::size_t r = 0; r < report.runs.size(); ++r) {
    std::vector<std::pair<double, double>> pts;
    for (const MemorySample& m : report.runs[r].rss)
      pts.emplace_back(chart.X(m.seconds), chart.Y(m.rssMiB));
    if (!pts.empty()) chart.body += polyline(pts, colour(r), R"(stroke-linejoin="round")");
  }
  chart.axes("time since the start of the run (s)", "RSS (MiB)");
  std::string s = "<section>\n<h2>Memory (RSS)</h2>\n";
  s += fmt::format(
      R"(<p class="note">Resident set size read on a timer (not per call).{}</p>)",
      report.runs.size() == 1 ? " Shaded: load (grey), warm-up (amber), timed region (blue)." : "");
  s += "\n";
  if (report.runs.size() > 1) s += legend(runLegend(report));
  return s + chart.svg("Resident memory over time") + "</section>\n";
}

/// Sweep/Tune: what each configuration buys in throughput and costs in tail
/// latency. The Pareto front joins the points no other point beats on both.
std::string tradeoffSection(const BenchReport& report) {
  const bool batched = detail::anyBatched(report);
  const auto xOf = [&](const RunResult& run) {
    return batched ? detail::itemsPerSecond(run) : run.throughput;
  };
  std::string s = "<section>\n<h2>Throughput vs p99 latency</h2>\n";
  if (report.runs.empty()) return s + "</section>\n";
  double x0 = std::numeric_limits<double>::infinity(), x1 = 0;
  double y0 = std::numeric_limits<double>::infinity(), y1 = 0;
  const auto plottable = [&](const RunResult& run) {
    return std::isfinite(xOf(run)) && std::isfinite(run.latency.p99);
  };
  for (const RunResult& run : report.runs) {
    if (!plottable(run)) continue;
    x0 = std::min(x0, xOf(run));
    x1 = std::max(x1, xOf(run));
    y0 = std::min(y0, run.latency.p99);
    y1 = std::max(y1, run.latency.p99);
  }
  if (!(x1 >= x0))
    return s + R"(<p class="note">No run has a throughput and a p99.</p></section>)"
               "\n";
  const std::optional<double> target = report.tune ? report.tune->maxP99Ms : std::nullopt;
  if (target) {
    y0 = std::min(y0, *target);
    y1 = std::max(y1, *target);
  }
  Chart chart(960, 400);
  chart.left = 70;
  const double xpad = std::max((x1 - x0) * 0.08, x1 * 0.02),
               ypad = std::max((y1 - y0) * 0.1, y1 * 0.03);
  chart.x = linearAxis(std::max(0.0, x0 - xpad), x1 + xpad, chart.plotLeft(), chart.plotRight(), 8);
  chart.y = linearAxis(std::max(0.0, y0 - ypad), y1 + ypad, chart.plotBottom(), chart.plotTop(), 6);

  if (target) {
    const double ty = chart.Y(*target);
    chart.body += fmt::format(
        R"(<line class="target" x1="{0}" x2="{1}" y1="{2}" y2="{2}"/>)"
        R"(<text class="marklabel" x="{3}" y="{4}" text-anchor="end">target p99 ≤ {5} ms</text>)",
        px(chart.plotLeft()), px(chart.plotRight()), px(ty), px(chart.plotRight() - 4), px(ty - 5),
        detail::fmtMs(*target));
  }
  // Pareto front: by throughput descending, keep each point with a lower p99
  // than every faster point.
  std::vector<std::size_t> order(report.runs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return xOf(report.runs[a]) > xOf(report.runs[b]);
  });
  std::vector<std::pair<double, double>> front;
  double bestP99 = std::numeric_limits<double>::infinity();
  for (std::size_t i : order) {
    const RunResult& run = report.runs[i];
    if (plottable(run) && run.latency.p99 < bestP99) {
      bestP99 = run.latency.p99;
      front.emplace_back(chart.X(xOf(run)), chart.Y(run.latency.p99));
    }
  }
  std::reverse(front.begin(), front.end());
  if (front.size() > 1)
    chart.body += polyline(front, "#8c959f", R"(stroke-dasharray="5 4" stroke-width="1.5")");

  // Indices, npos for none (std::optional here trips GCC 12's false
  // -Wmaybe-uninitialized).
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  const std::size_t best = report.tune && report.tune->best ? *report.tune->best : kNone;
  const std::size_t deflt = report.tune ? report.tune->defaultRun : kNone;
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunResult& run = report.runs[i];
    if (!plottable(run)) continue;
    const double cx = chart.X(xOf(run)), cy = chart.Y(run.latency.p99);
    const std::string tip = esc(fmt::format(
        "#{} {}: {} {}, p99 {} ms", i + 1, detail::pointText(run), detail::fmtRate(xOf(run)),
        batched ? "items/s" : "inferences/s", detail::fmtMs(run.latency.p99)));
    if (best == i)
      chart.body += fmt::format(
          R"(<circle cx="{}" cy="{}" r="9" fill="none" stroke="#1a7f37" stroke-width="2.5"/>)",
          px(cx), px(cy));
    if (deflt == i)
      chart.body +=
          fmt::format(R"(<rect x="{}" y="{}" width="14" height="14" fill="none" stroke="#bf8700" )"
                      R"(stroke-width="2"/>)",
                      px(cx - 7), px(cy - 7));
    // The run's colour, as in the histograms and the time plots.
    chart.body +=
        fmt::format(R"(<circle cx="{}" cy="{}" r="5.5" fill="{}"><title>{}</title></circle>)",
                    px(cx), px(cy), colour(i), tip);
  }
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunResult& run = report.runs[i];
    if (!plottable(run)) continue;
    const double cx = chart.X(xOf(run)), cy = chart.Y(run.latency.p99);
    // Labels right of the point, left near the right edge; alternate rows a
    // little so neighbours do not print over each other.
    const bool flip = cx > chart.plotRight() - 170;
    const double ly = cy + (i % 2 == 0 ? -9 : 15);
    std::string text = fmt::format("#{} {}", i + 1, detail::pointText(run));
    if (best == i) text += " (best)";
    if (deflt == i) text += " (default)";
    chart.body +=
        fmt::format(R"(<text class="pointlabel" x="{}" y="{}" text-anchor="{}">{}</text>)",
                    px(flip ? cx - 10 : cx + 10), px(ly), flip ? "end" : "start", esc(text));
  }
  chart.axes(batched ? "throughput (items/s)" : "throughput (inferences/s)", "p99 latency (ms)");
  s += R"(<p class="note">One point per configuration, in the run's colour; down and to the )"
       R"(right is better. The Pareto front joins the points no other point beats on both.</p>)"
       "\n";
  std::string extra;
  if (best != kNone) extra += R"(<span><i class="sw ring"></i>best</span>)";
  if (deflt != kNone) extra += R"(<span><i class="sw square"></i>default</span>)";
  if (target) extra += R"(<span><i class="sw dash"></i>target p99</span>)";
  if (front.size() > 1) extra += R"(<span><i class="sw dash front"></i>Pareto front</span>)";
  s += legend({}, extra);
  return s + chart.svg("Throughput against p99 latency per configuration") + "</section>\n";
}

// ---- tables and facts

std::string tableHtml(const Table& table, std::string_view extraClass = "") {
  std::string s =
      fmt::format(R"(<div class="scroll"><table class="data {}"><thead><tr>)", extraClass);
  for (std::size_t c = 0; c < table.header.size(); ++c)
    s += fmt::format(R"(<th{}>{}</th>)", table.numeric[c] ? R"( class="num")" : "",
                     esc(table.header[c]));
  s += "</tr></thead><tbody>\n";
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::string& tag = r < table.rowTags.size() ? table.rowTags[r] : std::string();
    s += tag.empty() ? "<tr>" : fmt::format(R"(<tr class="{}">)", esc(tag));
    for (std::size_t c = 0; c < table.header.size(); ++c) {
      const std::string cell = c < table.rows[r].size() ? table.rows[r][c] : std::string();
      s += fmt::format(R"(<td{}>{}</td>)", table.numeric[c] ? R"( class="num")" : "", esc(cell));
    }
    s += "</tr>\n";
  }
  return s + "</tbody></table></div>\n";
}

std::string factsHtml(const std::vector<Fact>& facts) {
  static const std::set<std::string> code = {"command", "model", "flags", "inputs"};
  std::string s = R"(<table class="facts"><tbody>)";
  for (const Fact& f : facts) {
    const std::string value =
        code.count(f.label) ? "<code>" + esc(f.value) + "</code>" : esc(f.value);
    s += fmt::format(R"(<tr{}><th>{}</th><td>{}</td></tr>)",
                     f.tag.empty() ? "" : fmt::format(R"( class="{}")", esc(f.tag)), esc(f.label),
                     value);
  }
  return s + "</tbody></table>\n";
}

std::string runDetails(const BenchReport& report, std::size_t i, bool open) {
  const RunResult& run = report.runs[i];
  std::string title =
      report.runs.size() > 1
          ? fmt::format("run {} of {} · {}", i + 1, report.runs.size(), seriesName(report, i))
          : detail::runTitle(run);
  if (report.kind == BenchReport::Kind::Compare && i == 0) title += " (baseline)";
  std::string s =
      fmt::format("<details{}><summary><i class=\"sw\" style=\"background:{}\"></i>{}</summary>\n",
                  open ? " open" : "", colour(i), esc(title));
  std::vector<Fact> facts = detail::runSetupFacts(run);
  for (Fact& f : detail::runThroughputFacts(run)) facts.push_back(std::move(f));
  for (Fact& f : detail::runResourceFacts(report, run)) facts.push_back(std::move(f));
  for (Fact& f : detail::runProblemFacts(run)) facts.push_back(std::move(f));
  s += factsHtml(facts);
  s += "<h4>Latency (ms)</h4>\n" + tableHtml(detail::latencyTable(run));
  const Table config = detail::configTable(run);
  s += "<h4>Effective configuration</h4>\n";
  s += config.rows.empty() ? std::string(R"(<p class="note">None reported.</p>)") + "\n"
                           : tableHtml(config, "config");
  return s + "</details>\n";
}

std::string cards(const RunResult& run) {
  std::vector<std::pair<std::string, std::string>> items;
  items.emplace_back(detail::fmtRate(run.throughput), "inferences/s");
  if (run.target.batch > 1)
    items.emplace_back(detail::fmtRate(detail::itemsPerSecond(run)),
                       fmt::format("items/s (batch {})", run.target.batch));
  items.emplace_back(detail::fmtMs(run.latency.p50), "p50 ms");
  items.emplace_back(detail::fmtMs(run.latency.p99), "p99 ms");
  items.emplace_back(detail::fmtMs(run.latency.p999), "p99.9 ms");
  items.emplace_back(
      run.stable ? "stable" : "not stable",
      fmt::format("±{:.1f}% over {} windows", run.stabilityTolerancePct, run.windows.size()));
  std::string s = R"(<div class="cards">)";
  for (const auto& [value, label] : items)
    s += fmt::format(R"(<div class="card{}"><div class="v">{}</div><div class="l">{}</div></div>)",
                     value == "not stable" ? " warn" : "", esc(value), esc(label));
  return s + "</div>\n";
}

constexpr std::string_view kCss = R"(
:root{
  --fg:#1f2328;--muted:#59636e;--line:#d8dee4;--soft:#f6f8fa;--good:#1a7f37;--warn:#9a6700;
  --bad:#cf222e}
*{box-sizing:border-box}
body{
  margin:0;background:#fff;color:var(--fg);
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:26px;margin:0 0 2px;font-weight:650}
h1 .kind{
  font-size:13px;font-weight:600;vertical-align:middle;margin-left:10px;padding:2px 10px;
  border-radius:12px;background:#ddf4ff;color:#0969da;text-transform:uppercase;letter-spacing:.04em}
h2{
  font-size:18px;margin:34px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line);
  font-weight:620}
h4{font-size:13px;margin:14px 0 6px;color:var(--muted);font-weight:600}
.sub{color:var(--muted);margin:0 0 16px}
.note{color:var(--muted);font-size:13px;margin:4px 0 10px}
code{
  font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
  background:var(--soft);padding:1px 5px;border-radius:4px;word-break:break-all}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.data{margin:6px 0 8px;font-size:13.5px}
table.data th,table.data td{
  padding:5px 12px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
table.data th{background:var(--soft);font-weight:600;border-top:1px solid var(--line)}
table.data .num{text-align:right}
table.data tbody tr:hover td{background:#f6f8fa}
table.config td:last-child{white-space:normal;color:var(--muted)}
tr.best td{background:#dafbe1!important;font-weight:600}
tr.default td{background:#fff8c5!important}
tr.failed td{color:var(--bad)}
table.facts{margin:4px 0 8px}
table.facts th{
  text-align:left;vertical-align:top;color:var(--muted);font-weight:500;padding:3px 18px 3px 0;
  white-space:nowrap}
table.facts td{padding:3px 0}
tr.warn td,.card.warn .v{color:var(--warn)}
tr.error td{color:var(--bad);font-weight:600}
tr.good td{color:var(--good)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0 4px}
.card{
  border:1px solid var(--line);border-radius:10px;padding:10px 18px;min-width:130px;background:#fff}
.card .v{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.card .l{font-size:12px;color:var(--muted)}
.callout{
  border:1px solid #aceebb;background:#f0fff4;border-radius:10px;padding:8px 16px;margin:10px 0}
.callout.miss{border-color:#ffcecb;background:#fff5f5}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px;margin:6px 0}
.sw{
  display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px;
  vertical-align:-1px}
.sw.ring{border:2.5px solid #1a7f37;border-radius:50%}
.sw.square{border:2px solid #bf8700;border-radius:0}
.sw.dash{height:0;width:18px;border-top:2px dashed #cf222e;border-radius:0;vertical-align:3px}
.sw.dash.front{border-top-color:#8c959f}
.panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:14px 20px}
figure{margin:0}
figcaption{font-size:13px;font-weight:600;margin:4px 0}
svg{display:block;width:100%;height:auto}
svg text{
  font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:11px;
  fill:#59636e}
svg text.title{font-size:12px;fill:#1f2328}
svg text.marklabel{font-size:11px;fill:#1f2328;font-weight:600}
svg text.pointlabel{font-size:11px;fill:#1f2328}
svg text.marklabel,svg text.pointlabel{
  paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
svg text.phase{font-size:11px;fill:#8c959f}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .tick{stroke:#8c959f;stroke-width:1}
svg .mark{stroke:#1f2328;stroke-width:1.2;stroke-dasharray:4 3}
svg .target{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:6 4}
details{border:1px solid var(--line);border-radius:10px;padding:8px 16px;margin:10px 0}
details[open]{padding-bottom:12px}
summary{font-weight:600;cursor:pointer}
footer{
  margin-top:36px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);
  padding-top:10px}
)";

std::string pageTitle(const BenchReport& report) {
  std::vector<std::string> engines;
  for (const RunResult& run : report.runs)
    if (std::find(engines.begin(), engines.end(), run.target.engineName) == engines.end())
      engines.push_back(run.target.engineName);
  std::string title = fmt::format("polyinfer bench · {}", detail::kindName(report.kind));
  if (!engines.empty()) title += " · " + detail::joined(engines, ", ");
  return title;
}

std::string page(const BenchReport& report) {
  const bool points =
      report.kind == BenchReport::Kind::Sweep || report.kind == BenchReport::Kind::Tune;
  std::string s =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  s += "<title>" + esc(pageTitle(report)) + "</title>\n<style>" + std::string(kCss) +
       "</style>\n</head>\n<body>\n<main>\n";
  s += fmt::format("<header>\n<h1>polyinfer bench<span class=\"kind\">{}</span></h1>\n",
                   esc(detail::kindName(report.kind)));
  std::vector<std::string> sub;
  if (!report.runs.empty() && !report.runs.front().target.model.empty())
    sub.push_back(report.runs.front().target.model);
  sub.push_back(fmt::format("{} run{}", report.runs.size(), report.runs.size() == 1 ? "" : "s"));
  if (!report.startTime.empty()) sub.push_back(report.startTime);
  s += "<p class=\"sub\">" + esc(detail::joined(sub, " · ")) + "</p>\n";
  s += factsHtml(detail::headerFacts(report)) + "</header>\n";

  if (report.runs.empty()) {
    s += "<p class=\"note\">No runs.</p>\n";
  } else if (report.kind == BenchReport::Kind::Single) {
    s += cards(report.runs.front());
  } else if (report.kind == BenchReport::Kind::Compare) {
    const RunResult& first = report.runs.front();
    s += "<section>\n<h2>Comparison</h2>\n" + tableHtml(detail::compareTable(report));
    s += fmt::format(
        R"(<p class="note">Ratios against the first run ({}): a throughput ratio above 1 is )"
        R"(faster, a latency ratio below 1 is faster. max |diff|: largest absolute difference of )"
        R"(the outputs )"
        R"(from the first run's on the same inputs.</p>)"
        "\n</section>\n",
        esc(first.label.empty() ? first.target.engineName : first.label));
    s += "<section>\n<h2>Memory</h2>\n" + tableHtml(detail::compareMemoryTable(report)) +
         R"(<p class="note">Each engine in a process of its own; ratio: peak RSS against the )"
         R"(first run's, below 1 uses less memory.</p>)"
         "\n</section>\n";
  } else if (points) {
    const bool tune = report.kind == BenchReport::Kind::Tune;
    s += fmt::format("<section>\n<h2>{}</h2>\n", tune ? "Tune" : "Sweep");
    if (tune && report.tune) {
      const std::optional<bool> met = detail::tuneMetTarget(report);
      const bool miss = !report.tune->best || (met && !*met);
      s += fmt::format(R"(<div class="callout{}">)", miss ? " miss" : "") +
           factsHtml(detail::tuneFacts(report)) + "</div>\n";
    }
    s += tableHtml(detail::pointTable(report));
    s += R"(<p class="note">inf/s and items/s: throughput; p50 and p99: latency in ms over all )"
         R"(samples of all threads; stable: every window within the tolerance.</p>)"
         "\n</section>\n";
    s += tradeoffSection(report);
  }
  if (!report.runs.empty()) {
    s += latencySection(report);
    s += throughputSection(report);
    s += memorySection(report);
    s += "<section>\n<h2>Runs in detail</h2>\n";
    const bool open = report.runs.size() <= 3 && !points;
    for (std::size_t i = 0; i < report.runs.size(); ++i) s += runDetails(report, i, open);
    s += "</section>\n";
  }
  s += fmt::format(
      "<footer>Generated by polyinfer {} · JSON schema {} · every figure here is in the "
      "JSON report.</footer>\n",
      esc(report.polyinferVersion), esc(detail::kSchema));
  return s + "</main>\n</body>\n</html>\n";
}

}  // namespace

void writeHtml(const std::filesystem::path& file, const BenchReport& report) {
  detail::writeWholeFile(file, "HTML report", page(report));
}

}  // namespace polyinfer::bench
