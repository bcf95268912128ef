// Helpers shared by the tests: generated models and which file of one an
// engine reads, reference data, comparisons, expected errors.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace polyinfer::test {

namespace fs = std::filesystem;

fs::path modelsDir() {
  if (auto env = environmentValue("POLYINFER_TEST_MODELS")) return *env;
  return POLYINFER_TEST_MODELS_DIR;
}

fs::path modelFile(const std::string& model, const std::string& file) {
  fs::path path = modelsDir() / model / file;
  if (!fs::exists(path))
    ADD_FAILURE() << "generated model file " << path
                  << " is missing (run the generate_models test fixture)";
  return path;
}

Reference loadReference(const std::string& model) {
  const fs::path dir = modelsDir() / model / "test_data_set_0";
  Reference ref;
  for (const fs::path& file : io::testLayoutFiles(dir, "input")) {
    NamedTensor t = io::readTensorProto(file);
    ref.inputs.add(t.name, t.tensor);
  }
  for (const fs::path& file : io::testLayoutFiles(dir, "output")) {
    NamedTensor t = io::readTensorProto(file);
    ref.outputs.add(t.name, t.tensor);
  }
  if (ref.inputs.empty() || ref.outputs.empty())
    ADD_FAILURE() << "no reference data in " << dir;
  return ref;
}

std::vector<std::string> builtEngines() {
  std::vector<std::string> engines;
  for (const PluginStatus& plugin : Registry::global().plugins()) engines.push_back(plugin.name);
  return engines;
}

namespace {

/// modelFor's search, uncached.
EngineModelFile findModelFile(const std::string& model, const std::string& engine) {
  const fs::path dir = modelsDir() / model;
  if (!fs::is_directory(dir)) {
    ADD_FAILURE() << "generated model directory " << dir
                  << " is missing (run the generate_models test fixture)";
    return {{}, "no generated model " + dir.string()};
  }
  std::vector<fs::path> candidates;
  for (const fs::directory_entry& item : fs::directory_iterator(dir)) {
    if (!item.is_regular_file()) continue;
    const ModelResolution resolved = Registry::global().resolve(item.path(), engine);
    // A companion file (MXNet's .params) stands for its main file.
    if (!resolved.location.format.empty()) candidates.push_back(resolved.location.path);
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (candidates.empty())
    return {{}, engine + " reads none of the files of " + model + " (no format of its matches)"};
  std::string refusals;
  for (const fs::path& file : candidates) {
    try {
      Model::load(Criteria{.modelPath = file, .engine = engine});
      return {file, {}};
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Unsupported) return {file, {}};
      refusals += (refusals.empty() ? "" : "; ") + file.filename().string() + ": " + e.what();
    }
  }
  return {{}, engine + " cannot run " + model + ": " + refusals};
}

}  // namespace

EngineModelFile modelFor(const std::string& model, const std::string& engine) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, EngineModelFile> found;
  std::lock_guard lock(mutex);
  const auto key = std::make_pair(model, engine);
  auto it = found.find(key);
  if (it == found.end()) it = found.emplace(key, findModelFile(model, engine)).first;
  return it->second;
}

void PrintTo(const EngineModelCase& c, std::ostream* os) { *os << c.engine << "/" << c.model; }

std::vector<EngineModelCase> engineModelCases(const std::vector<std::string>& models) {
  std::vector<EngineModelCase> cases;
  for (const std::string& engine : builtEngines())
    for (const std::string& model : models) cases.push_back({engine, model});
  return cases;
}

std::string testName(const std::string& text) {
  std::string name = text;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

namespace {

double elementAsDouble(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::Float32: return t.data<float>()[i];
    case DataType::Float64: return t.data<double>()[i];
    case DataType::Int8: return t.data<int8_t>()[i];
    case DataType::UInt8: return t.data<uint8_t>()[i];
    case DataType::Int16: return t.data<int16_t>()[i];
    case DataType::UInt16: return t.data<uint16_t>()[i];
    case DataType::Int32: return t.data<int32_t>()[i];
    case DataType::UInt32: return t.data<uint32_t>()[i];
    case DataType::Int64: return static_cast<double>(t.data<int64_t>()[i]);
    case DataType::UInt64: return static_cast<double>(t.data<uint64_t>()[i]);
    case DataType::Bool: return static_cast<const uint8_t*>(t.rawData())[i] ? 1.0 : 0.0;
    default:
      throw Error(ErrorCode::Unsupported,
                  "test comparison: dtype " + std::string(toString(t.dtype())) + " not handled");
  }
}

}  // namespace

double maxAbsDiff(const Tensor& actual, const Tensor& expected) {
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape())
    return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (int64_t i = 0; i < actual.elementCount(); ++i)
    worst = std::max(worst, std::abs(elementAsDouble(actual, i) - elementAsDouble(expected, i)));
  return worst;
}

void expectAllClose(const Tensor& actual, const Tensor& expected, double atol, double rtol,
                    const std::string& what) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << what << ": " << actual.describe() << " vs "
                                              << expected.describe();
  ASSERT_EQ(actual.shape(), expected.shape()) << what << ": " << actual.describe() << " vs "
                                              << expected.describe();
  int64_t worstIndex = -1;
  double worstExcess = 0;
  for (int64_t i = 0; i < actual.elementCount(); ++i) {
    const double a = elementAsDouble(actual, i), e = elementAsDouble(expected, i);
    const double excess = std::abs(a - e) - (atol + rtol * std::abs(e));
    if (excess > worstExcess || std::isnan(a) != std::isnan(e)) {
      worstExcess = std::isnan(excess) ? INFINITY : excess;
      worstIndex = i;
    }
  }
  if (worstIndex >= 0)
    ADD_FAILURE() << what << ": element " << worstIndex << " is " << elementAsDouble(actual, worstIndex)
                  << ", expected " << elementAsDouble(expected, worstIndex) << " (atol " << atol
                  << ", rtol " << rtol << ")";
}

ValueDataSet loadValueDataSet(const Model& model, const std::filesystem::path& dir) {
  ValueDataSet set;
  const auto read = [&](const std::vector<ValueInfo>& infos, const std::string& prefix, Values& into) {
    const std::vector<std::filesystem::path> files = io::testLayoutFiles(dir, prefix);
    EXPECT_EQ(files.size(), infos.size()) << dir << ": " << prefix << " files";
    for (std::size_t i = 0; i < files.size() && i < infos.size(); ++i)
      into.add(infos[i].name, io::readValueFile(files[i], infos[i].type).value);
  };
  read(model.inputValues(), "input", set.inputs);
  read(model.outputValues(), "output", set.outputs);
  return set;
}

void expectValuesClose(const Value& actual, const Value& expected, double atol, double rtol,
                       const std::string& what) {
  ASSERT_EQ(actual.kind(), expected.kind()) << what << ": " << actual.describe() << " vs " << expected.describe();
  switch (expected.kind()) {
    case ValueKind::Tensor:
      if (expected.tensor().dtype() == DataType::String) expectIdentical(actual.tensor(), expected.tensor(), what);
      else expectAllClose(actual.tensor(), expected.tensor(), atol, rtol, what);
      return;
    case ValueKind::Sequence: {
      ASSERT_EQ(actual.elements().size(), expected.elements().size()) << what << ": sequence length";
      for (std::size_t i = 0; i < expected.elements().size(); ++i)
        expectValuesClose(actual.elements()[i], expected.elements()[i], atol, rtol,
                          what + " element " + std::to_string(i));
      return;
    }
    case ValueKind::Map: {
      const Tensor& keys = expected.keys();
      ASSERT_EQ(actual.keys().dtype(), keys.dtype()) << what << ": key type";
      ASSERT_EQ(actual.keys().elementCount(), keys.elementCount()) << what << ": number of keys";
      const auto keyText = [](const Tensor& t, int64_t i) {
        return t.dtype() == DataType::String ? t.strings()[static_cast<std::size_t>(i)]
                                             : std::to_string(static_cast<int64_t>(elementAsDouble(t, i)));
      };
      for (int64_t e = 0; e < keys.elementCount(); ++e) {
        int64_t found = -1;
        for (int64_t a = 0; a < actual.keys().elementCount() && found < 0; ++a)
          if (keyText(actual.keys(), a) == keyText(keys, e)) found = a;
        ASSERT_GE(found, 0) << what << ": key " << keyText(keys, e) << " missing";
        const auto one = [](const Tensor& t, int64_t i) {
          if (t.dtype() == DataType::String) return Tensor::fromStrings({}, {t.strings()[static_cast<std::size_t>(i)]});
          return Tensor::fromVector<double>({}, {elementAsDouble(t, i)});
        };
        ASSERT_EQ(actual.values().dtype(), expected.values().dtype()) << what << ": value type";
        expectValuesClose(one(actual.values(), found), one(expected.values(), e), atol, rtol,
                          what + " key " + keyText(keys, e));
      }
      return;
    }
    case ValueKind::Optional:
      ASSERT_EQ(actual.hasValue(), expected.hasValue()) << what << ": optional presence";
      if (expected.hasValue())
        expectValuesClose(actual.contained(), expected.contained(), atol, rtol, what);
      return;
  }
}

void expectIdentical(const Tensor& actual, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << what;
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  if (actual.dtype() == DataType::String) {
    EXPECT_EQ(actual.strings(), expected.strings()) << what;
    return;
  }
  ASSERT_EQ(actual.byteSize(), expected.byteSize()) << what;
  EXPECT_EQ(0, std::memcmp(actual.rawData(), expected.rawData(), actual.byteSize()))
      << what << ": contents differ";
}

std::string expectError(const std::function<void()>& fn, ErrorCode code,
                        const std::vector<std::string>& parts) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(toString(e.code()), toString(code)) << e.what();
    for (const std::string& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message lacks '" << part << "': " << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected polyinfer::Error, got std::exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected an Error(" << toString(code) << "), nothing was thrown";
  return {};
}

std::string fileBytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeFile(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Tensors named(const std::string& name, Tensor tensor) {
  Tensors tensors;
  tensors.add(name, std::move(tensor));
  return tensors;
}

ScratchDir::ScratchDir(const std::string& label) {
  static std::atomic<int> counter{0};
  path = std::filesystem::temp_directory_path() /
         ("polyinfer-test-" + label + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(path);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

const ConfigEntry* configEntry(const Model& model, const std::string& key) {
  for (const ConfigEntry& entry : model.config())
    if (entry.key == key) return &entry;
  return nullptr;
}

std::vector<std::string> names(const std::vector<TensorInfo>& infos) {
  std::vector<std::string> result;
  for (const TensorInfo& info : infos) result.push_back(info.name);
  return result;
}

std::vector<ThreadResult> startTogether(int threads, const std::function<Tensor()>& body) {
  std::barrier start(threads);
  std::vector<ThreadResult> results(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      start.arrive_and_wait();
      try {
        results[static_cast<std::size_t>(t)].tensor = body();
      } catch (const std::exception& e) {
        results[static_cast<std::size_t>(t)].error = e.what();
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  return results;
}

bool sameBytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DataType::String) return a.strings() == b.strings();
  return a.byteSize() == b.byteSize() && std::memcmp(a.rawData(), b.rawData(), a.byteSize()) == 0;
}

std::vector<std::string> predictFromThreads(const std::shared_ptr<Model>& model,
                                            const Tensors& inputs, const Tensors& expected,
                                            int threads, int calls) {
  std::barrier start(threads);
  std::vector<std::string> failures(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::string& failure = failures[static_cast<std::size_t>(t)];
      try {
        Predictor predictor = model->newPredictor();
        start.arrive_and_wait();
        for (int call = 0; call < calls && failure.empty(); ++call) {
          const Tensors out = predictor.predict(inputs);
          if (out.size() != expected.size()) failure = "call " + std::to_string(call) + ": output count differs";
          for (std::size_t i = 0; i < out.size() && failure.empty(); ++i)
            if (!sameBytes(out[i].tensor, expected[i].tensor))
              failure = "call " + std::to_string(call) + " output " + out[i].name + " differs";
        }
      } catch (const std::exception& e) {
        failure = e.what();
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  return failures;
}

void expectSameOutputsFromThreads(const std::shared_ptr<Model>& model, const Tensors& inputs,
                                  int threads, int calls) {
  const Tensors expected = model->newPredictor().predict(inputs);
  const std::vector<std::string> failures = predictFromThreads(model, inputs, expected, threads, calls);
  for (std::size_t t = 0; t < failures.size(); ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

void expectEachRefused(const std::vector<std::pair<std::string, std::function<void()>>>& cases,
                       const std::vector<ErrorCode>& codes, const std::function<void()>& afterEach) {
  for (const auto& [what, call] : cases) {
    SCOPED_TRACE(what);
    try {
      call();
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::find(codes.begin(), codes.end(), e.code()), codes.end())
          << toString(e.code()) << ": " << e.what();
    }
    afterEach();
  }
}

void expectMatchesReference(const std::string& model, const Tensors& outputs, double atol,
                            double rtol) {
  const Reference ref = loadReference(model);
  ASSERT_EQ(outputs.size(), ref.outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    SCOPED_TRACE(ref.outputs[i].name);
    EXPECT_EQ(outputs[i].name, ref.outputs[i].name);
    const DataType dtype = ref.outputs[i].tensor.dtype();
    if (dtype == DataType::String) {
      EXPECT_EQ(outputs[i].tensor.shape(), ref.outputs[i].tensor.shape());
      EXPECT_EQ(outputs[i].tensor.strings(), ref.outputs[i].tensor.strings());
    } else if (dtype == DataType::Float16 || dtype == DataType::BFloat16) {
      expectIdentical(outputs[i].tensor, ref.outputs[i].tensor, outputs[i].name);
    } else {
      expectAllClose(outputs[i].tensor, ref.outputs[i].tensor, atol, rtol, outputs[i].name);
    }
  }
}

}  // namespace polyinfer::test
