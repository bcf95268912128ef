#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

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
  if (POLYINFER_HAVE_TORCH) engines.push_back("torch");
  if (POLYINFER_HAVE_ONNXRUNTIME) engines.push_back("onnxruntime");
  return engines;
}

std::string modelFileFor(const std::string& engine) {
  return engine == "torch" ? "model.pt" : "model.onnx";
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

}  // namespace polyinfer::test
