"""`polyinfer serve`'s gRPC front end (inference.GRPCInferenceService) driven by
Triton's own Python client, tritonclient.grpc, and by the raw generated stubs it
ships (for what the client never sends: typed contents, malformed requests):
health, metadata, inference on every dtype of the test models, versions, output
subsets, dynamic batching, the repository API, errors with their status codes,
back-pressure, deadlines, cancellation, metrics shared with HTTP, and a graceful
SIGTERM under gRPC load.

Usage: python test_tritonclient_grpc.py --polyinfer BIN --models DIR
"""

import argparse
import concurrent.futures
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

import grpc
import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

import test_tritonclient as common
from test_tritonclient import Server, make_repository, npy, raw, serving

DTYPES = {np.float32: "FP32", np.int64: "INT64", np.bool_: "BOOL"}


def infer_input(name, array):
    t = grpcclient.InferInput(name, list(array.shape), DTYPES[array.dtype.type])
    t.set_data_from_numpy(array)
    return t


def metric(server, name, model, version="1", extra=""):
    status, _, body = raw(server, "GET", "/metrics")
    assert status == 200
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + "{") and f'model="{model}"' in line and \
                f'version="{version}"' in line and extra in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class GrpcServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="polyinfer-grpc-")
        make_repository(common.ARGS.models, cls.tmp)
        cls.server = Server(cls.tmp, ["--max-request-bytes", "1000000"])
        assert cls.server.grpc_port, "no gRPC port in the start-up summary: " + "".join(cls.server.summary)
        cls.client = grpcclient.InferenceServerClient(cls.server.grpc_url)
        cls.channel = grpc.insecure_channel(cls.server.grpc_url)
        cls.stub = service_pb2_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.channel.close()
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0, f"server exit status {code}: {''.join(cls.server.stderr_lines)[-2000:]}"

    def assert_grpc_error(self, call, code, text):
        with self.assertRaises(grpc.RpcError) as ctx:
            call()
        self.assertEqual(ctx.exception.code(), code, ctx.exception.details())
        self.assertIn(text, ctx.exception.details())
        # The server is still up and the next request is fine.
        self.assertTrue(self.client.is_server_live())
        result = self.client.infer("mlp", [infer_input("x", npy("mlp", "x"))])
        np.testing.assert_allclose(result.as_numpy("y"), npy("mlp", "y"), rtol=1e-5, atol=1e-6)

    # ------------------------------------------------------------ health and metadata

    def test_health(self):
        self.assertTrue(self.client.is_server_live())
        self.assertTrue(self.client.is_server_ready())
        self.assertTrue(self.client.is_model_ready("mlp"))
        self.assertTrue(self.client.is_model_ready("versioned", "3"))
        self.assertFalse(self.client.is_model_ready("versioned", "2"))  # not served by its policy
        self.assertFalse(self.client.is_model_ready("no_such_model"))

    def test_server_metadata(self):
        meta = self.client.get_server_metadata()
        self.assertEqual(meta.name, "polyinfer")
        self.assertIn("binary_tensor_data", meta.extensions)

    def test_model_metadata_matches_http(self):
        meta = self.client.get_model_metadata("multi_io")
        self.assertEqual(meta.name, "multi_io")
        self.assertEqual(meta.platform, "onnxruntime")
        inputs = {t.name: (t.datatype, list(t.shape)) for t in meta.inputs}
        self.assertEqual(inputs, {"x": ("FP32", [2, 4]), "idx": ("INT64", [2, 3]), "mask": ("BOOL", [2, 4])})
        outputs = {t.name: (t.datatype, list(t.shape)) for t in meta.outputs}
        self.assertEqual(outputs, {"scores": ("FP32", [2, 4]), "count": ("INT64", [2])})
        self.assertEqual(list(self.client.get_model_metadata("versioned").versions), ["1", "3"])
        self.assertEqual(list(self.client.get_model_metadata("versioned", "3").versions), ["3"])

    def test_unknown_model_and_version_are_not_found(self):
        for name, version, text in (("nope", "", "unknown model 'nope'"),
                                    ("versioned", "2", "no served version '2'")):
            with self.assertRaises(InferenceServerException) as ctx:
                self.client.get_model_metadata(name, version)
            self.assertEqual(ctx.exception.status(), "StatusCode.NOT_FOUND")
            self.assertIn(text, ctx.exception.message())
            with self.assertRaises(InferenceServerException) as ctx:
                self.client.infer(name, [infer_input("x", npy("mlp", "x"))], model_version=version)
            self.assertEqual(ctx.exception.status(), "StatusCode.NOT_FOUND")

    def test_unimplemented_methods_say_so(self):
        with self.assertRaises(InferenceServerException) as ctx:
            self.client.get_model_config("mlp")
        self.assertEqual(ctx.exception.status(), "StatusCode.UNIMPLEMENTED")

    # ------------------------------------------------------------ inference

    def test_mlp_matches_reference(self):
        result = self.client.infer("mlp", [infer_input("x", npy("mlp", "x"))], request_id="r-7")
        np.testing.assert_allclose(result.as_numpy("y"), npy("mlp", "y"), rtol=1e-5, atol=1e-6)
        response = result.get_response()
        self.assertEqual(response.id, "r-7")
        self.assertEqual(response.model_name, "mlp")
        self.assertEqual(response.model_version, "1")

    def test_every_dtype_of_multi_io(self):
        arrays = {n: npy("multi_io", n) for n in ("x", "idx", "mask")}
        result = self.client.infer("multi_io", [infer_input(n, a) for n, a in arrays.items()])
        np.testing.assert_allclose(result.as_numpy("scores"), npy("multi_io", "scores"), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(result.as_numpy("count"), npy("multi_io", "count"))

    def test_typed_contents_equal_raw_contents(self):
        arrays = {n: npy("multi_io", n) for n in ("x", "idx", "mask")}
        request = service_pb2.ModelInferRequest(model_name="multi_io")
        for name, array in arrays.items():
            tensor = request.inputs.add(name=name, datatype=DTYPES[array.dtype.type], shape=array.shape)
            field = {"FP32": "fp32_contents", "INT64": "int64_contents", "BOOL": "bool_contents"}[tensor.datatype]
            getattr(tensor.contents, field).extend(array.flatten().tolist())
        response = self.stub.ModelInfer(request, timeout=30)
        by_name = {o.name: (o, raw_bytes) for o, raw_bytes in zip(response.outputs, response.raw_output_contents)}
        scores = np.frombuffer(by_name["scores"][1], dtype=np.float32).reshape(list(by_name["scores"][0].shape))
        np.testing.assert_allclose(scores, npy("multi_io", "scores"), rtol=1e-5, atol=1e-6)
        count = np.frombuffer(by_name["count"][1], dtype=np.int64)
        np.testing.assert_array_equal(count, npy("multi_io", "count"))

    def test_requested_output_subset(self):
        arrays = {n: npy("multi_io", n) for n in ("x", "idx", "mask")}
        result = self.client.infer("multi_io", [infer_input(n, a) for n, a in arrays.items()],
                                   outputs=[grpcclient.InferRequestedOutput("count")])
        self.assertEqual([o.name for o in result.get_response().outputs], ["count"])
        np.testing.assert_array_equal(result.as_numpy("count"), npy("multi_io", "count"))

    def test_versions(self):
        x, y = npy("mlp", "x"), npy("mlp", "y")
        for version in ("", "1", "3"):
            result = self.client.infer("versioned", [infer_input("x", x)], model_version=version)
            self.assertEqual(result.get_response().model_version, version or "3")
            np.testing.assert_allclose(result.as_numpy("y"), y, rtol=1e-5, atol=1e-6)

    def test_dynamic_batching_concatenates_concurrent_requests(self):
        x = npy("dynamic_batch", "x")  # [3,3,8,8]
        expected = npy("dynamic_batch", "y")
        executions = metric(self.server, "nv_inference_exec_count", "dynamic_batch")
        done = []
        lock = threading.Condition()

        def callback(result, error):
            with lock:
                done.append((result, error))
                lock.notify_all()

        for i in range(12):
            self.client.async_infer("dynamic_batch", [infer_input("x", x[i % 3:i % 3 + 1])], callback,
                                    request_id=str(i))
        with lock:
            lock.wait_for(lambda: len(done) == 12, timeout=60)
        self.assertEqual(len(done), 12)
        for result, error in done:
            self.assertIsNone(error)
            i = int(result.get_response().id)
            np.testing.assert_allclose(result.as_numpy("y"), expected[i % 3:i % 3 + 1], rtol=1e-4, atol=1e-5)
        self.assertLess(metric(self.server, "nv_inference_exec_count", "dynamic_batch") - executions, 12)

    def test_http_and_grpc_count_in_the_same_metrics(self):
        before = metric(self.server, "nv_inference_request_success", "mlp")
        self.client.infer("mlp", [infer_input("x", npy("mlp", "x"))])
        self.assertEqual(metric(self.server, "nv_inference_request_success", "mlp"), before + 1)

    # ------------------------------------------------------------ bad requests

    def request(self, model="mlp", shape=(1, 16), datatype="FP32", name="x", data=None):
        r = service_pb2.ModelInferRequest(model_name=model)
        r.inputs.add(name=name, datatype=datatype, shape=shape)
        r.raw_input_contents.append(data if data is not None else np.zeros(shape, np.float32).tobytes())
        return r

    def test_bad_requests_are_invalid_argument(self):
        INVALID = grpc.StatusCode.INVALID_ARGUMENT
        cases = [
            (self.request(datatype="INT64", data=np.zeros((1, 16), np.int64).tobytes()),
             INVALID, "input 'x': expected float32"),
            (self.request(shape=(1, 15), data=np.zeros((1, 15), np.float32).tobytes()),
             INVALID, "[1,15]"),
            (self.request(name="z"), INVALID, "'z'"),
            (self.request(datatype="FLOAT"), INVALID, "unknown datatype 'FLOAT'"),
            (self.request(data=b"\0" * 60), INVALID, "binary_data_size is 60, FP32 [1,16] needs 64"),
        ]
        two_raw = self.request()
        two_raw.raw_input_contents.append(b"")
        cases.append((two_raw, INVALID, "raw_input_contents has 2 entries, the request has 1 inputs"))
        wrong_field = service_pb2.ModelInferRequest(model_name="mlp")
        wrong_field.inputs.add(name="x", datatype="FP32", shape=[1, 16]).contents.int64_contents.extend([0] * 16)
        cases.append((wrong_field, INVALID, "FP32 takes its elements in fp32_contents, got int64_contents"))
        short = service_pb2.ModelInferRequest(model_name="mlp")
        short.inputs.add(name="x", datatype="FP32", shape=[1, 16]).contents.fp32_contents.extend([0] * 5)
        cases.append((short, INVALID, "fp32_contents has 5 elements, shape [1,16] needs 16"))
        subset = self.request()
        subset.outputs.add(name="nope")
        cases.append((subset, INVALID, "unknown output 'nope'; the model's outputs: 'y'"))
        for request, code, text in cases:
            with self.subTest(text=text):
                self.assert_grpc_error(lambda: self.stub.ModelInfer(request, timeout=30), code, text)

    def test_message_beyond_the_limit_is_refused(self):
        big = np.zeros((1, 300000), np.float32)  # 1.2 MB > --max-request-bytes 1000000
        self.assert_grpc_error(
            lambda: self.stub.ModelInfer(self.request(shape=big.shape, data=big.tobytes()), timeout=30),
            grpc.StatusCode.RESOURCE_EXHAUSTED, "")

    def test_full_queue_is_unavailable(self):
        x = npy("dynamic_batch", "x")[:1]
        rejected = 'reason="REJECTED"'
        before = metric(self.server, "nv_inference_request_failure", "slow_queue", extra=rejected)

        def one(_):
            try:
                self.client.infer("slow_queue", [infer_input("x", x)])
                return "ok"
            except InferenceServerException as e:
                return (e.status(), e.message())

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(one, range(8)))
        self.assertIn("ok", outcomes)
        refused = [o for o in outcomes if o != "ok"]
        self.assertTrue(refused, outcomes)
        for status, message in refused:
            self.assertEqual(status, "StatusCode.UNAVAILABLE")
            self.assertIn("queue full", message)
        self.assertEqual(metric(self.server, "nv_inference_request_failure", "slow_queue", extra=rejected),
                         before + len(refused))

    def test_deadline_in_the_queue(self):
        x = npy("dynamic_batch", "x")[:1]
        start = time.time()
        with self.assertRaises(InferenceServerException) as ctx:
            # The "timeout" parameter (µs), as the HTTP test: the batch waits 300 ms.
            self.client.infer("slow_queue", [infer_input("x", x)], timeout=1000)
        self.assertEqual(ctx.exception.status(), "StatusCode.DEADLINE_EXCEEDED")
        self.assertIn("timed out", ctx.exception.message())
        self.assertLess(time.time() - start, 0.25, "answered only when the batch ran")

    def test_cancelled_call_is_withdrawn_from_the_queue(self):
        x = npy("dynamic_batch", "x")[:1]
        canceled = 'reason="CANCELED"'
        before = metric(self.server, "nv_inference_request_failure", "slow_queue", extra=canceled)
        executions = metric(self.server, "nv_inference_exec_count", "slow_queue")
        future = self.stub.ModelInfer.future(self.request(model="slow_queue", shape=x.shape, data=x.tobytes()),
                                             timeout=30)
        time.sleep(0.05)  # queued: its batch waits 300 ms for company
        future.cancel()
        deadline = time.time() + 0.25
        while time.time() < deadline and \
                metric(self.server, "nv_inference_request_failure", "slow_queue", extra=canceled) == before:
            time.sleep(0.01)
        self.assertEqual(metric(self.server, "nv_inference_request_failure", "slow_queue", extra=canceled),
                         before + 1)
        time.sleep(0.4)  # past the batch delay: the withdrawn request never ran
        self.assertEqual(metric(self.server, "nv_inference_exec_count", "slow_queue"), executions)
        self.assertEqual(metric(self.server, "nv_inference_pending_request_count", "slow_queue"), 0)

    def test_many_threads_many_requests(self):
        x, y = npy("mlp", "x"), npy("mlp", "y")

        def work(_):
            client = grpcclient.InferenceServerClient(self.server.grpc_url)
            try:
                for _ in range(25):
                    # "versioned" is the mlp with the default queue limit ("mlp" allows 4).
                    result = client.infer("versioned", [infer_input("x", x)])
                    np.testing.assert_allclose(result.as_numpy("y"), y,
                                               rtol=1e-5, atol=1e-6)
            finally:
                client.close()
            return True

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            self.assertTrue(all(pool.map(work, range(8))))


class GrpcRepositoryTest(unittest.TestCase):
    def test_index_load_unload(self):
        with serving(["--model-control-mode", "explicit", "--load-model", "mlp"], with_control=True) as server:
            client = grpcclient.InferenceServerClient(server.grpc_url)
            try:
                index = {m.name: m for m in client.get_model_repository_index().models}
                self.assertEqual(index["mlp"].state, "READY")
                self.assertEqual(index["spare"].state, "UNAVAILABLE")
                client.load_model("spare")
                self.assertTrue(client.is_model_ready("spare"))
                result = client.infer("spare", [infer_input("x", npy("mlp", "x"))])
                np.testing.assert_allclose(result.as_numpy("y"), npy("mlp", "y"), rtol=1e-5, atol=1e-6)
                client.unload_model("spare")
                self.assertFalse(client.is_model_ready("spare"))
                with self.assertRaises(InferenceServerException) as ctx:
                    client.load_model("not_there")
                self.assertEqual(ctx.exception.status(), "StatusCode.NOT_FOUND")
                with self.assertRaises(InferenceServerException) as ctx:
                    client.unload_model("spare")
                self.assertEqual(ctx.exception.status(), "StatusCode.NOT_FOUND")
            finally:
                client.close()

    def test_load_refused_without_explicit_mode(self):
        with serving() as server:
            client = grpcclient.InferenceServerClient(server.grpc_url)
            try:
                with self.assertRaises(InferenceServerException) as ctx:
                    client.load_model("mlp")
                self.assertEqual(ctx.exception.status(), "StatusCode.FAILED_PRECONDITION")
                self.assertIn("--model-control-mode explicit", ctx.exception.message())
            finally:
                client.close()


class GrpcShutdownTest(unittest.TestCase):
    def test_sigterm_answers_every_accepted_call(self):
        tmp = tempfile.mkdtemp(prefix="polyinfer-grpc-term-")
        try:
            make_repository(common.ARGS.models, tmp)
            server = Server(tmp)
            x = npy("dynamic_batch", "x")[:1]
            outcomes = []
            lock = threading.Lock()
            stop = threading.Event()

            def client_loop():
                client = grpcclient.InferenceServerClient(server.grpc_url)
                try:
                    while not stop.is_set():
                        try:
                            client.infer("dynamic_batch", [infer_input("x", x)], client_timeout=20)
                            outcome = "ok"
                        except InferenceServerException as e:
                            outcome = e.status()
                        with lock:
                            outcomes.append(outcome)
                finally:
                    client.close()

            threads = [threading.Thread(target=client_loop) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(1.0)
            code = server.stop()
            stop.set()
            for t in threads:
                t.join(timeout=60)
            self.assertEqual(code, 0, "".join(server.stderr_lines)[-2000:])
            self.assertIn("ok", outcomes)
            # Every call the server accepted and ran was answered: its access log's successes
            # are the client's. After the stop, calls are refused: UNAVAILABLE from the
            # server, or CANCELLED by gRPC for calls that arrived as it shut down and that no
            # handler ever took.
            served = sum(1 for line in server.stderr_lines
                         if line.startswith("access protocol=grpc") and " status=200 " in line)
            self.assertEqual(served, outcomes.count("ok"))
            for outcome in outcomes:
                self.assertIn(outcome, ("ok", "StatusCode.UNAVAILABLE", "StatusCode.CANCELLED"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--polyinfer", required=True)
    parser.add_argument("--models", required=True)
    args, rest = parser.parse_known_args()
    common.ARGS = args
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
