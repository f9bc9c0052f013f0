"""The form a complaint is filed with (the kiosk page, the web form, the front desk in the console):
its fields are the API's (`ComplaintIn`), named by their API paths, so a posted form is validated by
the same schema and each error lands beside the field it names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from pydantic import ValidationError

from shared.complaint_in import Channel, CitizenReply, ComplaintIn
from shared.office import Office
from shared.settings import Settings
from shared.sop import CHOICE_LABELS, ReplyMethod
from shared.validation import FieldError, InputError, errors_of

Kind = Literal["text", "tel", "email", "textarea", "select", "radio", "number"]


@dataclass(frozen=True)
class FormField:
    """One field of the form: `name` is the API's field path (`complainant.nik`)."""

    name: str
    label: str
    kind: Kind = "text"
    hint: str | None = None
    required: bool = False
    max_length: int | None = None
    options: tuple[tuple[str, str], ...] = ()  # (value, label) of a select or radio group
    inputmode: str | None = None

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")


def _schema_facts() -> dict[str, tuple[bool, int | None]]:
    """Each API field path: (required, maxLength), read from ComplaintIn's JSON schema."""
    schema = ComplaintIn.model_json_schema()
    facts: dict[str, tuple[bool, int | None]] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        required = set(node.get("required", ()))
        for name, prop in node.get("properties", {}).items():
            ref = prop.get("$ref")
            if ref:
                walk(schema["$defs"][ref.rsplit("/", 1)[-1]], f"{prefix}{name}.")
                continue
            lengths = [p.get("maxLength") for p in [prop, *prop.get("anyOf", ())] if p.get("maxLength")]
            facts[prefix + name] = (name in required, lengths[0] if lengths else None)

    walk(schema, "")
    return facts


_FACTS = _schema_facts()
_REPLIES = tuple((m.value, CHOICE_LABELS[ReplyMethod(m)]) for m in get_args(CitizenReply))
_YES_NO = (("false", "Tidak, saya tidak menunggu"), ("true", "Ya, saya menunggu di kantor"))


def _field(name: str, label: str, **kw: Any) -> FormField:
    required, max_length = _FACTS[name]
    return FormField(name=name, label=label, required=required, max_length=max_length, **kw)


# The front desk's wording: the officer types what the citizen says (the fields are the same).
_DESK_WORDING: dict[str, tuple[str, str | None]] = {
    "complainant.nik": (
        "NIK (Nomor Induk Kependudukan)",
        "16 angka pada KTP pengadu; spasi dan titik boleh.",
    ),
    "complainant.phone": (
        "Nomor telepon atau HP",
        "Untuk kabar perkembangan dan jawaban. Contoh: 081234567890.",
    ),
    "complainant.email": ("Alamat e-mail", None),
    "complainant.address": ("Alamat", None),
    "subject": ("Pokok pengaduan", "Satu kalimat singkat, misalnya: THR belum dibayar."),
    "description": ("Uraian pengaduan", "Apa yang terjadi, kapan, dan di mana."),
    "preferred_reply": ("Jawaban disampaikan melalui", None),
    "waiting_on_site": ("Pengadu menunggu di kantor?", None),
}
_DESK_YES_NO = (("false", "Tidak"), ("true", "Ya, menunggu di kantor"))


def desk_fields(categories: list[tuple[str, str]]) -> list[FormField]:
    """The kiosk's fields in the officer's words (the front desk's form in the console)."""
    out = []
    for f in fields(categories):
        label, hint = _DESK_WORDING.get(f.name, (f.label, f.hint))
        options = _DESK_YES_NO if f.name == "waiting_on_site" else f.options
        out.append(replace(f, label=label, hint=hint, options=options))
    return out


def fields(categories: list[tuple[str, str]]) -> list[FormField]:
    """The form's fields in page order, with the active categories as the category's options."""
    return [
        _field("complainant.name", "Nama lengkap"),
        _field(
            "complainant.nik",
            "NIK (Nomor Induk Kependudukan)",
            hint="16 angka pada KTP Anda. Petugas mencocokkannya dengan KTP saat memverifikasi "
            "pengaduan (langkah pertama pelayanan). Boleh dikosongkan; tunjukkan KTP Anda kepada petugas.",
            inputmode="numeric",
        ),
        _field(
            "complainant.phone",
            "Nomor telepon atau HP",
            kind="tel",
            hint="Untuk kabar perkembangan dan jawaban melalui telepon, SMS atau WhatsApp. "
            "Contoh: 081234567890.",
            inputmode="tel",
        ),
        _field("complainant.email", "Alamat e-mail", kind="email", hint="Boleh dikosongkan."),
        _field("complainant.address", "Alamat", kind="textarea", hint="Boleh dikosongkan."),
        _field("category", "Kategori pengaduan", kind="select", options=tuple(categories)),
        _field("subject", "Pokok pengaduan", hint="Satu kalimat singkat, misalnya: THR belum dibayar."),
        _field(
            "description", "Uraian pengaduan", kind="textarea", hint="Apa yang terjadi, kapan, dan di mana."
        ),
        _field("preferred_reply", "Bagaimana Anda ingin menerima jawaban?", kind="radio", options=_REPLIES),
        _field("waiting_on_site", "Apakah Anda menunggu di kantor sekarang?", kind="radio", options=_YES_NO),
    ]


FORM_NAMES = tuple(f.name for f in fields([]))
CONSENT = "consent"
CONSENT_ERROR = FieldError(CONSENT, "consent_required", "Centang persetujuan ini untuk mengirim pengaduan.")


def consent_text(settings: Settings, identity: Office) -> list[str]:
    """The statement on the processing of personal data (UU 27/2022): purpose, who sees it, how long."""
    return [
        "Data pribadi Anda (nama, NIK, nomor telepon, e-mail dan alamat) diproses oleh "
        f"{identity.name} hanya untuk menangani pengaduan ini: memverifikasi identitas Anda, "
        "menindaklanjuti pengaduan, dan menyampaikan kabar serta jawaban kepada Anda "
        "(Undang-Undang Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi).",
        "Yang dapat melihatnya hanya petugas yang menangani pengaduan ini. Identitas Anda tidak "
        "diberikan kepada pihak yang Anda adukan.",
        "Data disimpan terenkripsi selama pengaduan ditangani dan "
        f"{settings.data_retention_years} tahun sesudah selesai, lalu dihapus.",
    ]


def parse(
    form: Mapping[str, str], *, channel: Channel = Channel.KIOSK, extra: list[FieldError] | None = None
) -> ComplaintIn:
    """The posted form as the API's body; InputError with every field's error (consent, `extra` too)."""
    body: dict[str, Any] = {"complainant": {}, "channel": channel.value}
    for name in FORM_NAMES:  # only the form's own: the channel is the caller's, whatever is posted
        value = form.get(name, "").strip()
        if not value:
            continue  # a blank optional field is no value; a blank required one is "required"
        head, _, tail = name.partition(".")
        if tail:
            body[head][tail] = value
        else:
            body[name] = value
    errors: list[FieldError] = []
    parsed: ComplaintIn | None = None
    try:
        parsed = ComplaintIn.model_validate(body)
    except ValidationError as exc:
        errors = errors_of(exc)
    if form.get(CONSENT) != "yes":
        errors.append(CONSENT_ERROR)
    errors += extra or []
    if errors or parsed is None:
        raise InputError(errors)
    return parsed
