"""The pytest plugin as a user meets it: a small project (a model repository made here and a test file that
only uses the fixtures) run by pytest in a subprocess, against the real local Triton."""

from __future__ import annotations

import textwrap

pytest_plugins = ["pytester"]

MODEL = """
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        out = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "IN").as_numpy()
            out.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUT", x + 1)]))
        return out
"""
CONFIG = """
name: "add_one"
backend: "python"
max_batch_size: 0
input [ { name: "IN" data_type: TYPE_INT32 dims: [ -1 ] } ]
output [ { name: "OUT" data_type: TYPE_INT32 dims: [ -1 ] } ]
"""
USER_TEST = """
from pyotritonclient.http import InferInput


def test_add_one(triton_client, triton_url):
    assert triton_url.startswith("http://127.0.0.1:")
    x = InferInput("IN", [3], "INT32").set_data_from_list([1, 2, 41])
    assert triton_client.infer("add_one", [x]).as_list("OUT") == [2, 3, 42]
"""


def make_project(pytester, config_text):
    (pytester.path / "models" / "add_one" / "1").mkdir(parents=True)
    (pytester.path / "models" / "add_one" / "1" / "model.py").write_text(textwrap.dedent(MODEL))
    (pytester.path / "models" / "add_one" / "config.pbtxt").write_text(textwrap.dedent(config_text))
    pytester.makeini("[pytest]\ntriton_model_repository = models\n")
    pytester.makepyfile(test_user=USER_TEST)


def test_a_user_project_tests_its_own_model(pytester):
    make_project(pytester, CONFIG)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=1)


def test_a_broken_model_config_fails_with_the_servers_message(pytester):
    make_project(pytester, CONFIG.replace("TYPE_INT32 dims", "TYPE_NOPE dims", 1))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "Triton could not start on" in output
    assert 'Unknown enumeration value of "TYPE_NOPE" for field "data_type"' in output  # the server's own words
