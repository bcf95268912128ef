#include "random_tensor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "tensor_values.hpp"

namespace polyinfer::cli {

RandomTensors::RandomTensors(const RandomSettings& settings)
    : settings_(settings), engine_(settings.seed) {}

double RandomTensors::uniform() {
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

double RandomTensors::normal() {
  // Box-Muller, both values used.
  if (haveSpare_) {
    haveSpare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - uniform();  // (0, 1]
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  spare_ = radius * std::sin(2.0 * std::numbers::pi * u2);
  haveSpare_ = true;
  return radius * std::cos(2.0 * std::numbers::pi * u2);
}

namespace {

/// Uniform integers in [low, high), the range clamped to what T can hold.
template <typename T>
void fillInts(Tensor& t, int64_t low, int64_t high, std::mt19937_64& engine) {
  using Limits = std::numeric_limits<T>;
  int64_t lo = low;
  int64_t hi = high;
  if constexpr (sizeof(T) < 8) {
    const auto min = static_cast<int64_t>(Limits::min());
    const auto max = static_cast<int64_t>(Limits::max());
    lo = std::clamp(lo, min, max);
    hi = std::clamp(hi, lo + 1, max + 1);
  } else if constexpr (std::is_unsigned_v<T>) {
    lo = std::max<int64_t>(lo, 0);
    hi = std::max<int64_t>(hi, lo + 1);
  }
  const uint64_t span = hi > lo ? static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) : 1;
  T* out = t.mutableData<T>();
  for (int64_t i = 0; i < t.elementCount(); ++i)
    out[i] = static_cast<T>(static_cast<uint64_t>(lo) + engine() % span);
}

}  // namespace

Tensor RandomTensors::make(DataType type, const Shape& shape) {
  if (!isNumeric(type))
    throw Error(ErrorCode::InvalidArgument,
                "cannot generate random " + std::string(toString(type)) +
                    " data; give this input as a file with -i");
  Tensor t = Tensor::allocate(type, shape);
  const int64_t n = t.elementCount();
  auto sample = [&] {
    return settings_.floats == Distribution::Normal ? normal() : uniform();
  };
  switch (type) {
    case DataType::Float32: {
      float* p = t.mutableData<float>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(sample());
      break;
    }
    case DataType::Float64: {
      double* p = t.mutableData<double>();
      for (int64_t i = 0; i < n; ++i) p[i] = sample();
      break;
    }
    case DataType::Float16:
    case DataType::BFloat16: {
      auto* p = static_cast<uint16_t*>(t.mutableRawData());
      for (int64_t i = 0; i < n; ++i) {
        const auto v = static_cast<float>(sample());
        p[i] = type == DataType::Float16 ? floatToHalf(v) : floatToBfloat16(v);
      }
      break;
    }
    case DataType::Bool: {
      auto* p = static_cast<uint8_t*>(t.mutableRawData());
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(engine_() >> 63);
      break;
    }
    case DataType::Int8: fillInts<int8_t>(t, settings_.intLow, settings_.intHigh, engine_); break;
    case DataType::UInt8: fillInts<uint8_t>(t, settings_.intLow, settings_.intHigh, engine_); break;
    case DataType::Int16: fillInts<int16_t>(t, settings_.intLow, settings_.intHigh, engine_); break;
    case DataType::UInt16: fillInts<uint16_t>(t, settings_.intLow, settings_.intHigh, engine_); break;
    case DataType::Int32: fillInts<int32_t>(t, settings_.intLow, settings_.intHigh, engine_); break;
    case DataType::UInt32: fillInts<uint32_t>(t, settings_.intLow, settings_.intHigh, engine_); break;
    case DataType::Int64: fillInts<int64_t>(t, settings_.intLow, settings_.intHigh, engine_); break;
    case DataType::UInt64: fillInts<uint64_t>(t, settings_.intLow, settings_.intHigh, engine_); break;
    default: break;
  }
  return t;
}

}  // namespace polyinfer::cli
