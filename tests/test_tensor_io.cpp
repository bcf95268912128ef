// polyinfer::io: .npy and onnx.TensorProto files. Over 500 lines: one file
// per unit under test, every dtype of both formats.
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "polyinfer/tensor_io.hpp"
#include "test_support.hpp"

namespace polyinfer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TensorIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("polyinfer_test_tensor_io_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path path(const std::string& name) const { return dir_ / name; }

  fs::path writeBytes(const std::string& name, const std::string& bytes) const {
    const fs::path file = path(name);
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file;
  }

  /// A .npy file with the given header dict and data, version major.0.
  fs::path writeNpyRaw(const std::string& name, std::string header, const std::string& data,
                       int major = 1) const {
    const std::size_t prefix = major == 1 ? 10 : 12;
    header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += static_cast<char>(major);
    bytes += '\0';
    const std::size_t n = header.size();
    bytes += static_cast<char>(n & 0xFF);
    bytes += static_cast<char>((n >> 8) & 0xFF);
    if (major != 1) bytes += std::string(2, '\0');
    return writeBytes(name, bytes + header + data);
  }

  fs::path writeProto(const std::string& name, const onnx::TensorProto& proto) const {
    std::string bytes;
    EXPECT_TRUE(proto.SerializeToString(&bytes));
    return writeBytes(name, bytes);
  }

  fs::path dir_;
};

template <typename F>
Error captureError(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a polyinfer::Error";
  return Error(ErrorCode::Internal, "no error");
}

/// A tensor of `type` with recognisable bytes 0, 1, 2, ... (bools 0/1).
Tensor patterned(DataType type, Shape shape) {
  Tensor t = Tensor::allocate(type, std::move(shape));
  auto* bytes = static_cast<uint8_t*>(t.mutableRawData());
  for (std::size_t i = 0; i < t.byteSize(); ++i)
    bytes[i] = type == DataType::Bool ? static_cast<uint8_t>(i % 3 == 0) : static_cast<uint8_t>(i * 7 + 1);
  return t;
}

const DataType kNpyTypes[] = {
    DataType::Float32, DataType::Float64, DataType::Float16, DataType::Int8,
    DataType::UInt8,   DataType::Int16,   DataType::UInt16,  DataType::Int32,
    DataType::UInt32,  DataType::Int64,   DataType::UInt64,  DataType::Bool,
    DataType::Complex64, DataType::Complex128};

// ------------------------------------------------------------------- npy

TEST_F(TensorIoTest, NpyRoundTripsEveryNumericDtype) {
  for (DataType type : kNpyTypes) {
    SCOPED_TRACE(std::string(toString(type)));
    const Tensor original = patterned(type, {2, 3});
    const fs::path file = path(std::string(toString(type)) + ".npy");
    io::writeNpy(file, original);
    test::expectIdentical(io::readNpy(file), original, "npy " + std::string(toString(type)));
  }
}

TEST_F(TensorIoTest, NpyWritesBfloat16AsRawUint16) {
  const Tensor original = patterned(DataType::BFloat16, {4});
  io::writeNpy(path("bf16.npy"), original);
  const Tensor back = io::readNpy(path("bf16.npy"));
  EXPECT_EQ(back.dtype(), DataType::UInt16);
  ASSERT_EQ(back.byteSize(), original.byteSize());
  EXPECT_EQ(std::memcmp(back.rawData(), original.rawData(), back.byteSize()), 0);
}

TEST_F(TensorIoTest, NpyHeaderIsNumpyCompatible) {
  io::writeNpy(path("a.npy"), Tensor::fromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
  std::ifstream in(path("a.npy"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t headerLength = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  EXPECT_EQ((10 + headerLength) % 64, 0u);
  EXPECT_EQ(bytes[10 + headerLength - 1], '\n');
  EXPECT_THAT(bytes.substr(10, headerLength),
              HasSubstr("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  EXPECT_EQ(bytes.size(), 10 + headerLength + 6 * sizeof(float));
}

TEST_F(TensorIoTest, NpyScalarAndOneDimensional) {
  io::writeNpy(path("scalar.npy"), Tensor::fromVector<double>({}, {2.5}));
  const Tensor scalar = io::readNpy(path("scalar.npy"));
  EXPECT_EQ(scalar.shape(), Shape{});
  EXPECT_EQ(scalar.toVector<double>(), std::vector<double>{2.5});

  const fs::path five = writeNpyRaw("five.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }",
                                    std::string("\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5\0\0\0", 20));
  const Tensor t = io::readNpy(five);
  EXPECT_EQ(t.shape(), Shape{5});
  EXPECT_EQ(t.toVector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5}));

  const fs::path empty = writeNpyRaw("empty.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", "");
  EXPECT_EQ(io::readNpy(empty).shape(), (Shape{0, 3}));
}

TEST_F(TensorIoTest, NpyReadsBigEndian) {
  // >f4 1.0, -2.0 and >i8 258, -1.
  std::string f4 = std::string("\x3f\x80\x00\x00\xc0\x00\x00\x00", 8);
  const Tensor f = io::readNpy(
      writeNpyRaw("f.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f4));
  EXPECT_EQ(f.toVector<float>(), (std::vector<float>{1.0f, -2.0f}));
  std::string i8 = std::string("\0\0\0\0\0\0\x01\x02", 8) + std::string(8, '\xff');
  const Tensor i = io::readNpy(
      writeNpyRaw("i.npy", "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", i8));
  EXPECT_EQ(i.toVector<int64_t>(), (std::vector<int64_t>{258, -1}));
  // '>f2' 1.0 = 0x3C00.
  const Tensor h = io::readNpy(
      writeNpyRaw("h.npy", "{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }", std::string("\x3c\x00", 2)));
  EXPECT_EQ(h.dtype(), DataType::Float16);
  uint16_t bits = 0;
  std::memcpy(&bits, h.rawData(), 2);
  EXPECT_EQ(bits, 0x3C00);
}

TEST_F(TensorIoTest, NpyReadsVersions2And3AndOldStyleHeaders) {
  const std::string data("\1\2", 2);
  for (int major : {2, 3}) {
    const Tensor t = io::readNpy(writeNpyRaw(
        "v" + std::to_string(major) + ".npy",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", data, major));
    EXPECT_EQ(t.toVector<uint8_t>(), (std::vector<uint8_t>{1, 2}));
  }
  // Key order free, Python 2 longs, no trailing comma, '|b1' bools.
  const Tensor b = io::readNpy(
      writeNpyRaw("old.npy", "{'shape': (1L, 3L), 'fortran_order': False, 'descr': '|b1'}",
                  std::string("\1\0\1", 3)));
  EXPECT_EQ(b.dtype(), DataType::Bool);
  EXPECT_EQ(b.shape(), (Shape{1, 3}));
  EXPECT_EQ(b.toVector<bool>(), (std::vector<bool>{true, false, true}));
}

TEST_F(TensorIoTest, NpyReadsStrings) {
  const Tensor s = io::readNpy(writeNpyRaw(
      "s.npy", "{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }", std::string("ab\0xyz", 6)));
  EXPECT_EQ(s.strings(), (std::vector<std::string>{"ab", "xyz"}));
  // '<U2' is UTF-32: "é" (U+00E9) and "hi".
  const std::string u("\xe9\0\0\0\0\0\0\0h\0\0\0i\0\0\0", 16);
  const Tensor t = io::readNpy(
      writeNpyRaw("u.npy", "{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }", u));
  EXPECT_EQ(t.strings(), (std::vector<std::string>{"\xc3\xa9", "hi"}));
  // Written as fixed-width bytes and read back equal.
  io::writeNpy(path("w.npy"), Tensor::fromStrings({3}, {"a", "", "hello"}));
  EXPECT_EQ(io::readNpy(path("w.npy")).strings(), (std::vector<std::string>{"a", "", "hello"}));
}

TEST_F(TensorIoTest, NpyRefusesFortranOrder) {
  const fs::path file = writeNpyRaw(
      "fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", std::string(16, '\0'));
  const Error e = captureError([&] { io::readNpy(file); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(e.what(), HasSubstr("fortran.npy"));
  EXPECT_THAT(e.what(), HasSubstr("Fortran"));
}

TEST_F(TensorIoTest, NpyRefusesMalformedFiles) {
  struct Case {
    std::string name;
    std::string bytes;  // empty: use header + data
    std::string header;
    std::string data;
    std::string expected;
  };
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const Case cases[] = {
      {"truncated.npy", "", ok, std::string(20, '\0'), "truncated data: expected 24 bytes"},
      {"object.npy", "", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", std::string(16, '\0'), "object"},
      {"structured.npy", "", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0'), "structured"},
      {"badtype.npy", "", "{'descr': '<x4', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0'), "unsupported dtype"},
      {"nokey.npy", "", "{'descr': '<f4', 'shape': (1,), }", std::string(4, '\0'), "fortran_order"},
      {"badshape.npy", "", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", std::string(8, '\0'), "malformed header"},
      {"magic.npy", "PK\3\4 not numpy at all", "", "", "magic"},
      {"short.npy", std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17), "", "", "truncated header"},
      {"version.npy", std::string("\x93NUMPY\x09\x00\x10\x00", 10) + std::string(16, ' '), "", "", "version 9.0"},
      {"empty.npy", std::string(), "", "", "magic"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path file = c.header.empty() ? writeBytes(c.name, c.bytes)
                                           : writeNpyRaw(c.name, c.header, c.data);
    const Error e = captureError([&] { io::readNpy(file); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr(c.name));
    EXPECT_THAT(e.what(), HasSubstr(c.expected));
  }
}

TEST_F(TensorIoTest, NpyRefusesTypesNumpyLacks) {
  const Error e = captureError([&] { io::writeNpy(path("i4.npy"), Tensor::allocate(DataType::Int4, {4})); });
  EXPECT_EQ(e.code(), ErrorCode::Unsupported);
  EXPECT_THAT(e.what(), HasSubstr("int4"));
}

TEST_F(TensorIoTest, NpyRefusesHeadersDeclaringMoreThanTheFileHolds) {
  struct Case {
    std::string name, header, expected;
  };
  const Case cases[] = {
      // 10^18 float32 elements: 4e18 bytes, within 64 bits; the file has 8.
      {"huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }",
       "expected 4000000000000000000 bytes of data for the shape (1000000000, 1000000000) of dtype "
       "'<f4' the header declares, the file holds 8"},
      // 2^62 float64 elements: 2^65 bytes.
      {"bytes.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }",
       "more than 2^64 bytes of data; the file holds 8 bytes"},
      // (10^11)^2 elements: over 2^63.
      {"elements.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
       "more than 2^63 elements; the file holds 8 bytes"},
      // Strings: no item size would let any count pass.
      {"s0.npy", "{'descr': '|S0', 'fortran_order': False, 'shape': (1000000000000,), }",
       "item size 0"},
      {"u0.npy", "{'descr': '<U0', 'fortran_order': False, 'shape': (1000000000000,), }",
       "item size 0"},
      {"strings.npy", "{'descr': '|S1000', 'fortran_order': False, 'shape': (1000000000000,), }",
       "expected 1000000000000000 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path file = writeNpyRaw(c.name, c.header, std::string(8, '\0'));
    EXPECT_LT(fs::file_size(file), 200u);
    const Error e = captureError([&] { io::readNpy(file); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr(c.name));
    EXPECT_THAT(e.what(), HasSubstr(c.expected));
  }
}

// ------------------------------------------------------------- TensorProto

TEST_F(TensorIoTest, ProtoRoundTripsEveryDtype) {
  for (int value = 1; value <= static_cast<int>(DataType::Float8E8M0); ++value) {
    const auto type = static_cast<DataType>(value);
    SCOPED_TRACE(std::string(toString(type)));
    const fs::path file = path(std::string(toString(type)) + ".pb");
    if (type == DataType::String) {
      const Tensor original = Tensor::fromStrings({2, 2}, {"a", "", "hello", std::string("\0b", 2)});
      io::writeTensorProto(file, "words", original);
      const NamedTensor back = io::readTensorProto(file);
      EXPECT_EQ(back.name, "words");
      EXPECT_EQ(back.tensor.shape(), (Shape{2, 2}));
      EXPECT_EQ(back.tensor.strings(), original.strings());
      continue;
    }
    const Tensor original = patterned(type, {3, 5});
    io::writeTensorProto(file, "t_" + std::string(toString(type)), original);
    const NamedTensor back = io::readTensorProto(file);
    EXPECT_EQ(back.name, "t_" + std::string(toString(type)));
    test::expectIdentical(back.tensor, original, "proto " + std::string(toString(type)));

    // Written with raw_data, as the ONNX tools do.
    onnx::TensorProto proto;
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(proto.ParseFromIstream(&in));
    EXPECT_EQ(proto.data_type(), value);
    EXPECT_EQ(proto.raw_data().size(), original.byteSize());
  }
}

TEST_F(TensorIoTest, ProtoScalarAndUnnamed) {
  io::writeTensorProto(path("s.pb"), "", Tensor::fromVector<int64_t>({}, {42}));
  const NamedTensor back = io::readTensorProto(path("s.pb"));
  EXPECT_EQ(back.name, "");
  EXPECT_EQ(back.tensor.shape(), Shape{});
  EXPECT_EQ(back.tensor.toVector<int64_t>(), std::vector<int64_t>{42});
}

TEST_F(TensorIoTest, ProtoReadsTypedFields) {
  auto make = [](int type, std::initializer_list<int64_t> dims) {
    onnx::TensorProto p;
    p.set_name("t");
    p.set_data_type(type);
    for (int64_t d : dims) p.add_dims(d);
    return p;
  };
  {
    auto p = make(onnx::TensorProto::FLOAT, {2});
    p.add_float_data(1.5f);
    p.add_float_data(-2.0f);
    EXPECT_EQ(io::readTensorProto(writeProto("f.pb", p)).tensor.toVector<float>(),
              (std::vector<float>{1.5f, -2.0f}));
  }
  {
    auto p = make(onnx::TensorProto::DOUBLE, {1, 2});
    p.add_double_data(0.25);
    p.add_double_data(1e300);
    const Tensor t = io::readTensorProto(writeProto("d.pb", p)).tensor;
    EXPECT_EQ(t.shape(), (Shape{1, 2}));
    EXPECT_EQ(t.toVector<double>(), (std::vector<double>{0.25, 1e300}));
  }
  {
    auto p = make(onnx::TensorProto::INT64, {3});
    for (int64_t v : {int64_t{-1}, int64_t{0}, int64_t{1} << 40}) p.add_int64_data(v);
    EXPECT_EQ(io::readTensorProto(writeProto("l.pb", p)).tensor.toVector<int64_t>(),
              (std::vector<int64_t>{-1, 0, int64_t{1} << 40}));
  }
  {
    auto p = make(onnx::TensorProto::INT32, {2});
    p.add_int32_data(-7);
    p.add_int32_data(1 << 30);
    EXPECT_EQ(io::readTensorProto(writeProto("i.pb", p)).tensor.toVector<int32_t>(),
              (std::vector<int32_t>{-7, 1 << 30}));
  }
  {
    auto p = make(onnx::TensorProto::INT8, {3});
    for (int v : {-128, -1, 127}) p.add_int32_data(v);
    EXPECT_EQ(io::readTensorProto(writeProto("b.pb", p)).tensor.toVector<int8_t>(),
              (std::vector<int8_t>{-128, -1, 127}));
  }
  {
    auto p = make(onnx::TensorProto::UINT8, {2});
    p.add_int32_data(0);
    p.add_int32_data(255);
    EXPECT_EQ(io::readTensorProto(writeProto("u.pb", p)).tensor.toVector<uint8_t>(),
              (std::vector<uint8_t>{0, 255}));
  }
  {
    auto p = make(onnx::TensorProto::INT16, {2});
    p.add_int32_data(-32768);
    p.add_int32_data(12345);
    EXPECT_EQ(io::readTensorProto(writeProto("s16.pb", p)).tensor.toVector<int16_t>(),
              (std::vector<int16_t>{-32768, 12345}));
  }
  {
    auto p = make(onnx::TensorProto::UINT16, {1});
    p.add_int32_data(65535);
    EXPECT_EQ(io::readTensorProto(writeProto("u16.pb", p)).tensor.toVector<uint16_t>(),
              (std::vector<uint16_t>{65535}));
  }
  {
    auto p = make(onnx::TensorProto::BOOL, {3});
    for (int v : {1, 0, 1}) p.add_int32_data(v);
    EXPECT_EQ(io::readTensorProto(writeProto("bool.pb", p)).tensor.toVector<bool>(),
              (std::vector<bool>{true, false, true}));
  }
  for (int type : {int{onnx::TensorProto::FLOAT16}, int{onnx::TensorProto::BFLOAT16}}) {
    auto p = make(type, {2});
    p.add_int32_data(0x3C00);  // float16 1.0; as bfloat16 just bits
    p.add_int32_data(0xC000);
    const Tensor t = io::readTensorProto(writeProto("h" + std::to_string(type) + ".pb", p)).tensor;
    EXPECT_EQ(static_cast<int>(t.dtype()), type);
    uint16_t bits[2];
    std::memcpy(bits, t.rawData(), sizeof bits);
    EXPECT_EQ(bits[0], 0x3C00);
    EXPECT_EQ(bits[1], 0xC000);
  }
  {
    auto p = make(onnx::TensorProto::UINT32, {2});
    p.add_uint64_data(4000000000u);
    p.add_uint64_data(7);
    EXPECT_EQ(io::readTensorProto(writeProto("u32.pb", p)).tensor.toVector<uint32_t>(),
              (std::vector<uint32_t>{4000000000u, 7}));
  }
  {
    auto p = make(onnx::TensorProto::UINT64, {1});
    p.add_uint64_data(~uint64_t{0});
    EXPECT_EQ(io::readTensorProto(writeProto("u64.pb", p)).tensor.toVector<uint64_t>(),
              (std::vector<uint64_t>{~uint64_t{0}}));
  }
  {
    auto p = make(onnx::TensorProto::COMPLEX64, {1});
    p.add_float_data(1.0f);
    p.add_float_data(-1.0f);
    const Tensor t = io::readTensorProto(writeProto("c.pb", p)).tensor;
    float values[2];
    std::memcpy(values, t.rawData(), sizeof values);
    EXPECT_EQ(values[0], 1.0f);
    EXPECT_EQ(values[1], -1.0f);
  }
  {
    auto p = make(onnx::TensorProto::STRING, {2});
    p.add_string_data("x");
    p.add_string_data("yz");
    const NamedTensor t = io::readTensorProto(writeProto("str.pb", p));
    EXPECT_EQ(t.name, "t");
    EXPECT_EQ(t.tensor.strings(), (std::vector<std::string>{"x", "yz"}));
  }
}

TEST_F(TensorIoTest, ProtoRefusesBrokenTensors) {
  onnx::TensorProto wrongCount;
  wrongCount.set_data_type(onnx::TensorProto::FLOAT);
  wrongCount.add_dims(3);
  wrongCount.add_float_data(1.0f);
  onnx::TensorProto wrongRaw;
  wrongRaw.set_data_type(onnx::TensorProto::INT64);
  wrongRaw.add_dims(2);
  wrongRaw.set_raw_data(std::string(15, '\0'));
  onnx::TensorProto wrongField;
  wrongField.set_data_type(onnx::TensorProto::FLOAT);
  wrongField.add_dims(1);
  wrongField.add_int64_data(1);
  onnx::TensorProto undefinedType;
  undefinedType.add_dims(1);
  onnx::TensorProto unknownType;
  unknownType.set_data_type(999);
  struct Case {
    std::string name;
    const onnx::TensorProto* proto;  // nullptr: `bytes`
    std::string bytes;
    std::string expected;
  };
  const Case cases[] = {
      {"count.pb", &wrongCount, "", "float_data has 1 entries, expected 3"},
      {"raw.pb", &wrongRaw, "", "raw_data has 15 bytes, expected 16"},
      {"field.pb", &wrongField, "", "int64_data"},
      {"undefined.pb", &undefinedType, "", "UNDEFINED"},
      {"unknown.pb", &unknownType, "", "unknown data_type 999"},
      {"garbage.pb", nullptr, "\xff\xff\xff\xff garbage \x01\x02", "protobuf parse failed"},
      {"empty.pb", nullptr, "", "empty file"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path file = c.proto ? writeProto(c.name, *c.proto) : writeBytes(c.name, c.bytes);
    const Error e = captureError([&] { io::readTensorProto(file); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr(c.name));
    EXPECT_THAT(e.what(), HasSubstr(c.expected));
  }
}

/// A TensorProto of `type` and `dims` whose data is external: `entries` are
/// external_data's key/value pairs.
onnx::TensorProto externalProto(int type, std::initializer_list<int64_t> dims,
                                std::initializer_list<std::pair<std::string, std::string>> entries) {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(type);
  for (int64_t d : dims) p.add_dims(d);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  for (const auto& [key, value] : entries) {
    auto* entry = p.add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  }
  return p;
}

std::string floatBytes(std::initializer_list<float> values) {
  std::string bytes;
  for (float v : values) {
    uint32_t bits = std::bit_cast<uint32_t>(v);
    for (int k = 0; k < 4; ++k) bytes += static_cast<char>((bits >> (8 * k)) & 0xFF);  // little-endian
  }
  return bytes;
}

TEST_F(TensorIoTest, ProtoReadsExternalDataBesideTheFile) {
  // Offset and length into a shared file, as ONNX's save_external_data writes.
  writeBytes("weights.bin", std::string(16, 'x') + floatBytes({1, 2, 3, 4, 5, 6}) + "tail");
  const Tensor t = io::readTensorProto(writeProto(
      "ext.pb", externalProto(onnx::TensorProto::FLOAT, {2, 3},
                              {{"location", "weights.bin"}, {"offset", "16"}, {"length", "24"},
                               {"checksum", "ignored"}}))).tensor;
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.toVector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));

  // No offset or length: the whole file; a subdirectory beside the .pb is fine.
  fs::create_directories(path("data"));
  writeBytes("data/b.bin", std::string("\0\1\2", 3));
  const NamedTensor b = io::readTensorProto(
      writeProto("b.pb", externalProto(onnx::TensorProto::BOOL, {3}, {{"location", "data/b.bin"}})));
  EXPECT_EQ(b.name, "w");
  EXPECT_EQ(b.tensor.toVector<bool>(), (std::vector<bool>{false, true, true}));

  // Zero bytes at the end of the file.
  writeBytes("empty.bin", "abc");
  const Tensor empty = io::readTensorProto(writeProto(
      "empty.pb", externalProto(onnx::TensorProto::FLOAT, {0, 4},
                                {{"location", "empty.bin"}, {"offset", "3"}, {"length", "0"}}))).tensor;
  EXPECT_EQ(empty.shape(), (Shape{0, 4}));
}

TEST_F(TensorIoTest, ProtoRefusesExternalDataOutsideItsDirectoryOrFile) {
  writeBytes("w.bin", floatBytes({1, 2, 3, 4}));  // 16 bytes
  // A file outside the .pb's directory, and a symbolic link to it beside the .pb.
  const fs::path outside = dir_.parent_path() / (dir_.filename().string() + "_outside.bin");
  {
    std::ofstream out(outside, std::ios::binary);
    out << std::string(16, 'o');
  }
  std::error_code ec;
  fs::create_symlink(outside, path("link.bin"), ec);
  const bool haveLink = !ec;
  struct Case {
    std::string name;
    onnx::TensorProto proto;
    ErrorCode code;
    std::vector<std::string> expected;
  };
  const int kFloat = onnx::TensorProto::FLOAT;
  std::vector<Case> cases = {
      {"dotdot.pb", externalProto(kFloat, {4}, {{"location", "../x.bin"}}), ErrorCode::InvalidArgument,
       {"external data location '../x.bin'", "'..'"}},
      {"inner_dotdot.pb", externalProto(kFloat, {4}, {{"location", "a/../../w.bin"}}),
       ErrorCode::InvalidArgument, {"'a/../../w.bin'", "'..'"}},
      {"absolute.pb", externalProto(kFloat, {4}, {{"location", outside.string()}}),
       ErrorCode::InvalidArgument, {outside.string(), "absolute path"}},
      {"past_end.pb", externalProto(kFloat, {4}, {{"location", "w.bin"}, {"offset", "8"}, {"length", "16"}}),
       ErrorCode::InvalidArgument, {"'w.bin'", "offset 8 + length 16 is past the end", "holds 16 bytes"}},
      {"offset_past_end.pb", externalProto(kFloat, {4}, {{"location", "w.bin"}, {"offset", "17"}}),
       ErrorCode::InvalidArgument, {"offset 17 is past the end", "holds 16 bytes"}},
      {"huge_length.pb",
       externalProto(kFloat, {4}, {{"location", "w.bin"}, {"length", "18446744073709551615"}}),
       ErrorCode::InvalidArgument, {"length 18446744073709551615 is past the end"}},
      {"short.pb", externalProto(kFloat, {5}, {{"location", "w.bin"}}), ErrorCode::InvalidArgument,
       {"16 bytes at offset 0", "expected 20 for float32[5]"}},
      {"huge_dims.pb", externalProto(kFloat, {1000000000, 1000000000}, {{"location", "w.bin"}}),
       ErrorCode::InvalidArgument, {"16 bytes at offset 0", "expected 4000000000000000000"}},
      {"bad_offset.pb", externalProto(kFloat, {4}, {{"location", "w.bin"}, {"offset", "-4"}}),
       ErrorCode::InvalidArgument, {"\"offset\" '-4': expected a non-negative integer"}},
      {"no_location.pb", externalProto(kFloat, {4}, {{"offset", "0"}}), ErrorCode::InvalidArgument,
       {"no \"location\""}},
      {"missing.pb", externalProto(kFloat, {4}, {{"location", "nowhere.bin"}}), ErrorCode::NotFound,
       {"'nowhere.bin'", "no such file"}},
      {"directory.pb", externalProto(kFloat, {4}, {{"location", "."}}), ErrorCode::InvalidArgument,
       {"not a regular file"}},
      {"string.pb", externalProto(onnx::TensorProto::STRING, {1}, {{"location", "w.bin"}}),
       ErrorCode::InvalidArgument, {"string tensor cannot have external data"}},
  };
  if (haveLink)
    cases.push_back({"link.pb", externalProto(kFloat, {4}, {{"location", "link.bin"}}),
                     ErrorCode::InvalidArgument, {"'link.bin'", "outside the directory"}});
  {
    onnx::TensorProto both = externalProto(kFloat, {4}, {{"location", "w.bin"}});
    both.set_raw_data(floatBytes({1, 2, 3, 4}));
    cases.push_back({"both.pb", both, ErrorCode::InvalidArgument,
                     {"cannot have raw_data when its data is external"}});
    onnx::TensorProto notExternal = externalProto(kFloat, {4}, {{"location", "w.bin"}});
    notExternal.set_data_location(onnx::TensorProto::DEFAULT);
    cases.push_back({"default.pb", notExternal, ErrorCode::InvalidArgument,
                     {"external_data is set but data_location is DEFAULT"}});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Error e = captureError([&] { io::readTensorProto(writeProto(c.name, c.proto)); });
    EXPECT_EQ(e.code(), c.code) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(c.name));
    EXPECT_THAT(e.what(), HasSubstr("tensor 'w'"));
    for (const std::string& text : c.expected) EXPECT_THAT(e.what(), HasSubstr(text));
  }
  fs::remove(outside, ec);
}

TEST_F(TensorIoTest, ProtoRefusesSegments) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(4);
  p.mutable_segment()->set_begin(2);
  p.mutable_segment()->set_end(4);
  p.add_float_data(1);
  p.add_float_data(2);
  const Error e = captureError([&] { io::readTensorProto(writeProto("segment.pb", p)); });
  EXPECT_EQ(e.code(), ErrorCode::Unsupported);
  EXPECT_THAT(e.what(), HasSubstr("segment.pb"));
  EXPECT_THAT(e.what(), HasSubstr("'segment' (begin 2, end 4)"));
}

TEST_F(TensorIoTest, ProtoChecksDimsAgainstTheDataBeforeAllocating) {
  auto make = [](int type, std::initializer_list<int64_t> dims) {
    onnx::TensorProto p;
    p.set_data_type(type);
    for (int64_t d : dims) p.add_dims(d);
    return p;
  };
  onnx::TensorProto raw = make(onnx::TensorProto::FLOAT, {1000000000, 1000000000});
  raw.set_raw_data(std::string(8, '\0'));
  onnx::TensorProto typed = make(onnx::TensorProto::FLOAT, {1000000000, 1000000000});
  typed.add_float_data(1);
  onnx::TensorProto complex = make(onnx::TensorProto::COMPLEX128, {int64_t{1} << 61});
  complex.add_double_data(1);
  onnx::TensorProto elements = make(onnx::TensorProto::UINT8, {int64_t{1} << 40, int64_t{1} << 40});
  elements.add_int32_data(1);
  onnx::TensorProto strings = make(onnx::TensorProto::STRING, {1000000000, 1000000000});
  strings.add_string_data("x");
  onnx::TensorProto emptyRaw = make(onnx::TensorProto::INT32, {2});
  emptyRaw.set_raw_data("");
  onnx::TensorProto negative = make(onnx::TensorProto::FLOAT, {2, -1});
  struct Case {
    std::string name;
    const onnx::TensorProto* proto;
    std::string expected;
  };
  const Case cases[] = {
      {"raw.pb", &raw, "raw_data has 8 bytes, expected 4000000000000000000 for float32[1000000000,1000000000]"},
      {"typed.pb", &typed, "float_data has 1 entries, expected 1000000000000000000"},
      {"complex.pb", &complex, "declare more than 2^64 bytes of data"},
      {"elements.pb", &elements, "declare more than 2^63 elements"},
      {"strings.pb", &strings, "string_data has 1 entries, expected 1000000000000000000"},
      {"empty_raw.pb", &emptyRaw, "raw_data has 0 bytes, expected 8 for int32[2]"},
      {"negative.pb", &negative, "negative dimension"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Error e = captureError([&] { io::readTensorProto(writeProto(c.name, *c.proto)); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr(c.name));
    EXPECT_THAT(e.what(), HasSubstr(c.expected));
  }
}

TEST_F(TensorIoTest, ProtoTypedFieldsRoundTripThroughRawData) {
  auto roundTrip = [&](const std::string& name, const onnx::TensorProto& proto) {
    const NamedTensor first = io::readTensorProto(writeProto(name + ".pb", proto));
    io::writeTensorProto(path(name + "_raw.pb"), first.name, first.tensor);
    onnx::TensorProto written;
    std::ifstream in(path(name + "_raw.pb"), std::ios::binary);
    EXPECT_TRUE(written.ParseFromIstream(&in));
    EXPECT_EQ(written.int32_data_size(), 0);
    EXPECT_TRUE(written.has_raw_data() || written.string_data_size() > 0);
    const NamedTensor second = io::readTensorProto(path(name + "_raw.pb"));
    EXPECT_EQ(second.name, first.name);
    test::expectIdentical(second.tensor, first.tensor, name);
    return first.tensor;
  };
  auto make = [](int type, std::initializer_list<int64_t> dims) {
    onnx::TensorProto p;
    p.set_name("t");
    p.set_data_type(type);
    for (int64_t d : dims) p.add_dims(d);
    return p;
  };
  {
    // float16 in int32_data: one element per entry, its low 16 bits (a
    // writer that sign-extends 0xFC00, -inf, gives -1024).
    auto p = make(onnx::TensorProto::FLOAT16, {2, 2});
    for (int v : {0x3C00, 0xC000, -1024, 0x7BFF}) p.add_int32_data(v);
    const Tensor t = roundTrip("fp16", p);
    uint16_t bits[4];
    std::memcpy(bits, t.rawData(), sizeof bits);
    EXPECT_EQ(bits[0], 0x3C00);
    EXPECT_EQ(bits[1], 0xC000);
    EXPECT_EQ(bits[2], 0xFC00);
    EXPECT_EQ(bits[3], 0x7BFF);
  }
  {
    auto p = make(onnx::TensorProto::BFLOAT16, {3});
    for (int v : {0x3F80, 0xBF80, 0x7F80}) p.add_int32_data(v);  // 1, -1, inf
    const Tensor t = roundTrip("bf16", p);
    EXPECT_EQ(t.dtype(), DataType::BFloat16);
    uint16_t bits[3];
    std::memcpy(bits, t.rawData(), sizeof bits);
    EXPECT_EQ(bits[0], 0x3F80);
    EXPECT_EQ(bits[1], 0xBF80);
    EXPECT_EQ(bits[2], 0x7F80);
  }
  {
    // float8 (e4m3fn): one element per entry, the low 8 bits.
    auto p = make(static_cast<int>(DataType::Float8E4M3FN), {2});
    p.add_int32_data(0x38);
    p.add_int32_data(0xB8);
    const Tensor t = roundTrip("f8", p);
    EXPECT_EQ(t.dtype(), DataType::Float8E4M3FN);
    EXPECT_EQ(static_cast<const uint8_t*>(t.rawData())[0], 0x38);
    EXPECT_EQ(static_cast<const uint8_t*>(t.rawData())[1], 0xB8);
  }
  {
    // int4: two elements per packed byte, one byte per int32_data entry.
    auto p = make(static_cast<int>(DataType::Int4), {3});
    p.add_int32_data(0x21);
    p.add_int32_data(0x03);
    const Tensor t = roundTrip("i4", p);
    EXPECT_EQ(t.byteSize(), 2u);
    EXPECT_EQ(static_cast<const uint8_t*>(t.rawData())[0], 0x21);
  }
  {
    auto p = make(onnx::TensorProto::STRING, {3});
    for (const std::string& s : {std::string("x"), std::string(), std::string("a\0b", 3)})
      p.add_string_data(s);
    const Tensor t = roundTrip("strings", p);
    EXPECT_EQ(t.strings(), (std::vector<std::string>{"x", "", std::string("a\0b", 3)}));
  }
  {
    auto p = make(onnx::TensorProto::COMPLEX128, {1});
    p.add_double_data(0.5);
    p.add_double_data(-0.25);
    const Tensor t = roundTrip("c128", p);
    double values[2];
    std::memcpy(values, t.rawData(), sizeof values);
    EXPECT_EQ(values[0], 0.5);
    EXPECT_EQ(values[1], -0.25);
  }
  {
    // raw_data bools are normalised to 0/1, as int32_data's are.
    auto p = make(onnx::TensorProto::BOOL, {3});
    p.set_raw_data(std::string("\0\2\1", 3));
    EXPECT_EQ(roundTrip("bool", p).toVector<bool>(), (std::vector<bool>{false, true, true}));
  }
}

// ----------------------------------------------------------- files, layout

TEST_F(TensorIoTest, MissingFilesAreNotFound) {
  for (auto read : {+[](const fs::path& f) { io::readNpy(f); },
                    +[](const fs::path& f) { io::readTensorProto(f); },
                    +[](const fs::path& f) { io::readTensorFile(f); }}) {
    for (const char* name : {"missing.npy", "missing.pb"}) {
      const Error e = captureError([&] { read(path(name)); });
      EXPECT_EQ(e.code(), ErrorCode::NotFound);
      EXPECT_THAT(e.what(), HasSubstr(name));
    }
  }
}

TEST_F(TensorIoTest, ReadTensorFileDispatchesOnExtension) {
  const Tensor t = Tensor::fromVector<float>({2}, {1, 2});
  io::writeNpy(path("a.npy"), t);
  io::writeTensorProto(path("a.pb"), "x", t);
  EXPECT_EQ(io::readTensorFile(path("a.npy")).name, "");
  test::expectIdentical(io::readTensorFile(path("a.npy")).tensor, t, "npy");
  EXPECT_EQ(io::readTensorFile(path("a.pb")).name, "x");
  test::expectIdentical(io::readTensorFile(path("a.pb")).tensor, t, "pb");

  writeBytes("a.txt", "1 2");
  Error e = captureError([&] { io::readTensorFile(path("a.txt")); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(e.what(), HasSubstr("unknown extension '.txt'"));
  e = captureError([&] { io::readTensorFile(dir_); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
}

TEST_F(TensorIoTest, WriteIntoMissingDirectoryFails) {
  const Error e = captureError(
      [&] { io::writeNpy(path("no/such/dir/a.npy"), Tensor::fromVector<float>({1}, {1})); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(e.what(), HasSubstr("a.npy"));
}

TEST_F(TensorIoTest, TestLayoutFilesInNumericOrder) {
  EXPECT_TRUE(io::testLayoutFiles(path("nowhere"), "input").empty());
  EXPECT_TRUE(io::testLayoutFiles(dir_, "input").empty());
  for (int k = 0; k < 12; ++k) writeBytes("input_" + std::to_string(k) + ".pb", "");
  writeBytes("output_0.pb", "");
  writeBytes("input_x.pb", "");
  writeBytes("input_3.npy", "");
  const auto files = io::testLayoutFiles(dir_, "input");
  ASSERT_EQ(files.size(), 12u);
  for (int k = 0; k < 12; ++k) EXPECT_EQ(files[k].filename(), "input_" + std::to_string(k) + ".pb");
  EXPECT_EQ(io::testLayoutFiles(dir_, "output").size(), 1u);

  fs::remove(path("input_5.pb"));
  const Error e = captureError([&] { io::testLayoutFiles(dir_, "input"); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(e.what(), HasSubstr("input_5.pb"));
}

// The generator's .npy files (written by numpy) equal its .pb files (written by onnx).
TEST_F(TensorIoTest, GeneratedNpyMatchesGeneratedProto) {
  const fs::path modelDir = test::modelsDir() / "multi_io";
  if (!fs::exists(modelDir / "test_data_set_0")) GTEST_SKIP() << "no generated models in " << test::modelsDir();
  const auto inputs = io::testLayoutFiles(modelDir / "test_data_set_0", "input");
  const auto outputs = io::testLayoutFiles(modelDir / "test_data_set_0", "output");
  ASSERT_EQ(inputs.size(), 3u);
  ASSERT_EQ(outputs.size(), 2u);
  std::vector<fs::path> all = inputs;
  all.insert(all.end(), outputs.begin(), outputs.end());
  for (const fs::path& file : all) {
    const NamedTensor pb = io::readTensorProto(file);
    ASSERT_FALSE(pb.name.empty()) << file;
    const fs::path npy = modelDir / "npy" / (pb.name + ".npy");
    ASSERT_TRUE(fs::exists(npy)) << npy;
    test::expectIdentical(io::readNpy(npy), pb.tensor, pb.name);
  }
}

}  // namespace
}  // namespace polyinfer
