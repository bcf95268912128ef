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

TEST_F(TensorIoTest, ProtoExternalDataIsUnsupported) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(4);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* location = p.add_external_data();
  location->set_key("location");
  location->set_value("weights.bin");
  const Error e = captureError([&] { io::readTensorProto(writeProto("ext.pb", p)); });
  EXPECT_EQ(e.code(), ErrorCode::Unsupported);
  EXPECT_THAT(e.what(), HasSubstr("external"));
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
