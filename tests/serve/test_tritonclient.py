"""`polyinfer serve` driven by Triton's own Python client (tritonclient.http), as
an existing KServe v2 user's code would: health, metadata, inference with JSON
and binary tensors for every dtype the test models have, dynamic batching,
versions, the repository API, errors, metrics, and a graceful SIGTERM.

Usage: python test_tritonclient.py --polyinfer BIN --models DIR
(DIR: the generated test models, tools/gen_models.py's output.)
"""

import argparse
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import urllib.error

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ARGS = None


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


def make_repository(models, root, with_control=False):
    """A model repository of symlinks to the generated ONNX models."""
    def add(name, source, versions=(1,), config=None):
        for v in versions:
            d = os.path.join(root, name, str(v))
            os.makedirs(d)
            os.symlink(os.path.join(models, source, "model.onnx"), os.path.join(d, "model.onnx"))
        if config is not None:
            write_json(os.path.join(root, name, "config.json"), config)

    add("dynamic_batch", "dynamic_batch",
        config={"engine": "onnxruntime", "max_batch_size": 8,
                "dynamic_batching": {"max_queue_delay_microseconds": 20000},
                "instance_count": 1})
    add("mlp", "mlp", config={"engine": "onnxruntime", "max_queue_size": 4})
    add("multi_io", "multi_io")
    add("versioned", "mlp", versions=(1, 2, 3), config={"version_policy": {"specific": {"versions": [1, 3]}}})
    # Requests wait up to 300 ms for a batch to fill, and only 2 may wait.
    add("slow_queue", "dynamic_batch",
        config={"engine": "onnxruntime", "max_batch_size": 64, "max_queue_size": 2,
                "dynamic_batching": {"max_queue_delay_microseconds": 300000}})
    if with_control:
        add("spare", "mlp")


class Server:
    """`polyinfer serve` on a free loopback port."""

    def __init__(self, repository, extra=()):
        cmd = [ARGS.polyinfer, "serve", "--model-repository", repository, "--host", "127.0.0.1",
               "--http-port", "0", "--grpc-port", "0", "--log-level", "debug", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.summary = []
        deadline = time.time() + 120
        self.port = None
        self.grpc_port = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.summary.append(line)
            if "serving KServe v2 on http://" in line:
                self.port = int(line.split("http://")[1].split()[0].rsplit(":", 1)[1])
                if " and gRPC " in line:
                    self.grpc_port = int(line.split(" and gRPC ")[1].split()[0].rsplit(":", 1)[1])
            if self.port and line.startswith("threads:"):
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("server did not start: " + "".join(self.summary) + self.proc.stderr.read())
        # Keep draining stdout/stderr so the server never blocks on a full pipe.
        self.stderr_lines = []
        threading.Thread(target=self._drain, args=(self.proc.stdout, self.summary), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr_lines), daemon=True).start()
        self.url = f"127.0.0.1:{self.port}"
        self.grpc_url = f"127.0.0.1:{self.grpc_port}"

    @staticmethod
    def _drain(stream, sink):
        for line in stream:
            sink.append(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self):
        code = self.proc.wait(timeout=60)
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except Exception:  # the drain thread may be reading it
                pass
        return code


@contextlib.contextmanager
def serving(extra=(), with_control=False):
    """`polyinfer serve` on a fresh test repository for a with-block; it must exit 0 at the end."""
    tmp = tempfile.mkdtemp(prefix="polyinfer-serve-")
    try:
        make_repository(ARGS.models, tmp, with_control)
        server = Server(tmp, extra)
        try:
            yield server
        finally:
            code = server.stop()
            assert code == 0, f"server exit status {code}: {''.join(server.stderr_lines)[-2000:]}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def raw(server, method, path, body=None, headers=None):
    """(status, headers, body) of one plain HTTP request."""
    req = urllib.request.Request(f"http://{server.url}{path}", data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def npy(model, name):
    return np.load(os.path.join(ARGS.models, model, "npy", name + ".npy"))


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="polyinfer-serve-")
        make_repository(ARGS.models, cls.tmp)
        cls.server = Server(cls.tmp)
        cls.client = httpclient.InferenceServerClient(cls.server.url, concurrency=8)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0, f"server exit status {code}: {''.join(cls.server.stderr_lines)[-2000:]}"

    # ------------------------------------------------------------ health, metadata

    def test_health(self):
        self.assertTrue(self.client.is_server_live())
        self.assertTrue(self.client.is_server_ready())
        self.assertTrue(self.client.is_model_ready("mlp"))
        self.assertTrue(self.client.is_model_ready("versioned", "3"))
        self.assertFalse(self.client.is_model_ready("versioned", "2"))
        self.assertFalse(self.client.is_model_ready("no_such_model"))

    def test_server_metadata(self):
        meta = self.client.get_server_metadata()
        self.assertEqual(meta["name"], "polyinfer")
        self.assertIn("binary_tensor_data", meta["extensions"])

    def test_model_metadata(self):
        meta = self.client.get_model_metadata("multi_io")
        self.assertEqual(meta["name"], "multi_io")
        self.assertEqual(meta["versions"], ["1"])
        inputs = {i["name"]: (i["datatype"], i["shape"]) for i in meta["inputs"]}
        self.assertEqual(inputs, {"x": ("FP32", [2, 4]), "idx": ("INT64", [2, 3]), "mask": ("BOOL", [2, 4])})
        outputs = {o["name"]: (o["datatype"], o["shape"]) for o in meta["outputs"]}
        self.assertEqual(outputs, {"scores": ("FP32", [2, 4]), "count": ("INT64", [2])})
        dyn = self.client.get_model_metadata("dynamic_batch")
        self.assertEqual(dyn["inputs"][0]["shape"], [-1, 3, 8, 8])
        self.assertEqual(self.client.get_model_metadata("versioned")["versions"], ["1", "3"])
        self.assertEqual(self.client.get_model_metadata("versioned", "1")["versions"], ["1"])

    def test_unknown_model_and_version_are_404(self):
        status, _, body = raw(self.server, "GET", "/v2/models/nope")
        self.assertEqual(status, 404)
        self.assertIn("unknown model 'nope'", json.loads(body)["error"])
        status, _, body = raw(self.server, "GET", "/v2/models/versioned/versions/2")
        self.assertEqual(status, 404)
        self.assertIn("no served version '2'", json.loads(body)["error"])
        with self.assertRaises(InferenceServerException) as ctx:
            self.client.get_model_metadata("nope")
        self.assertIn("unknown model", str(ctx.exception))

    # ------------------------------------------------------------ inference

    def infer(self, model, arrays, binary, outputs=None, version="", request_id=""):
        inputs = []
        for name, array in arrays.items():
            dtype = "BOOL" if array.dtype == np.bool_ else {
                np.float32: "FP32", np.int64: "INT64"}[array.dtype.type]
            t = httpclient.InferInput(name, list(array.shape), dtype)
            t.set_data_from_numpy(array, binary_data=binary)
            inputs.append(t)
        requested = None
        if outputs is not None:
            requested = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in outputs]
        return self.client.infer(model, inputs, model_version=version, outputs=requested,
                                 request_id=request_id)

    def test_mlp_json_and_binary_match_reference(self):
        x, y = npy("mlp", "x"), npy("mlp", "y")
        for binary in (False, True):
            with self.subTest(binary=binary):
                result = self.infer("mlp", {"x": x}, binary, outputs=["y"], request_id="r-42")
                np.testing.assert_allclose(result.as_numpy("y"), y, rtol=1e-5, atol=1e-6)
                response = result.get_response()
                self.assertEqual(response["id"], "r-42")
                self.assertEqual(response["model_name"], "mlp")
                self.assertEqual(response["model_version"], "1")

    def test_every_dtype_of_multi_io(self):
        arrays = {n: npy("multi_io", n) for n in ("x", "idx", "mask")}
        for binary in (False, True):
            with self.subTest(binary=binary):
                result = self.infer("multi_io", arrays, binary)
                np.testing.assert_allclose(result.as_numpy("scores"), npy("multi_io", "scores"),
                                           rtol=1e-5, atol=1e-6)
                np.testing.assert_array_equal(result.as_numpy("count"), npy("multi_io", "count"))
                self.assertEqual(result.as_numpy("count").dtype, np.int64)

    def test_requested_output_subset(self):
        arrays = {n: npy("multi_io", n) for n in ("x", "idx", "mask")}
        result = self.infer("multi_io", arrays, True, outputs=["count"])
        self.assertIsNone(result.as_numpy("scores"))
        np.testing.assert_array_equal(result.as_numpy("count"), npy("multi_io", "count"))

    def test_versions(self):
        x, y = npy("mlp", "x"), npy("mlp", "y")
        for version in ("1", "3", ""):
            result = self.infer("versioned", {"x": x}, True, version=version)
            np.testing.assert_allclose(result.as_numpy("y"), y, rtol=1e-5, atol=1e-6)
            self.assertEqual(result.get_response()["model_version"], version or "3")

    def test_dynamic_batching_concatenates_concurrent_requests(self):
        x = npy("dynamic_batch", "x")  # [3,3,8,8]
        expected = npy("dynamic_batch", "y")
        before = self.metric("nv_inference_exec_count", "dynamic_batch")
        rows = [x[i:i + 1] for i in range(3)] * 4  # 12 single-row requests at once
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            futures = [pool.submit(self.infer_row, r) for r in rows]
            results = [f.result() for f in futures]
        for i, out in enumerate(results):
            np.testing.assert_allclose(out, expected[i % 3:i % 3 + 1], rtol=1e-4, atol=1e-5)
        executions = self.metric("nv_inference_exec_count", "dynamic_batch") - before
        self.assertLess(executions, 12, "12 concurrent requests ran in 12 executions: no batching")
        # A request of several rows comes back with its own rows.
        result = self.infer("dynamic_batch", {"x": x}, True)
        np.testing.assert_allclose(result.as_numpy("y"), expected, rtol=1e-4, atol=1e-5)

    def infer_row(self, row):
        client = httpclient.InferenceServerClient(self.server.url)
        try:
            t = httpclient.InferInput("x", list(row.shape), "FP32")
            t.set_data_from_numpy(row, binary_data=True)
            return client.infer("dynamic_batch", [t]).as_numpy("y")
        finally:
            client.close()

    def test_model_config_reports_effective_threads(self):
        status, _, body = raw(self.server, "GET", "/v2/models/dynamic_batch/config")
        self.assertEqual(status, 200)
        config = json.loads(body)
        self.assertTrue(config["batching"])
        self.assertEqual(config["max_batch_size"], 8)
        self.assertGreaterEqual(config["intra_op_threads"], 1)
        self.assertEqual(config["engine"], "onnxruntime")
        keys = {e["key"] for e in config["engine_config"]}
        self.assertTrue(keys, "no engine configuration reported")
        unbatched = json.loads(raw(self.server, "GET", "/v2/models/mlp/config")[2])
        self.assertFalse(unbatched["batching"])

    # ------------------------------------------------------------ errors

    def post_infer(self, model, body, headers=None):
        status, hdrs, data = raw(self.server, "POST", f"/v2/models/{model}/infer",
                                 body=body if isinstance(body, bytes) else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
        return status, hdrs, data

    def assert_bad(self, status, data, fragment, expected_status=400):
        self.assertEqual(status, expected_status, data)
        message = json.loads(data)["error"]
        self.assertIn(fragment, message)
        return message

    def test_bad_requests_get_400_and_the_server_stays_up(self):
        good = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 16}]}
        cases = [
            (b"{not json", "JSON"),
            ({"inputs": [{"name": "x", "datatype": "INT32", "shape": [1, 16], "data": [1] * 16}]}, "x"),
            ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 15], "data": [0.5] * 15}]}, "x"),
            ({"inputs": [{"name": "wrong", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 16}]}, "wrong"),
            ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 15}]}, "16"),
            ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 16}],
              "outputs": [{"name": "nope"}]}, "nope"),
            ({"inputs": [{"name": "x", "datatype": "NOPE", "shape": [1, 16], "data": [0.5] * 16}]}, "NOPE"),
        ]
        for body, fragment in cases:
            with self.subTest(body=str(body)[:80]):
                status, _, data = self.post_infer("mlp", body)
                self.assert_bad(status, data, fragment)
                status, _, data = self.post_infer("mlp", good)
                self.assertEqual(status, 200, data)

    def test_binary_sizes_that_lie(self):
        header = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16],
                                         "parameters": {"binary_data_size": 64}}]}).encode()
        for extra, what in ((b"\0" * 60, "short"), (b"\0" * 70, "long")):
            with self.subTest(what=what):
                status, _, data = self.post_infer(
                    "mlp", header + extra, {"Inference-Header-Content-Length": str(len(header))})
                self.assertEqual(status, 400, data)
        status, _, data = self.post_infer("mlp", header + b"\0" * 64,
                                          {"Inference-Header-Content-Length": str(len(header) + 999)})
        self.assertEqual(status, 400, data)

    def test_body_beyond_the_limit_is_413(self):
        # The server runs with the default limit, 64 MiB: claim more without sending it.
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        try:
            s.sendall(b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 99999999999\r\n\r\n")
            reply = s.recv(4096).decode(errors="replace")
        finally:
            s.close()
        self.assertTrue(reply.startswith("HTTP/1.1 413"), reply)
        self.assertIn("99999999999", reply)

    def test_unknown_endpoint_and_method(self):
        self.assertEqual(raw(self.server, "GET", "/v3/nothing")[0], 404)
        self.assertEqual(raw(self.server, "GET", "/v2/models/mlp/infer")[0], 405)

    def test_full_queue_is_503_with_retry_after(self):
        x = npy("dynamic_batch", "x")[:1]
        body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": list(x.shape),
                                       "data": x.flatten().tolist()}]}).encode()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda _: self.post_infer("slow_queue", body), range(8)))
        statuses = sorted(r[0] for r in replies)
        self.assertIn(503, statuses, statuses)
        self.assertIn(200, statuses, statuses)
        for status, headers, data in replies:
            if status == 503:
                self.assertEqual(headers.get("Retry-After"), "1")
                self.assertIn("queue full", json.loads(data)["error"])
            else:
                self.assertEqual(status, 200, data)
        self.assertGreater(self.metric("nv_inference_request_failure", "slow_queue", extra='reason="REJECTED"'), 0)

    def test_request_timeout_in_the_queue(self):
        x = npy("dynamic_batch", "x")[:1]
        t = httpclient.InferInput("x", list(x.shape), "FP32")
        t.set_data_from_numpy(x)
        start = time.time()
        with self.assertRaises(InferenceServerException) as ctx:
            self.client.infer("slow_queue", [t], timeout=1000)  # 1 ms; the batch waits 300 ms
        self.assertIn("timed out", str(ctx.exception))
        self.assertLess(time.time() - start, 0.25, "answered only when the batch ran")

    def test_client_that_disconnects_is_withdrawn_from_the_queue(self):
        x = npy("dynamic_batch", "x")[:1]
        body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": list(x.shape),
                                       "data": x.flatten().tolist()}]}).encode()
        canceled = 'reason="CANCELED"'
        before = self.metric("nv_inference_request_failure", "slow_queue", extra=canceled)
        executions = self.metric("nv_inference_exec_count", "slow_queue")
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        s.sendall(b"POST /v2/models/slow_queue/infer HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\n\r\n" + body)
        time.sleep(0.05)  # queued: its batch waits 300 ms for company
        s.close()
        deadline = time.time() + 0.2
        while time.time() < deadline and \
                self.metric("nv_inference_request_failure", "slow_queue", extra=canceled) == before:
            time.sleep(0.01)
        self.assertEqual(self.metric("nv_inference_request_failure", "slow_queue", extra=canceled), before + 1)
        time.sleep(0.4)  # past the batch delay: the withdrawn request never ran
        self.assertEqual(self.metric("nv_inference_exec_count", "slow_queue"), executions)
        self.assertEqual(self.metric("nv_inference_pending_request_count", "slow_queue"), 0)

    # ------------------------------------------------------------ metrics

    def metric(self, name, model, version="1", extra=""):
        status, _, body = raw(self.server, "GET", "/metrics")
        self.assertEqual(status, 200)
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith(name + "{") and f'model="{model}"' in line and f'version="{version}"' in line \
                    and extra in line:
                total += float(line.rsplit(" ", 1)[1])
        return total

    def test_metrics_count_requests(self):
        before = self.metric("nv_inference_request_success", "mlp")
        failures = self.metric("nv_inference_request_failure", "mlp")
        self.infer("mlp", {"x": npy("mlp", "x")}, True)
        self.post_infer("mlp", b"{broken")
        self.assertEqual(self.metric("nv_inference_request_success", "mlp"), before + 1)
        self.assertEqual(self.metric("nv_inference_request_failure", "mlp"), failures + 1)
        status, headers, body = raw(self.server, "GET", "/metrics")
        text = body.decode()
        for family in ("nv_inference_count", "nv_inference_exec_count", "nv_inference_queue_duration_us",
                       "nv_inference_compute_infer_duration_us", "nv_inference_pending_request_count"):
            self.assertIn(f"# TYPE {family} ", text)


class RepositoryControlTest(unittest.TestCase):
    def test_load_unload_index(self):
        with serving(["--model-control-mode", "explicit", "--load-model", "mlp"], with_control=True) as server:
            client = httpclient.InferenceServerClient(server.url)
            try:
                index = {m["name"]: m for m in client.get_model_repository_index()}
                self.assertEqual(index["mlp"]["state"], "READY")
                self.assertEqual(index["spare"]["state"], "UNAVAILABLE")
                self.assertFalse(client.is_model_ready("spare"))
                client.load_model("spare")
                self.assertTrue(client.is_model_ready("spare"))
                t = httpclient.InferInput("x", [1, 16], "FP32")
                t.set_data_from_numpy(npy("mlp", "x"))
                np.testing.assert_allclose(client.infer("spare", [t]).as_numpy("y"), npy("mlp", "y"),
                                           rtol=1e-5, atol=1e-6)
                client.unload_model("spare")
                self.assertFalse(client.is_model_ready("spare"))
                # Its series stay (requests in flight may still count), and a reload counts on.
                self.assertIn('model="spare"', raw(server, "GET", "/metrics")[2].decode())
                client.load_model("spare")
                np.testing.assert_allclose(client.infer("spare", [t]).as_numpy("y"), npy("mlp", "y"),
                                           rtol=1e-5, atol=1e-6)
                success = [l for l in raw(server, "GET", "/metrics")[2].decode().splitlines()
                           if l.startswith("nv_inference_request_success{") and 'model="spare"' in l]
                self.assertEqual(success[0].rsplit(" ", 1)[1], "2")
                client.unload_model("spare")
                with self.assertRaises(InferenceServerException):
                    client.load_model("not_there")
            finally:
                client.close()

    def test_load_refused_without_explicit_mode(self):
        with serving() as server:
            client = httpclient.InferenceServerClient(server.url)
            try:
                with self.assertRaises(InferenceServerException) as ctx:
                    client.load_model("mlp")
                self.assertIn("--model-control-mode explicit", str(ctx.exception))
            finally:
                client.close()


class LimitsTest(unittest.TestCase):
    """Each abuse gets a clear answer (or a closed connection), and the server stays up."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="polyinfer-serve-limits-")
        make_repository(ARGS.models, cls.tmp)
        cls.server = Server(cls.tmp, ["--max-connections", "2", "--idle-timeout", "1",
                                      "--max-request-bytes", "4096"])

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0, f"server exit status {code}"

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.server.port), timeout=10)

    def assert_still_serving(self):
        time.sleep(0.05)  # let closed connections leave the count
        status, _, _ = raw(self.server, "GET", "/v2/health/ready")
        self.assertEqual(status, 200)

    def test_header_too_long_is_431(self):
        s = self.connect()
        try:
            s.sendall(b"GET /v2 HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 40000)
            self.assertTrue(s.recv(200).startswith(b"HTTP/1.1 431"))
        finally:
            s.close()
        self.assert_still_serving()

    def test_header_that_never_ends_is_closed_at_the_idle_timeout(self):
        s = self.connect()
        try:
            s.sendall(b"GET /v2 HTTP/1.1\r\nHost: x\r\n")
            start = time.time()
            self.assertEqual(s.recv(100), b"")  # closed by the server
            self.assertLess(time.time() - start, 5)
        finally:
            s.close()
        self.assert_still_serving()

    def test_body_over_the_limit_is_413(self):
        status, _, data = raw(self.server, "POST", "/v2/models/mlp/infer", body=b"x" * 5000)
        self.assertEqual(status, 413)
        self.assertIn("4096", json.loads(data)["error"])
        self.assert_still_serving()

    def test_too_many_connections_get_503(self):
        conns = [self.connect() for _ in range(3)]
        try:
            time.sleep(0.05)
            replies = []
            for c in conns:
                c.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                replies.append(c.recv(4096).decode(errors="replace"))
            refused = [r for r in replies if r.startswith("HTTP/1.1 503")]
            self.assertEqual(len(refused), 1, replies)
            self.assertIn("too many connections", refused[0])
            self.assertIn("Connection: close", refused[0])
        finally:
            for c in conns:
                c.close()
        self.assert_still_serving()


class ShutdownTest(unittest.TestCase):
    def test_sigterm_answers_every_accepted_request(self):
        tmp = tempfile.mkdtemp(prefix="polyinfer-serve-term-")
        try:
            make_repository(ARGS.models, tmp)
            server = Server(tmp)
            x = npy("dynamic_batch", "x")
            results, errors = [], []

            def one():
                client = httpclient.InferenceServerClient(server.url)
                try:
                    t = httpclient.InferInput("x", list(x.shape), "FP32")
                    t.set_data_from_numpy(x)
                    results.append(client.infer("dynamic_batch", [t]).as_numpy("y"))
                except Exception as e:  # connection refused after the stop: fine, never accepted
                    errors.append(e)
                finally:
                    client.close()

            threads = [threading.Thread(target=one) for _ in range(16)]
            for t in threads:
                t.start()
            time.sleep(0.05)
            server.proc.send_signal(signal.SIGTERM)
            for t in threads:
                t.join()
            self.assertEqual(server.wait(), 0)
            for out in results:
                np.testing.assert_allclose(out, npy("dynamic_batch", "y"), rtol=1e-4, atol=1e-5)
            for e in errors:  # only refusals, never a dropped accepted request
                self.assertNotIn("Connection reset", str(e))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--polyinfer", required=True)
    parser.add_argument("--models", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.models = os.path.abspath(ARGS.models)
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
