"""The service's policy rules one by one, exactly (no server): the allowlist and its spelling, the size rule, who
is calling. The end-to-end tests (test_service_policy, test_service_isolation, test_hostile) show them at work
behind the RPC functions; these pin each rule's edges, so that `./dev mutate` finds any change to them."""

from __future__ import annotations

import array

import numpy as np
import pytest

from pyotritonclient.errors import InferenceServerException
from pyotritonclient.service.policy import (
    LOCAL_CALLER,
    ServiceConfig,
    ServiceError,
    ServiceTimeout,
    caller_of,
    payload_size,
)


def test_the_defaults_are_each_server_once_normalised_in_order():
    config = ServiceConfig(" b:2 , a:1,b:2/,, ")
    assert config.defaults() == ["http://b:2/", "http://a:1/"]
    assert config.url(None) == "http://b:2/,http://a:1/"
    assert config.url("") == "http://b:2/,http://a:1/"


def test_a_bad_url_in_the_configuration_is_a_service_error_naming_it():
    with pytest.raises(ServiceError, match=r"^bad Triton URL in the service configuration: server url 'ftp://x/'"):
        ServiceConfig("ftp://x/").defaults()
    with pytest.raises(ServiceError, match=r"^bad Triton URL in the service configuration: server url 'gopher://y'"):
        ServiceConfig("a:1", allowed_urls=["gopher://y"]).allowed()


def test_the_allowlist_is_the_defaults_and_the_others_sorted_once_each():
    config = ServiceConfig("z:9,a:1", allowed_urls=["https://m:3/p", "a:1", "http://a:1/"])
    assert config.allowed() == ["http://a:1/", "http://z:9/", "https://m:3/p/"]


def test_callers_see_the_allowlist_without_credentials():
    config = ServiceConfig("http://reader:s3cret@a:1", allowed_urls=["https://u:pw@b:2/"])
    assert config.shown() == ["http://***@a:1/", "https://***@b:2/"]
    assert "s3cret" not in repr(config.shown()) and "pw" not in repr(config.shown())


def test_an_allowed_url_is_returned_in_the_allowlists_spelling():
    config = ServiceConfig("a:1", allowed_urls=["http://b:2/prefix"])
    assert config.url("http://a:1") == "http://a:1/"
    assert config.url("  b:2/prefix/ ") == "http://b:2/prefix/"


def test_a_url_of_another_type_is_refused_by_type():
    config = ServiceConfig("a:1")
    with pytest.raises(ServiceError) as caught:
        config.url(8000)  # type: ignore[arg-type]
    assert caught.value.message() == "server_url must be a string, got int"


def test_an_unparsable_url_is_refused_with_the_reason():
    with pytest.raises(ServiceError) as caught:
        ServiceConfig("a:1").url("ftp://c:3")
    assert caught.value.message() == "server url 'ftp://c:3' is not a valid http(s) URL"


def test_a_url_not_allowed_is_refused_redacted_and_cut_at_200_characters():
    config = ServiceConfig("http://u:topsecret@a:1")
    with pytest.raises(ServiceError) as caught:
        config.url("http://me:pw@c:3")
    assert caught.value.message() == (
        "Triton URL 'http://***@c:3' is not allowed by this service; allowed: ['http://***@a:1/']"
    )
    exact = "http://c:3/" + "x" * 189  # 200 characters: shown whole
    with pytest.raises(ServiceError) as caught:
        config.url(exact)
    assert f"Triton URL {exact!r} is not" in caught.value.message()
    longer = exact + "y"
    with pytest.raises(ServiceError) as caught:
        config.url(longer)
    assert f"Triton URL {exact + '...'!r} is not" in caught.value.message()


def test_the_size_limit_admits_exactly_the_limit_and_names_what_was_over():
    config = ServiceConfig("a:1", max_request_bytes=100)
    config.check_size(b"x" * 100)
    config.check_size(b"x" * 100, what="the step's inputs")
    with pytest.raises(ServiceError) as caught:
        config.check_size(b"x" * 101)
    assert caught.value.message() == "the inputs are 101 bytes, more than this service accepts (100 bytes)"
    with pytest.raises(ServiceError) as caught:
        config.check_size({"a": np.zeros(13, np.float64)}, what="the step's inputs")
    assert caught.value.message() == "the step's inputs are 105 bytes, more than this service accepts (100 bytes)"


def test_the_documented_defaults():
    config = ServiceConfig("a:1")
    assert (config.max_request_bytes, config.timeout, config.sequence_idle_timeout) == (256 * 1024 * 1024, 120.0, 600.0)
    assert (config.max_sequences_per_caller, config.max_sequences, config.liveness_interval) == (64, 1024, 30.0)
    assert config.allowed_urls == ()


def test_the_command_line_and_the_startup_function_take_the_same_defaults():
    """One home for the service's defaults (issue 35): ServiceConfig's; the command line's options and the
    startup function's variables read theirs there."""
    import dataclasses

    from pyotritonclient.service.__main__ import parser_for
    from pyotritonclient.service.startup import config_from_env

    args = parser_for().parse_args(["--hypha-url", "h", "--triton-url", "a:1"])
    started = config_from_env({"PYOTRITON_SERVICE_TRITON_URL": "a:1"})
    plain = ServiceConfig("a:1")
    assert started is not None and list(started.allowed_urls) == []
    assert dataclasses.replace(started, allowed_urls=()) == plain
    assert int(args.max_request_mb * 1024 * 1024) == plain.max_request_bytes
    assert (args.timeout, args.sequence_idle_timeout, args.liveness_interval) == (
        plain.timeout, plain.sequence_idle_timeout, plain.liveness_interval,
    )  # fmt: skip
    import inspect

    from pyotritonclient.service.hypha import serve

    serving = inspect.signature(serve).parameters  # the process's options and the library's serve() agree
    assert (args.check_interval, args.give_up_after, args.grace_period) == tuple(
        serving[name].default for name in ("check_interval", "give_up_after", "grace_period")
    )


def test_service_errors_are_of_the_one_family():
    assert issubclass(ServiceError, InferenceServerException)
    assert issubclass(ServiceTimeout, ServiceError)


def test_the_caller_is_hyphas_sender_or_local_in_process():
    assert LOCAL_CALLER == "local"
    assert caller_of(None) == "local"
    assert caller_of({"from": "ws-user-1/client-7", "to": "x"}) == "ws-user-1/client-7"


@pytest.mark.parametrize("context", [{}, {"from": ""}, {"from": None}, {"from": 7}, {"to": "x"}, ["from", "a"]])
def test_a_context_that_does_not_say_who_sent_the_call_is_refused(context):
    with pytest.raises(ServiceError) as caught:
        caller_of(context)
    assert caught.value.message() == "the call does not say who sent it (no 'from' in its context): refused"


def test_a_call_forwarded_by_another_hypha_process_is_refused_naming_the_sender():
    with pytest.raises(ServiceError) as caught:
        caller_of({"from": "*/manager-abc"})
    assert caught.value.message().startswith(
        "the call was forwarded by another hypha server (*/manager-abc), which does not say who sent it"
    )
    assert caller_of({"from": "ws/*/x"}) == "ws/*/x"  # only the forwarding prefix is refused


class Sized:
    def __init__(self, nbytes):
        self.nbytes = nbytes


@pytest.mark.parametrize(
    "value, size",
    [
        (b"abc", 3),
        (bytearray(5), 5),
        (memoryview(array.array("d", [0.0] * 10)), 80),
        ("é€", 5),  # UTF-8 bytes, not characters
        ("\udcff", 3),  # a lone surrogate is measured, not refused
        ({"ab": b"xyz"}, 5),  # keys count too
        ([b"a", (b"bc", "d")], 4),
        (np.zeros((2, 3), np.float32), 24),
        (np.array([b"abcd", "ef", b""], dtype=object), 6),  # an object array: its items
        (np.array([[b"x"], [b"yz"]], dtype=object), 3),
        (Sized(1234), 1234),
        (Sized(1.5), 8),  # an nbytes that is not an int is not believed
        (Sized(None), 8),
        (17, 8),
        (None, 8),
        (2.5, 8),
    ],
)
def test_payload_size_counts_bytes(value, size):
    assert payload_size(value) == size


def test_payload_size_measures_a_mapping_as_a_container_even_if_it_has_an_nbytes_key():
    assert payload_size({"nbytes": 1}) == 6 + 8


def test_every_tunable_setting_is_an_option_and_a_variable():
    """policy.SETTINGS is the one table: each setting is a command-line option and a startup variable, of its
    field's type, and reaches the ServiceConfig both ways."""
    from pyotritonclient.service.__main__ import parser_for
    from pyotritonclient.service.policy import SETTINGS
    from pyotritonclient.service.startup import PREFIX, config_from_env

    for name in SETTINGS:
        kind = type(ServiceConfig.default(name))
        flag = "--" + name.replace("_", "-")
        args = parser_for().parse_args(["--hypha-url", "h", "--triton-url", "a:1", flag, "7"])
        assert getattr(args, name) == kind(7) and type(getattr(args, name)) is kind, name
        started = config_from_env({PREFIX + "TRITON_URL": "a:1", PREFIX + name.upper(): "7"})
        assert started is not None and getattr(started, name) == kind(7) and type(getattr(started, name)) is kind
