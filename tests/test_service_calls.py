"""How callers' arguments reach the service functions (pure: no server): positional, keyword, one object."""

from __future__ import annotations

import pytest

from pyotritonclient.service import ServiceConfig, ServiceError, TritonService
from pyotritonclient.service.calls import bind
from pyotritonclient.service.schemas import SCHEMAS

SERVICE = TritonService(ServiceConfig("http://127.0.0.1:9"))


def test_three_calling_styles_bind_the_same():
    expected = {"model_name": "m", "inputs": [1], "server_url": None, "context": None}
    assert bind("execute", SERVICE.execute, ("m", [1]), {}) == {"model_name": "m", "inputs": [1], "context": None}
    assert bind("execute", SERVICE.execute, (), {"model_name": "m", "inputs": [1], "server_url": None}) == expected
    assert (
        bind(
            "execute", SERVICE.execute, ({"model_name": "m", "inputs": [1], "server_url": None, "_rkwargs": True},), {}
        )
        == expected
    )
    # hypha passes the caller's context as a keyword; it is kept apart from the fields
    assert bind("list_sequences", SERVICE.list_sequences, (), {"context": {"from": "ws/a"}}) == {
        "context": {"from": "ws/a"}
    }


def test_a_dict_in_second_place_is_the_inputs_not_options():
    bound = bind("execute", SERVICE.execute, ("m", {"INPUT0": 1}), {}, SCHEMAS["execute"])
    assert bound["inputs"] == {"INPUT0": 1}


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((), {}, "execute(): 'model_name' is required; the fields are model_name, inputs, server_url"),
        (({"inputs": []},), {}, "execute(): 'model_name' is required"),
        (({"model_name": "m"},), {}, "execute(): 'inputs' is required"),
        (
            ({"model_name": "m", "inputs": [], "colour": "red"},),
            {},
            "execute(): unknown field 'colour'; the fields are model_name",
        ),
        (("m", []), {"model_name": "n"}, "execute(): 'model_name' is given twice"),
        (tuple(range(10)), {}, "execute() takes at most 9 arguments"),
    ],
)
def test_bad_calls_name_the_field(args, kwargs, message):
    with pytest.raises(ServiceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bind("execute", SERVICE.execute, args, kwargs, SCHEMAS["execute"])


def test_the_schemas_list_exactly_the_functions_parameters():
    import inspect

    from pyotritonclient.engine.options import rpc_options

    for name, schema in SCHEMAS.items():
        # (context and deadline are the service's to fill in: never a caller's field)
        parameters = [
            p for p in inspect.signature(getattr(SERVICE, name)).parameters if p not in ("context", "deadline")
        ]
        if name == "execute":  # execute's **options are the ExecuteOptions offered to RPC callers
            parameters = [*parameters[: parameters.index("options")], *rpc_options()]
        assert list(schema["parameters"]["properties"]) == parameters, name
        required = [
            p.name
            for p in inspect.signature(getattr(SERVICE, name)).parameters.values()
            if p.default is p.empty and p.kind is not p.VAR_KEYWORD
        ]
        assert schema["parameters"]["required"] == required, name


@pytest.mark.parametrize("name", ["execute", "list_models", "sequence_step"])
async def test_a_caller_cannot_hand_the_service_a_deadline(name):
    """The deadline is the service's (its timeout): a caller's field of that name is refused by name."""
    with pytest.raises(ServiceError, match=r"unknown field 'deadline'"):
        await SERVICE.call(name, kwargs={"deadline": 10**9})


async def test_an_unknown_function_is_refused():
    with pytest.raises(ServiceError, match="no function 'shutdown'"):
        await SERVICE.call("shutdown")


async def test_a_password_in_a_server_url_never_reaches_a_message():
    from pyotritonclient.errors import UnavailableError
    from pyotritonclient.http import InferenceServerClient

    async with InferenceServerClient("http://alice:s3cret@127.0.0.1:9") as client:
        with pytest.raises(UnavailableError, match=r"http://\*\*\*@127\.0\.0\.1:9/") as info:
            await client.is_server_live()
    assert "s3cret" not in str(info.value) and "alice" not in str(info.value)
