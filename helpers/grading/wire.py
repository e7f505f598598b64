"""The messages between the grader and the child that runs a student's code.

grader -> child: pickle (the child trusts the grader: arguments may be helpers objects).
child -> grader: JSON plus raw array bytes, decoded WITHOUT unpickling, so nothing the child
sends can run code in the grader. Plain data only: None, bool, int, float, str, NumPy arrays
and scalars of numeric dtypes, and tuples, lists and str-keyed dicts of those. Anything else
arrives as an `Opaque` stand-in that only knows its type's name.

A frame is a 4-byte big-endian length, then the payload: for pickle the pickled object; for
JSON, {"json": header, "buffers": [byte counts]} followed by the buffers.
"""

import builtins
import json
import math
import pickle
import struct

import numpy as np

__all__ = ["MAX_BYTES", "CallbackRef", "Opaque", "WireError", "decode", "encode", "read_frame",
           "rebuild_exception", "write_frame"]

MAX_BYTES = 16 * 2**20        # the most a child may send in one frame (arrays included); the
# largest frame of the solution notebooks is under 7 kB (measured)
MAX_HEADER = 4 * 2**20        # the most JSON in one frame
NUMERIC_KINDS = "biufc"       # bool, signed, unsigned, float, complex


class WireError(Exception):
    """A frame that breaks the protocol (too large, malformed, a disallowed dtype)."""


class Opaque:
    """What the grader receives for a value that is not plain data: its type's name only."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} object (not plain data)>"


def opaque(type_name):
    """An Opaque whose type(...).__name__ is the child's type name (the checkers print it)."""
    name = type_name if str(type_name).isidentifier() else "object"
    return type(name, (Opaque,), {})(name)


# ----------------------------------------------------------------------------- child side
def encode(value, buffers, depth=0):
    """value as JSON-able data; arrays' bytes are appended to buffers (a list of bytes)."""
    if depth > 50:
        return {"opaque": "deeply nested"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if value is Ellipsis:  # an unanswered prediction (`answer = ...`)
        return {"ellipsis": True}
    if isinstance(value, int):
        return {"int": str(int(value))}
    if isinstance(value, float):
        return {"float": repr(float(value))}
    if isinstance(value, np.generic) and value.dtype.kind in NUMERIC_KINDS:
        value = np.asarray(value)
        buffers.append(value.tobytes())
        return {"scalar": value.dtype.str, "buffer": len(buffers) - 1}
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC_KINDS:
        data = np.ascontiguousarray(value)
        buffers.append(data.tobytes())
        return {"array": data.dtype.str, "shape": list(data.shape), "buffer": len(buffers) - 1}
    if isinstance(value, (tuple, list)):
        items = [encode(item, buffers, depth + 1) for item in value]
        return {"tuple": items} if isinstance(value, tuple) else {"list": items}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"dict": [[key, encode(item, buffers, depth + 1)] for key, item in value.items()]}
    return {"opaque": type(value).__name__}


def json_frame(obj):
    """The bytes of a JSON frame holding obj (arrays inside go as raw buffers)."""
    buffers = []
    header = json.dumps({"json": encode(obj, buffers), "buffers": [len(b) for b in buffers]})
    payload = header.encode()
    return struct.pack(">I", len(payload)) + payload + b"".join(buffers)


# ----------------------------------------------------------------------------- grader side
def checked_dtype(text):
    """np.dtype(text) if it is a plain numeric dtype, else WireError (never an object dtype)."""
    try:
        dtype = np.dtype(str(text))
    except TypeError as error:
        raise WireError(f"unknown dtype {text!r}") from error
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
        raise WireError(f"dtype {text!r} is not a plain numeric dtype")
    return dtype


def decode(node, buffers):
    """The value that `encode` encoded; raises WireError on anything malformed."""
    if node is None or isinstance(node, (bool, str)):
        return node
    if not isinstance(node, dict) or len(node) < 1:
        raise WireError(f"malformed value {str(node)[:80]!r}")
    if "ellipsis" in node:
        return Ellipsis
    if "int" in node:
        return int(node["int"])
    if "float" in node:
        return float(node["float"])
    if "scalar" in node or "array" in node:
        dtype = checked_dtype(node.get("scalar") or node.get("array"))
        shape = tuple(int(n) for n in node.get("shape", ()))
        if any(n < 0 for n in shape):
            raise WireError(f"negative shape {shape}")
        data = buffers[int(node["buffer"])]
        if len(data) != math.prod(shape) * dtype.itemsize:
            raise WireError(f"{len(data)} bytes do not make an array {shape} of {dtype}")
        array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
        return array[()] if "scalar" in node else array
    if "tuple" in node:
        return tuple(decode(item, buffers) for item in node["tuple"])
    if "list" in node:
        return [decode(item, buffers) for item in node["list"]]
    if "dict" in node:
        return {str(key): decode(item, buffers) for key, item in node["dict"]}
    if "opaque" in node:
        return opaque(str(node["opaque"]))
    raise WireError(f"malformed value {str(node)[:80]!r}")


def read_exactly(stream, n):
    """n bytes from a binary stream, or EOFError if it ends first."""
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream, trusted=False):
    """The next frame: unpickled if trusted (the child reading the grader), else decoded JSON."""
    (size,) = struct.unpack(">I", read_exactly(stream, 4))
    if trusted:
        return pickle.loads(read_exactly(stream, size))
    if size > MAX_HEADER:
        raise WireError(f"a header of {size} bytes (at most {MAX_HEADER})")
    try:
        header = json.loads(read_exactly(stream, size))
        sizes = [int(n) for n in header["buffers"]]
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise WireError(f"malformed header ({error})") from error
    if sum(sizes) > MAX_BYTES or any(n < 0 for n in sizes):
        raise WireError(f"{sum(sizes)} bytes of arrays (at most {MAX_BYTES})")
    buffers = [read_exactly(stream, n) for n in sizes]
    try:
        return decode(header.get("json"), buffers)
    except (IndexError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        raise WireError(f"malformed value ({type(error).__name__}: {error})") from error


def write_frame(stream, obj, trusted=False):
    """Write obj as one frame: pickled if trusted (grader -> child), else JSON + buffers."""
    if trusted:
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        stream.write(struct.pack(">I", len(payload)) + payload)
    else:
        stream.write(json_frame(obj))
    stream.flush()


def rebuild_exception(type_name, message):
    """An exception for the grader to raise in place of the child's: of the builtin class of
    that name where there is one (NotImplementedError, IndexError, ...), else an Exception
    subclass of that name; str() of it is the child's message."""
    base = getattr(builtins, str(type_name), None)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = Exception
    name = type_name if str(type_name).isidentifier() else "Exception"
    cls = type(name, (base,), {"__str__": lambda self: message, "__module__": "builtins"})
    return cls(message)


class CallbackRef:
    """Stands, in the arguments sent to the child, for a function of the grader's (e.g. the f
    of numerical_gradient): calling it in the child asks the grader to call the function on
    plain data and send back its result."""

    def __init__(self, index):
        self.index = index
