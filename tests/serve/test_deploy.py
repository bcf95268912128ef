"""The container recipe and the orchestrator manifests (deploy/) point at what
`polyinfer serve` really serves: each container's command line is run as
written (only the repository and port swapped for test ones), then its probe
paths, the metric the autoscaler scales on, and the ports are checked against
the running server.

Usage: python test_deploy.py --polyinfer BIN --models DIR --source SRC
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import yaml

ARGS = None


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def by_kind(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def flag(args, name):
    """Value of `--name V` or `--name=V` in an argument list."""
    for i, a in enumerate(args):
        if a == name:
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    raise AssertionError(f"{name} not in {args}")


def replace_flag(args, name, value):
    out, skip = [], False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == name:
            out += [name, value]
            skip = True
        elif a.startswith(name + "="):
            out.append(f"{name}={value}")
        else:
            out.append(a)
    return out


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def grpc_ready(port):
    """ServerReady over gRPC, with the client tritonclient ships."""
    import tritonclient.grpc as grpcclient
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        return client.is_server_ready()
    finally:
        client.close()


class RunningServer:
    """The container's command line, run here on a test repository and a free port."""

    def __init__(self, command, repository):
        assert command[0] == "polyinfer", command
        command = replace_flag(command, "--model-repository", repository)
        command = replace_flag(command, "--http-port", "0")
        self.grpc = flag(command, "--grpc-port") not in (None, "-1")
        if self.grpc:
            command = replace_flag(command, "--grpc-port", "0")
        self.proc = subprocess.Popen([ARGS.polyinfer, *command[1:], "--host", "127.0.0.1"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = None
        self.grpc_port = None
        lines = []
        for line in self.proc.stdout:
            lines.append(line)
            m = re.search(r"http://[0-9.]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                g = re.search(r" and gRPC [0-9.]+:(\d+)", line)
                self.grpc_port = int(g.group(1)) if g else None
                break
        if self.port is None:
            raise AssertionError("server did not start: " + "".join(lines) + self.proc.stderr.read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


class DeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="polyinfer-deploy-")
        os.makedirs(os.path.join(cls.repo, "mlp", "1"))
        os.symlink(os.path.join(ARGS.models, "mlp", "model.onnx"),
                   os.path.join(cls.repo, "mlp", "1", "model.onnx"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.repo, ignore_errors=True)

    def check_container(self, container, probe_names, grpc_exposed=True):
        """Runs the container's command; checks its port and probes against the server."""
        command = container["command"] + container["args"]
        port = int(flag(command, "--http-port"))
        ports = {p.get("name", str(p["containerPort"])): p["containerPort"] for p in container["ports"]}
        self.assertIn(port, ports.values(), "the server listens on a port the container does not expose")
        grpc_port = flag(command, "--grpc-port")
        self.assertIsNotNone(grpc_port, "the command line leaves the gRPC port to the default; state it")
        if grpc_port != "-1" and grpc_exposed:
            self.assertIn(int(grpc_port), ports.values(), "gRPC listens on a port the container does not expose")
        server = RunningServer(command, self.repo)
        try:
            if grpc_port != "-1":
                self.assertTrue(grpc_ready(server.grpc_port), "gRPC ServerReady")
            for probe in probe_names:
                http = container[probe]["httpGet"]
                probe_port = ports[http["port"]] if isinstance(http["port"], str) else http["port"]
                self.assertEqual(probe_port, port, f"{probe} probes another port")
                status, _ = get(server.port, http["path"])
                self.assertEqual(status, 200, f"{probe} {http['path']}")
            status, metrics = get(server.port, "/metrics")
            self.assertEqual(status, 200)
            return metrics
        finally:
            self.assertEqual(server.stop(), 0)

    def test_kubernetes_manifests(self):
        docs = load_all(os.path.join(ARGS.source, "deploy", "kubernetes", "polyinfer.yaml"))
        deployment = by_kind(docs, "Deployment")
        service = by_kind(docs, "Service")
        hpa = by_kind(docs, "HorizontalPodAutoscaler")
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        metrics = self.check_container(container, ["livenessProbe", "readinessProbe", "startupProbe"])
        self.assertIn("/v2/health/live", container["livenessProbe"]["httpGet"]["path"])
        self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/v2/health/ready")
        # The Service selects the pods and targets the container's port.
        self.assertEqual(service["spec"]["selector"], deployment["spec"]["selector"]["matchLabels"])
        for service_port in service["spec"]["ports"]:
            self.assertIn(service_port["targetPort"],
                          [p.get("name") for p in container["ports"]] + [p["containerPort"] for p in container["ports"]])
        # Prometheus scrapes the port and path the server serves metrics on.
        annotations = pod["metadata"]["annotations"]
        self.assertEqual(int(annotations["prometheus.io/port"]), int(flag(container["command"] + container["args"], "--http-port")))
        self.assertEqual(annotations["prometheus.io/path"], "/metrics")
        # The autoscaler scales the Deployment on a metric the server exports.
        self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"])
        metric = hpa["spec"]["metrics"][0]["pods"]["metric"]["name"]
        self.assertIn(f"# TYPE {metric} ", metrics)

    def test_kserve_manifests(self):
        docs = load_all(os.path.join(ARGS.source, "deploy", "kserve", "polyinfer-runtime.yaml"))
        runtime = by_kind(docs, "ClusterServingRuntime")
        service = by_kind(docs, "InferenceService")
        self.assertIn("v2", runtime["spec"]["protocolVersions"])
        container = runtime["spec"]["containers"][0]
        # KServe sends traffic to 8080 and mounts the downloaded models at /mnt/models.
        command = container["command"] + container["args"]
        self.assertEqual(flag(command, "--http-port"), "8080")
        self.assertEqual(flag(command, "--model-repository"), "/mnt/models")
        # KServe allows one container port (the HTTP one); a gRPC InferenceService names the
        # gRPC port itself (h2c), so it is not among the runtime's ports.
        self.assertIn("grpc-v2", runtime["spec"]["protocolVersions"])
        self.check_container(container, ["livenessProbe", "readinessProbe"], grpc_exposed=False)
        model = service["spec"]["predictor"]["model"]
        self.assertEqual(model["runtime"], runtime["metadata"]["name"])
        self.assertEqual(model["protocolVersion"], "v2")
        formats = [f["name"] for f in runtime["spec"]["supportedModelFormats"]]
        self.assertIn(model["modelFormat"]["name"], formats)

    def test_dockerfile(self):
        with open(os.path.join(ARGS.source, "deploy", "Dockerfile")) as f:
            text = f.read()
        entry = json.loads(re.search(r"^ENTRYPOINT (.*)$", text, re.M).group(1))
        exposed = [int(p) for p in re.search(r"^EXPOSE ([\d ]+)$", text, re.M).group(1).split()]
        self.assertIn(int(flag(entry, "--http-port")), exposed)
        self.assertIn(int(flag(entry, "--grpc-port")), exposed)
        self.assertIn("scripts/setup.sh", text)
        self.assertIn("scripts/build.sh", text)
        # The entrypoint is a valid command line: run it (the image's /models swapped).
        server = RunningServer(entry, self.repo)
        try:
            self.assertEqual(get(server.port, "/v2/health/ready")[0], 200)
            self.assertTrue(grpc_ready(server.grpc_port))
        finally:
            self.assertEqual(server.stop(), 0)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--polyinfer", required=True)
    parser.add_argument("--models", required=True)
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.models = os.path.abspath(ARGS.models)
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
