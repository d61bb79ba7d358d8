"""One inference request as a value: ``infer``'s arguments encoded once into a body (bad ones refused before
anything is sent) with what it takes to send it, now (``infer``) or later (``async_infer``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from ..errors import InvalidInputError
from ..protocol import inference as wire
from ..protocol.compression import COMPRESSIONS, compress
from ..protocol.deadline import Deadline
from ._base import Headers, Query
from ._infer import InferInput, InferRequestedOutput, Tensor

__all__ = ["InferCall", "encode_infer"]


@dataclass(frozen=True)
class InferCall:
    """One inference request as a value: the encoded body (header and tensor parts) and how to send it. Built
    once from ``infer``'s arguments (bad ones refused then), sent by ``_send_infer`` now or later."""

    model_name: str
    model_version: str
    request: wire.EncodedRequest
    headers: Headers = None
    query_params: Query = None
    request_compression_algorithm: Optional[str] = None
    response_compression_algorithm: Optional[str] = None
    deadline: Deadline = Deadline()

    @classmethod
    def of_arguments(
        cls,
        model_name: str,
        model_version: str,
        inputs: Sequence[Tensor],
        outputs: Optional[Sequence[InferRequestedOutput]],
        request_id: str,
        parameters: Optional[Mapping[str, Any]],
        sequence: Tuple[Union[int, str], bool, bool],
        priority: int,
        timeout: Optional[int],
        headers: Headers,
        query_params: Query,
        compression: Tuple[Optional[str], Optional[str]],
        client_timeout: Union[None, float, Deadline],
    ) -> InferCall:
        """THE call that ``infer``'s (and ``async_infer``'s) arguments make: the body encoded now (bad arguments
        refused before anything is sent), the Deadline taken as it is. ``sequence``: (sequence_id, sequence_start,
        sequence_end); ``compression``: (request's, response's)."""
        request = encode_infer(inputs, outputs, request_id, parameters, sequence, priority, timeout)
        sending, accepted = compression
        return cls(
            model_name, model_version, request, headers, query_params, sending, accepted, Deadline.of(client_timeout)
        )

    def body(self) -> Tuple[Sequence[Any], Dict[str, str]]:
        """The body parts (compressed as asked) and the headers that describe them."""
        request = self.request
        body_headers = dict(request.headers)
        body: Sequence[Any] = request.parts
        sending = self.request_compression_algorithm
        if sending:
            try:
                body = [compress(request.parts, sending)]
            except ValueError as exc:
                raise InvalidInputError(f"request_compression_algorithm: {exc}") from None
            body_headers["Content-Encoding"] = sending
        accepted = self.response_compression_algorithm
        if accepted:
            if accepted not in COMPRESSIONS:
                raise InvalidInputError(
                    f"response_compression_algorithm must be one of {COMPRESSIONS}, got {accepted!r}"
                )
            body_headers["Accept-Encoding"] = accepted
        return body, body_headers


def encode_infer(
    inputs: Sequence[Tensor],
    outputs: Optional[Sequence[InferRequestedOutput]],
    request_id: str,
    parameters: Optional[Mapping[str, Any]],
    sequence: Tuple[Union[int, str], bool, bool] = (0, False, False),
    priority: int = 0,
    timeout: Optional[int] = None,
) -> wire.EncodedRequest:
    """THE encoding of ``infer``'s arguments into a request body (header and tensor parts), bad ones refused
    (InvalidInputError); ``sequence``: (sequence_id, sequence_start, sequence_end); ``timeout``: Triton's, in
    microseconds."""
    sequence_id, sequence_start, sequence_end = sequence
    if isinstance(inputs, (InferInput, wire.TensorData)):
        inputs = [inputs]
    tensors = []
    for item in inputs:
        if isinstance(item, InferInput):
            tensors.append(item.to_wire())
        elif isinstance(item, wire.TensorData):
            tensors.append(item)
        else:
            raise InvalidInputError(
                f"inputs must be InferInput objects (or the protocol's TensorData), got {type(item).__name__}"
            )
    try:
        params = wire.request_parameters(
            parameters,
            sequence_id=sequence_id,
            sequence_start=sequence_start,
            sequence_end=sequence_end,
            priority=priority,
            timeout=timeout,
        )
        return wire.build_infer_request(
            tensors, [o.to_wire() for o in outputs] if outputs else None, request_id, params
        )
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(str(exc)) from None
