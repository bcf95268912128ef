#include "predict_report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tensor_values.hpp"

namespace polyinfer::cli {

using json = nlohmann::ordered_json;

Timing summarizeTimes(std::vector<double> ms, bool warmedUp) {
  Timing t;
  t.runs = static_cast<int>(ms.size());
  t.warmedUp = warmedUp;
  if (ms.empty()) return t;
  std::sort(ms.begin(), ms.end());
  const std::size_t n = ms.size();
  t.medianMs = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  t.minMs = ms.front();
  t.maxMs = ms.back();
  return t;
}

bool PredictReport::ok() const {
  return std::all_of(checks.begin(), checks.end(),
                     [](const Check& c) { return c.comparison.ok; });
}

namespace {

std::string joinList(const std::vector<std::string>& items, bool truncated) {
  std::string text = "[";
  for (std::size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + items[i];
  if (truncated) text += items.empty() ? "..." : ", ...";
  return text + "]";
}

std::string displayName(const NamedTensor& item, std::size_t index) {
  return item.name.empty() ? fmt::format("#{}", index) : item.name;
}

std::string summaryText(const Summary& s) {
  std::string text;
  if (s.min)
    text += fmt::format("min {:.6g} max {:.6g} mean {:.6g}  ", *s.min, *s.max, *s.mean);
  if (s.nanCount) text += fmt::format("nan {}  ", s.nanCount);
  if (s.infCount) text += fmt::format("inf {}  ", s.infCount);
  return text + joinList(s.first, s.truncated);
}

json number(double value) { return std::isfinite(value) ? json(value) : json(std::to_string(value)); }

json summaryJson(const Summary& s, DataType type) {
  json j;
  j["min"] = s.min ? json(*s.min) : json(nullptr);
  j["max"] = s.max ? json(*s.max) : json(nullptr);
  j["mean"] = s.mean ? json(*s.mean) : json(nullptr);
  j["nan_count"] = s.nanCount;
  j["inf_count"] = s.infCount;
  const bool numbers = s.firstValues.size() == s.first.size();
  j["first"] = json::array();
  for (std::size_t i = 0; i < s.first.size(); ++i) {
    if (numbers && isExact(type)) j["first"].push_back(static_cast<int64_t>(s.firstValues[i]));
    else if (numbers) j["first"].push_back(number(s.firstValues[i]));
    else j["first"].push_back(s.first[i]);
  }
  j["truncated"] = s.truncated;
  return j;
}

}  // namespace

void printProfile(const OperatorProfile& p, std::ostream& out, std::size_t top) {
  const double total = p.operatorMs();
  out << fmt::format(
      "profile: {} run{} with {}'s profiler, {:.3f} ms wall in all, {:.3f} ms in operators "
      "(self time)\n",
      p.iterations, p.iterations == 1 ? "" : "s", p.engine, p.wallMs, total);
  out << fmt::format("  {:<32} {:>7} {:>11} {:>10} {:>7}\n", "operator", "calls", "total ms",
                     "mean ms", "share");
  for (std::size_t i = 0; i < p.operators.size() && i < top; ++i) {
    const OperatorStat& op = p.operators[i];
    out << fmt::format("  {:<32} {:>7} {:>11.3f} {:>10.4f} {:>6.1f}%\n", op.opType, op.calls,
                       op.totalMs, op.meanMs(), total > 0 ? 100.0 * op.totalMs / total : 0.0);
  }
  if (p.operators.size() > top)
    out << fmt::format("  ... {} more operator types\n", p.operators.size() - top);
}

nlohmann::json profileJson(const OperatorProfile& p, bool withTrace) {
  json ops = json::array();
  const double total = p.operatorMs();
  for (const OperatorStat& op : p.operators)
    ops.push_back({{"op_type", op.opType},
                   {"calls", op.calls},
                   {"total_ms", op.totalMs},
                   {"mean_ms", op.meanMs()},
                   {"share", total > 0 ? op.totalMs / total : 0.0}});
  json j = {{"engine", p.engine},
            {"iterations", p.iterations},
            {"wall_ms", p.wallMs},
            {"operator_ms", total},
            {"operators", ops}};
  if (withTrace) j["engine_trace"] = json::parse(p.engineTrace, nullptr, false);
  return j;
}

void writeProfileJson(const OperatorProfile& p, const std::string& file) {
  std::ofstream out(file, std::ios::trunc);
  if (!out)
    throw Error(ErrorCode::InvalidArgument, "--profile-json '" + file + "': cannot write the file");
  out << profileJson(p, true).dump(1) << "\n";
  if (!out)
    throw Error(ErrorCode::InvalidArgument, "--profile-json '" + file + "': write failed");
}

namespace {

/// One line for a value: a tensor's summary, a map's first entries, a
/// sequence's elements (the first few), an optional's presence.
std::string valueText(const Value& v, int depth = 0) {
  switch (v.kind()) {
    case ValueKind::Tensor: return v.tensor().describe() + "  " + summaryText(summarize(v.tensor()));
    case ValueKind::Map: {
      std::string text = v.describe() + " {";
      const int64_t n = v.keys().elementCount();
      for (int64_t i = 0; i < n && i < 6; ++i)
        text += (i ? ", " : "") + formatElement(v.keys(), i) + ": " + formatElement(v.values(), i);
      return text + (n > 6 ? ", ...}" : "}");
    }
    case ValueKind::Sequence: {
      std::string text = "seq of " + std::to_string(v.elements().size()) + " [";
      for (std::size_t i = 0; i < v.elements().size() && i < 3; ++i)
        text += (i ? "; " : "") + valueText(v.elements()[i], depth + 1);
      return text + (v.elements().size() > 3 ? "; ...]" : "]");
    }
    case ValueKind::Optional: return v.hasValue() ? "optional: " + valueText(v.contained(), depth + 1) : "optional(none)";
  }
  return v.describe();
}

json valueJson(const Value& v) {
  switch (v.kind()) {
    case ValueKind::Tensor: {
      const Tensor& t = v.tensor();
      return {{"kind", "tensor"},
              {"dtype", std::string(toString(t.dtype()))},
              {"shape", t.shape()},
              {"summary", summaryJson(summarize(t), t.dtype())}};
    }
    case ValueKind::Map: {
      json entries = json::array();
      for (int64_t i = 0; i < v.keys().elementCount(); ++i)
        entries.push_back({{"key", formatElement(v.keys(), i)}, {"value", formatElement(v.values(), i)}});
      return {{"kind", "map"},
              {"key_dtype", std::string(toString(v.keys().dtype()))},
              {"value_dtype", std::string(toString(v.values().dtype()))},
              {"entries", entries}};
    }
    case ValueKind::Sequence: {
      json elements = json::array();
      for (const Value& e : v.elements()) elements.push_back(valueJson(e));
      return {{"kind", "sequence"}, {"elements", elements}};
    }
    case ValueKind::Optional:
      return {{"kind", "optional"}, {"value", v.hasValue() ? valueJson(v.contained()) : json(nullptr)}};
  }
  return nullptr;
}

std::string displayValueName(const NamedValue& v, std::size_t k) {
  // (append(), not "#" + string: GCC 12 warns falsely about the latter.)
  return v.name.empty() ? std::string("#").append(std::to_string(k)) : v.name;
}

}  // namespace

void printText(const PredictReport& r, std::ostream& out) {
  const Model& model = *r.model;
  out << "model:   " << model.modelPath().string() << "\n";
  out << "engine:  " << model.engineName() << " " << model.engineVersion() << " (device "
      << r.device << ")\n";
  out << fmt::format("load:    {:.1f} ms\n", r.loadMs);
  if (!model.config().empty()) {
    out << "config:\n";
    for (const ConfigEntry& e : model.config())
      out << fmt::format("  {} = {}  ({}{}{})\n", e.key, e.value, toString(e.source),
                         e.detail.empty() ? "" : ": ", e.detail);
  }
  out << "inputs:\n";
  for (std::size_t k = 0; r.values && k < r.valueInputs.size(); ++k)
    out << fmt::format("  {}  {}  from {}\n", displayValueName(r.valueInputs[k], k),
                       r.valueInputs[k].value.describe(),
                       k < r.inputSources.size() ? r.inputSources[k] : std::string("?"));
  for (std::size_t k = 0; k < r.inputs.size(); ++k)
    out << fmt::format("  {}  {}  from {}\n", displayName(r.inputs[k], k),
                       r.inputs[k].tensor.describe(),
                       k < r.inputSources.size() ? r.inputSources[k] : std::string("?"));
  out << "outputs:\n";
  for (std::size_t k = 0; r.values && k < r.valueOutputs.size(); ++k) {
    out << fmt::format("  {}  {}\n", displayValueName(r.valueOutputs[k], k), valueText(r.valueOutputs[k].value));
    if (k < r.written.size() && !r.written[k].empty()) out << "    written to " << r.written[k] << "\n";
  }
  for (std::size_t k = 0; k < r.outputs.size(); ++k) {
    out << fmt::format("  {}  {}  {}\n", displayName(r.outputs[k], k),
                       r.outputs[k].tensor.describe(), summaryText(summarize(r.outputs[k].tensor)));
    if (k < r.written.size() && !r.written[k].empty())
      out << "    written to " << r.written[k] << "\n";
  }
  const Timing& t = r.timing;
  if (t.warmedUp)
    out << fmt::format(
        "time per call: median {:.3f} ms, min {:.3f} ms, max {:.3f} ms ({} run{} after 1 "
        "warm-up; predict() only, inputs already in memory)\n",
        t.medianMs, t.minMs, t.maxMs, t.runs, t.runs == 1 ? "" : "s");
  else
    out << fmt::format(
        "time per call: {:.3f} ms (a single first call, with its one-time costs; use -n N for "
        "steady-state timing)\n",
        t.medianMs);
  if (r.profile) printProfile(*r.profile, out);
  if (!r.checks.empty()) {
    out << fmt::format("expect (atol {:g}, rtol {:g}):\n", r.tolerance.atol, r.tolerance.rtol);
    for (const Check& c : r.checks)
      out << "  " << (c.comparison.ok ? "ok        " : "MISMATCH  ") << c.message << "\n";
  }
  out.flush();
}

void printJson(const PredictReport& r, std::ostream& out) {
  const Model& model = *r.model;
  json j;
  j["ok"] = r.ok();
  j["model"] = model.modelPath().string();
  j["engine"] = {{"name", model.engineName()}, {"version", model.engineVersion()}};
  j["device"] = r.device;
  j["load_ms"] = r.loadMs;
  j["config"] = json::array();
  for (const ConfigEntry& e : model.config())
    j["config"].push_back({{"key", e.key},
                           {"value", e.value},
                           {"source", std::string(toString(e.source))},
                           {"detail", e.detail}});
  j["inputs"] = json::array();
  for (std::size_t k = 0; k < r.inputs.size(); ++k)
    j["inputs"].push_back(
        {{"name", r.inputs[k].name},
         {"dtype", std::string(toString(r.inputs[k].tensor.dtype()))},
         {"shape", r.inputs[k].tensor.shape()},
         {"source", k < r.inputSources.size() ? r.inputSources[k] : std::string()}});
  for (std::size_t k = 0; r.values && k < r.valueInputs.size(); ++k) {
    json i = valueJson(r.valueInputs[k].value);
    i.erase("summary");
    i["name"] = r.valueInputs[k].name;
    i["type"] = r.valueInputs[k].value.describe();
    i["source"] = k < r.inputSources.size() ? r.inputSources[k] : std::string();
    j["inputs"].push_back(std::move(i));
  }
  j["outputs"] = json::array();
  for (std::size_t k = 0; r.values && k < r.valueOutputs.size(); ++k) {
    json o = valueJson(r.valueOutputs[k].value);
    o["name"] = r.valueOutputs[k].name;
    o["type"] = r.valueOutputs[k].value.describe();
    if (k < r.written.size() && !r.written[k].empty()) o["file"] = r.written[k];
    j["outputs"].push_back(std::move(o));
  }
  for (std::size_t k = 0; k < r.outputs.size(); ++k) {
    const Tensor& t = r.outputs[k].tensor;
    json o = {{"name", r.outputs[k].name},
              {"dtype", std::string(toString(t.dtype()))},
              {"shape", t.shape()},
              {"summary", summaryJson(summarize(t), t.dtype())}};
    if (k < r.written.size() && !r.written[k].empty()) o["file"] = r.written[k];
    j["outputs"].push_back(std::move(o));
  }
  j["timing"] = {{"runs", r.timing.runs},
                 {"warm_up_runs", r.timing.warmedUp ? 1 : 0},
                 {"median_ms", r.timing.medianMs},
                 {"min_ms", r.timing.minMs},
                 {"max_ms", r.timing.maxMs}};
  if (r.profile) j["profile"] = profileJson(*r.profile, false);
  if (!r.checks.empty()) {
    json results = json::array();
    for (const Check& c : r.checks) {
      const Comparison& m = c.comparison;
      json e = {{"output", c.present ? json(c.output) : json(nullptr)},
                {"file", c.file},
                {"ok", m.ok},
                {"message", c.message}};
      if (c.present && m.structuralMismatch.empty()) {
        e["elements"] = m.elements;
        e["mismatches"] = m.mismatches;
        e["max_abs_diff"] = number(m.maxAbsDiff);
        if (m.worstFlat >= 0)
          e["worst"] = {{"index", m.worstIndexDims},
                        {"actual", m.worstActual},
                        {"expected", m.worstExpected},
                        {"abs_diff", number(m.worstAbsDiff)}};
      }
      results.push_back(std::move(e));
    }
    j["expect"] = {{"atol", r.tolerance.atol}, {"rtol", r.tolerance.rtol}, {"results", results}};
  }
  out << j.dump(2) << std::endl;
}

}  // namespace polyinfer::cli
