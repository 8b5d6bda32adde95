"""Tool input schemas generated from pydantic models: one definition is the schema the model is
given and the validation of what it returns.

A tool's schema is part of the cached prefix of every call, so it is made compact: pydantic's
`title` of every model and field is dropped, `$defs` are inlined (one self-contained object), and
an optional field (`X | None = None`) is shown as `X`, not as `anyOf [X, null]` with a null
default: not being required already says it may be left out. A field's validator refuses a value
with `refuse("must be ...")`, the one sentence every parser of the field reports. Pure.
"""
from __future__ import annotations

from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

REFUSED = "reviewbot"                  # the error type of `refuse`


def refuse(text: str) -> NoReturn:
    """Refuse a field's value, saying what a valid one is: refuse("must be a positive integer")."""
    raise PydanticCustomError(REFUSED, text)


def tool_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, compact, as a tool's `input_schema`."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})

    def walk(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if in_properties:                      # keys are field names here, one of them may be "title"
            return {k: walk(v) for k, v in node.items()}
        options = node.get("anyOf")
        if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
            kept = next(o for o in options if o != {"type": "null"})
            node = {**{k: v for k, v in node.items() if k != "anyOf"}, **kept}
            if node.get("default", 0) is None:
                del node["default"]
        if "$ref" in node:
            return walk({**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}})
        return {k: walk(v, k == "properties") for k, v in node.items() if k not in ("title", "$defs")}
    out: dict[str, Any] = walk(schema)
    return out


def field_errors(e: ValidationError, where: str = "") -> list[str]:
    """One message per refused field ("'line' must be ..."), prefixed with `where`, in order."""
    out: list[str] = []
    for err in e.errors():
        line = message(err)
        if line not in out:
            out.append(line)
    return [f"{where}: {m}" if where else m for m in out]


def message(err: ErrorDetails) -> str:
    """"'key' must be ...", "'key' is missing", or pydantic's own words for any other error."""
    key = ".".join(str(x) for x in err["loc"])
    if err["type"] == "missing":
        return f"'{key}' is missing"
    if err["type"] == REFUSED:
        return f"'{key}' {err['msg']}" if key else err["msg"]
    return f"'{key}': {err['msg']}" if key else err["msg"]
