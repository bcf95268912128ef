#!/usr/bin/env python3
"""Writes the seed corpora of the reader fuzz targets (tests/fuzz/corpus/<target>/):
.npy files, onnx.TensorProto messages (encoded here by hand: no numpy or onnx
needed), -s shape specs, option strings and model-probe inputs.
Usage: tests/fuzz/make_corpus.py [CORPUS_DIR]   (default: beside this script)"""
import os
import struct
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data.encode("latin-1") if isinstance(data, str) else data)


# ---------------------------------------------------------------------- npy
def npy(descr, shape, data, major=1):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    prefix = 10 if major == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    length = struct.pack("<H", len(header)) if major == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + length + header.encode() + data


write("npy", "f4_2x3", npy("<f4", (2, 3), struct.pack("<6f", 1, 2, 3, 4, 5, 6)))
write("npy", "i8_big_endian", npy(">i8", (2,), struct.pack(">2q", 258, -1)))
write("npy", "S5_strings", npy("|S5", (3,), b"ab\0\0\0hello\0\0\0\0\0"))
write("npy", "U2_unicode", npy("<U2", (2,), struct.pack("<4I", 0xE9, 0, ord("h"), ord("i"))))
write("npy", "b1_v2", npy("|b1", (1, 3), b"\1\0\1", major=2))
write("npy", "c8_scalar", npy("<c8", (), struct.pack("<2f", 1.5, -2.0)))
write("npy", "f2_big_endian", npy(">f2", (2,), b"\x3c\x00\xc0\x00"))


# -------------------------------------------------------------- TensorProto
def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def key(field, wire):
    return varint(field << 3 | wire)


def vint(field, n):
    return key(field, 0) + varint(n)


def ld(field, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return key(field, 2) + varint(len(payload)) + payload


def tensor(dtype, dims, name="t", body=b""):
    out = b"".join(vint(1, d) for d in dims) + vint(2, dtype)
    return out + body + ld(8, name)


FLOAT, UINT8, INT8, UINT16, INT16, INT32, INT64, STRING, BOOL, FLOAT16, DOUBLE, UINT32, UINT64, \
    COMPLEX64, COMPLEX128, BFLOAT16, FLOAT8E4M3FN = range(1, 18)
INT4 = 22

write("tensor_proto", "raw_float", tensor(FLOAT, [2, 2], "x", ld(9, struct.pack("<4f", 1, -2, 3.5, 0))))
write("tensor_proto", "fp16_int32_data",
      tensor(FLOAT16, [3], "h", ld(5, varint(0x3C00) + varint(0xC000) + varint(0x7BFF))))
write("tensor_proto", "bf16_int32_data", tensor(BFLOAT16, [2], "bf", ld(5, varint(0x3F80) + varint(0xBF80))))
write("tensor_proto", "strings", tensor(STRING, [2], "s", ld(6, "hello") + ld(6, b"\0x")))
write("tensor_proto", "int8_int32_data", tensor(INT8, [3], "b", ld(5, varint(-128) + varint(-1) + varint(127))))
write("tensor_proto", "uint64_data", tensor(UINT32, [2], "u", ld(11, varint(4000000000) + varint(7))))
write("tensor_proto", "double_data", tensor(COMPLEX128, [1], "c", ld(10, struct.pack("<2d", 1.0, -1.0))))
write("tensor_proto", "int64_data", tensor(INT64, [], "l", ld(7, varint(1 << 40))))
write("tensor_proto", "bool_int32_data", tensor(BOOL, [3], "B", ld(5, varint(1) + varint(0) + varint(5))))
write("tensor_proto", "int4_raw", tensor(INT4, [3], "i4", ld(9, b"\x21\x03")))
write("tensor_proto", "float8_int32_data", tensor(FLOAT8E4M3FN, [2], "f8", ld(5, varint(0x38) + varint(0xB8))))
# External data: 8 floats at offset 16 of data.bin, which the fuzz target
# puts beside the .pb (256 bytes).
entry = lambda k, v: ld(13, ld(1, k) + ld(2, v))
write("tensor_proto", "external",
      tensor(FLOAT, [2, 4], "e", entry("location", "data.bin") + entry("offset", "16") +
             entry("length", "32") + vint(14, 1)))
write("tensor_proto", "external_sub", tensor(UINT8, [64], "e", entry("location", "sub/data.bin") + vint(14, 1)))
write("tensor_proto", "segment", tensor(FLOAT, [4], "seg", ld(3, vint(1, 0) + vint(2, 2)) + ld(4, struct.pack("<2f", 1, 2))))

# ------------------------------------------------------------------ -s specs
for i, spec in enumerate(["(1,3,224,224)f,(1)i", "1,3,224,224", "(2,4)f(2,3)l(2,4)B", "()", "(5,)d (3)s",
                          "(99999999999,99999999999)"]):
    write("shape_spec", "spec%d" % i, spec)

# ------------------------------------------------------------------ options
bounds = struct.pack("<qq", 0, 1 << 20)
for i, text in enumerate(["intraOpNumThreads=4,mode=parallel", "a=1, b=abc ,c=-1,d=TRUE,e=parallel",
                          "x=99999999999999999999999", "flag=on,n=0x10"]):
    write("options", "options%d" % i, bounds + text.encode())

# --------------------------------------------------------------- model probe
write("model_probe", "fake", b"00ff\nFAKE model bytes")
write("model_probe", "zip", b"504b0304,08\nPK\x03\x04rest")
write("model_probe", "malformed_magic", b"zz,0,-1, 1,0x\n\x08\x01")
write("model_probe", "long_magic", b"08" * 70 + b"\n" + b"\x08" * 70)
