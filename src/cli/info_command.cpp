// polyinfer info: what this installation can do — each engine plugin with
// the model formats its manifest declares and, once started, its version,
// devices and options (or why it did not start); the usable cores and the
// default thread counts.
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "polyinfer/polyinfer.hpp"

namespace polyinfer::cli {

namespace {

std::string joined(const std::vector<std::string>& items, std::string_view empty = "-") {
  if (items.empty()) return std::string(empty);
  std::string text;
  for (const std::string& item : items) {
    if (!text.empty()) text += ", ";
    text += item;
  }
  return text;
}

/// A plugin as info shows it: its manifest's formats, and its description
/// once it has started, or why it did not.
struct EngineReport {
  const PluginStatus* plugin;
  std::vector<std::string> formats;        ///< ModelFormat::describe() of each
  std::optional<EngineDescription> description;  ///< none: it failed to start
  std::string error;                       ///< why it failed to start
};

/// Starts each plugin's engine to describe it; a plugin that fails to start
/// is reported with the loader's message and the others still are described.
std::vector<EngineReport> describeEngines(Registry& registry, const std::vector<PluginStatus>& plugins) {
  std::vector<EngineReport> reports;
  for (const PluginStatus& p : plugins) {
    EngineReport report{&p, {}, std::nullopt, {}};
    for (const ModelFormat& format : p.formats) report.formats.push_back(format.describe());
    try {
      report.description = registry.describe(p.name);
    } catch (const Error& e) {
      report.error = e.what();
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

nlohmann::ordered_json infoJson(const std::vector<std::filesystem::path>& searchPath,
                                const std::vector<EngineReport>& engines, const ThreadBudget& budget,
                                const std::vector<ThreadDefaults>& defaults) {
  nlohmann::ordered_json j;
  j["version"] = kVersion;
  j["plugin_search_path"] = nlohmann::ordered_json::array();
  for (const auto& dir : searchPath) j["plugin_search_path"].push_back(dir.string());
  j["engines"] = nlohmann::ordered_json::array();
  for (const EngineReport& r : engines) {
    nlohmann::ordered_json e;
    e["name"] = r.plugin->name;
    e["path"] = r.plugin->path.string();
    e["loaded"] = r.description.has_value();
    // Strings (not objects) so that readers of the earlier output keep working.
    e["formats"] = r.formats;
    if (r.description) {
      const EngineDescription& d = *r.description;
      e["version"] = d.version;
      e["devices"] = d.devices;
      e["reentrant"] = d.reentrant;
      e["options"] = nlohmann::ordered_json::array();
      for (const OptionSpec& o : d.options)
        e["options"].push_back(
            {{"key", o.key}, {"aliases", o.aliases}, {"description", o.description}});
    } else {
      e["error"] = r.error;
    }
    j["engines"].push_back(std::move(e));
  }
  j["cpu"] = {{"usable_cores", budget.usableCores()},
              {"affinity_cores", budget.affinityCores()},
              {"quota_cores", budget.quotaCores() ? nlohmann::ordered_json(*budget.quotaCores())
                                                  : nlohmann::ordered_json(nullptr)},
              {"source", budget.source()}};
  j["thread_defaults"] = nlohmann::ordered_json::array();
  for (const ThreadDefaults& t : defaults)
    j["thread_defaults"].push_back({{"workers", t.workers},
                                    {"intra_op_threads", t.intraOpThreads},
                                    {"inter_op_threads", t.interOpThreads},
                                    {"reason", t.reason}});
  return j;
}

/// "    formats:    A (.a)" and each further format on a line of its own
/// (a format's text may hold commas).
void printFormats(const std::vector<std::string>& formats) {
  std::cout << "    formats:    " << (formats.empty() ? "-" : formats.front()) << "\n";
  for (std::size_t i = 1; i < formats.size(); ++i) std::cout << "                " << formats[i] << "\n";
}

void printText(const std::vector<std::filesystem::path>& searchPath,
               const std::vector<EngineReport>& engines, const ThreadBudget& budget,
               const std::vector<ThreadDefaults>& defaults) {
  std::cout << "polyinfer " << kVersion << "\n\n";
  std::cout << "plugin search path (POLYINFER_ENGINE_PATH first, then the library's own):\n";
  if (searchPath.empty()) std::cout << "  (empty)\n";
  for (const auto& dir : searchPath) std::cout << "  " << dir.string() << "\n";

  std::cout << "\nengines (each chosen for the model formats it reads, unless -e names one):\n";
  if (engines.empty()) std::cout << "  none found (no libpolyinfer_engine_<name>.so on the search path)\n";
  for (const EngineReport& r : engines) {
    const PluginStatus& p = *r.plugin;
    if (!r.description) {
      std::cout << fmt::format("  {}  NOT AVAILABLE\n    path:       {}\n", p.name, p.path.string());
      printFormats(r.formats);
      std::cout << fmt::format("    error:      {}\n", r.error);
      continue;
    }
    const EngineDescription& d = *r.description;
    std::cout << fmt::format("  {} {}\n", p.name, d.version);
    std::cout << fmt::format("    path:       {}\n", p.path.string());
    printFormats(r.formats);
    std::cout << fmt::format("    devices:    {}\n", joined(d.devices));
    std::cout << fmt::format("    re-entrant: {}\n",
                             d.reentrant ? "yes (predictors share one native model)"
                                         : "no (each predictor gets its own native model)");
    std::cout << "    options:" << (d.options.empty() ? " none\n" : "\n");
    for (const OptionSpec& o : d.options) {
      std::string key = o.key;
      if (!o.aliases.empty()) key += " (" + joined(o.aliases) + ")";
      std::cout << fmt::format("      {}\n          {}\n", key, o.description);
    }
  }

  std::cout << "\ncpu:\n";
  std::cout << fmt::format("  usable cores: {}\n", budget.usableCores());
  std::cout << fmt::format("  source:       {}\n", budget.source());
  std::cout << "\ndefault threads per call (workers x intra-op <= usable cores):\n";
  for (const ThreadDefaults& t : defaults)
    std::cout << fmt::format("  {} worker{}: intra-op {}, inter-op {} ({})\n", t.workers,
                             t.workers == 1 ? " " : "s", t.intraOpThreads, t.interOpThreads,
                             t.reason);
}

}  // namespace

CLI::App* addInfoCommand(CLI::App& app, InfoArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "info",
      "Show the polyinfer version, the engine plugins found (version, model formats, devices, "
      "options; or why one failed to load), the usable CPU cores and the default thread "
      "settings.");
  cmd->add_flag("--json", args.json, "Print the same as one JSON object.");
  return cmd;
}

int runInfo(const InfoArgs& args) {
  Registry& registry = Registry::global();
  const std::vector<PluginStatus> plugins = registry.plugins();
  const std::vector<EngineReport> engines = describeEngines(registry, plugins);
  const ThreadBudget budget = ThreadBudget::detect();
  std::vector<ThreadDefaults> defaults{budget.defaultsFor(1)};
  if (budget.usableCores() > 1) defaults.push_back(budget.defaultsFor(budget.usableCores()));
  if (args.json)
    std::cout << infoJson(registry.searchPath(), engines, budget, defaults).dump(2) << "\n";
  else
    printText(registry.searchPath(), engines, budget, defaults);
  return kExitOk;
}

}  // namespace polyinfer::cli
