"""The one place that turns the SOP table's inputs into form fields, and posted forms back into inputs.

Each action's `Inputs` model gives the fields, their types, whether they are required and their
choices; `shared.sop` gives the Indonesian labels. Choices that live in the database (the units,
the disposition instructions) are passed in by the caller under the field's name.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic.fields import FieldInfo

from shared.sop import CHOICE_LABELS, INPUT_LABELS, Inputs

LONG_TEXT = 300  # longer than this: a text area

# Lists whose choices may be added to by hand (one per line), as the lembar disposisi allows.
FREE_ENTRY = frozenset({"instructions"})


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One field of an action's form."""

    name: str
    label: str
    kind: str  # confirm | text | textarea | tel | select | checkboxes
    required: bool
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    free_entry: bool = False  # checkboxes plus a text area for values not on the list


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The bare type of an annotation without `| None` and `Annotated`, and its metadata."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *meta = get_args(annotation)
            metadata.extend(meta)
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation, metadata


def _max_length(metadata: Sequence[Any]) -> int | None:
    for m in metadata:
        limit = getattr(m, "max_length", None)
        if isinstance(m, MaxLen) or limit is not None:
            return int(limit if limit is not None else m.max_length)
    return None


def _choices(values: Sequence[Any]) -> tuple[Choice, ...]:
    out = []
    for v in values:
        value = v.value if isinstance(v, Enum) else str(v)
        out.append(Choice(value, CHOICE_LABELS.get(value, value)))
    return tuple(out)


def _field(name: str, info: FieldInfo, db_choices: Mapping[str, Sequence[Choice]]) -> FormField:
    bare, metadata = _unwrap(info.annotation)
    metadata = [*info.metadata, *metadata]
    label = INPUT_LABELS.get(name, name)
    required = info.is_required()
    origin = get_origin(bare)
    if origin is Literal and get_args(bare) == (True,):
        return FormField(name, label, "confirm", required=True)
    if origin is Literal:
        return FormField(name, label, "select", required, choices=_choices(get_args(bare)))
    if isinstance(bare, type) and issubclass(bare, Enum):
        return FormField(name, label, "select", required, choices=_choices(list(bare)))
    if origin is list:
        return FormField(
            name,
            label,
            "checkboxes",
            required,
            choices=tuple(db_choices.get(name, ())),
            free_entry=name in FREE_ENTRY,
        )
    if name in db_choices:
        return FormField(name, label, "select", required, choices=tuple(db_choices[name]))
    limit = _max_length(metadata)
    if name.startswith("phone"):
        return FormField(name, label, "tel", required, max_length=limit)
    kind = "textarea" if limit is None or limit > LONG_TEXT else "text"
    return FormField(name, label, kind, required, max_length=limit)


def form_fields(inputs: type[Inputs], db_choices: Mapping[str, Sequence[Choice]]) -> list[FormField]:
    """The fields of an action's form, in the order of its inputs."""
    return [_field(name, info, db_choices) for name, info in inputs.model_fields.items()]


def free_entry_name(name: str) -> str:
    return f"{name}__lainnya"


def parse(
    fields: Sequence[FormField], form: Mapping[str, Any], lists: Mapping[str, list[str]]
) -> dict[str, Any]:
    """The inputs an action gets from a posted form: empty optional fields are left out, so the SOP's
    own checks (required, choices, lengths) speak for every field."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.kind == "confirm":
            if form.get(f.name):
                out[f.name] = True
        elif f.kind == "checkboxes":
            values = [v for v in lists.get(f.name, []) if v.strip()]
            if f.free_entry:
                typed = str(form.get(free_entry_name(f.name)) or "")
                values += [line.strip() for line in typed.splitlines() if line.strip()]
            if values or f.required:
                out[f.name] = values
        else:
            value = str(form.get(f.name) or "")
            if value.strip():
                out[f.name] = value
    return out


def typed_values(
    fields: Sequence[FormField], form: Mapping[str, Any], lists: Mapping[str, list[str]]
) -> dict[str, Any]:
    """What the officer typed, to fill the form again beside its errors."""
    kept: dict[str, Any] = {}
    for f in fields:
        if f.kind == "checkboxes":
            kept[f.name] = list(lists.get(f.name, []))
            if f.free_entry:
                kept[free_entry_name(f.name)] = str(form.get(free_entry_name(f.name)) or "")
        else:
            kept[f.name] = str(form.get(f.name) or "")
    return kept
