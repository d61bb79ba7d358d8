"""Model inputs and outputs as values, no I/O: inputs checked against a model's config (inputs.py) or taken on
the compiled fast path (compiled.py), specs read from the values where a server describes none (specs.py),
outputs shaped for the caller (outputs.py), RPC ndarrays without numpy (ndarray.py) and the "imjoy" codec
(codec.py)."""
