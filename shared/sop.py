"""The SOP "Pelayanan Pengaduan Masyarakat" as data: steps, roles, time standards, inputs, outputs, actions.

Glossary of the SOP's terms kept in code:
- *disposisi* (disposition): the Sekretaris Dinas's written instruction sending a complaint to a bidang.
- *bidang*: a division of the office (a `unit`), which drafts the answer.
- *Kelengkapan*: what a step must have before it can be completed (here: the action's required fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.validation import NO_NIK, NOT_BLANK, PhoneNumber


class Role(StrEnum):
    FRONT_OFFICE = "front_office"
    KASUBAG_UMUM = "kasubag_umum"
    SEKRETARIS = "sekretaris"
    BIDANG = "bidang"
    KEPALA_DINAS = "kepala_dinas"
    ADMIN = "admin"


class Step(StrEnum):
    VERIFICATION = "verification"
    REVIEW = "review"
    DISPOSITION = "disposition"
    DRAFTING = "drafting"
    ANSWER_REVIEW = "answer_review"
    DELIVERY = "delivery"


class Outcome(StrEnum):
    ANSWERED_AT_FRONT_OFFICE = "answered_at_front_office"
    ANSWERED = "answered"
    REJECTED = "rejected"
    REFERRED = "referred"


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Urgency(StrEnum):
    BIASA = "biasa"
    SEGERA = "segera"
    SANGAT_SEGERA = "sangat_segera"


class ReplyMethod(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    LETTER = "letter"


ELECTRONIC_METHODS = frozenset({ReplyMethod.SMS, ReplyMethod.EMAIL, ReplyMethod.WHATSAPP})

Reason = Annotated[str, StringConstraints(max_length=2000), NOT_BLANK, NO_NIK]
Note = Annotated[str, StringConstraints(max_length=2000), NO_NIK]
Answer = Annotated[str, StringConstraints(max_length=8000), NOT_BLANK, NO_NIK]


# --- Kelengkapan: the fields each action requires -----------------------------------------------


class Inputs(BaseModel):
    """Base of every action's required inputs; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ForwardVerified(Inputs):
    identity_verified: Literal[True]
    id_document: Annotated[str, StringConstraints(max_length=100), NOT_BLANK, NO_NIK]
    note: Note | None = None


class ResolveAtDesk(Inputs):
    identity_verified: Literal[True]
    answer: Answer
    delivery_method: Literal[ReplyMethod.IN_PERSON, ReplyMethod.PHONE]
    note: Note | None = None


class Reject(Inputs):
    reason: Reason


class Refer(Inputs):
    authority: Annotated[str, StringConstraints(max_length=300), NOT_BLANK, NO_NIK]
    note: Note | None = None


class OptionalNote(Inputs):
    note: Note | None = None


class Return(Inputs):
    reason: Reason


Instruction = Annotated[str, StringConstraints(max_length=200), NOT_BLANK, NO_NIK]


class Dispose(Inputs):
    unit: Annotated[str, StringConstraints(max_length=50), NOT_BLANK]
    cc_units: list[Annotated[str, StringConstraints(max_length=50), NOT_BLANK]] = Field(default_factory=list)
    instructions: list[Instruction] = Field(min_length=1)
    urgency: Urgency
    note: Note | None = None


class SubmitAnswer(Inputs):
    answer: Answer


class Deliver(Inputs):
    """Step 6. By sms/email/whatsapp without `outcome` the notify service sends the answer and its
    gateway's result decides; otherwise the front office records the outcome, and to whom
    (in person, by phone, by letter, or a message it sent by hand)."""

    method: ReplyMethod
    outcome: Literal["delivered", "unreachable"] | None = None
    to_whom: Annotated[str, StringConstraints(max_length=200), NO_NIK] | None = None
    phone_called: PhoneNumber | None = None  # stored E.164; default: the complainant's
    note: Note | None = None


class RequestInfo(Inputs):
    """Pause: the complainant must bring documents; the step clock stops."""

    reason: Reason


class InfoReceived(Inputs):
    """Resume with the budget that was left when the clock stopped."""

    note: Note | None = None


# --- Steps and actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    """One row of the SOP table."""

    step: Step
    number: int
    role: Role
    title: str  # Indonesian, as on the SOP
    standard: timedelta | None  # Waktu; None where the SOP sets none
    kelengkapan: tuple[str, ...]
    output: tuple[str, ...]
    public_label: str  # what the citizen sees while the complaint is at this step


Target = Step | Outcome | None  # None: the complaint stays where it is (an attempt was recorded)


@dataclass(frozen=True)
class ActionSpec:
    """An action allowed at a step: who may take it, what it needs and where it sends the complaint."""

    step: Step
    name: str
    inputs: type[Inputs]
    to: Step | Outcome
    label: str  # Indonesian label for history and archive
    # Decides the target from the validated inputs when it depends on them (deliver: reached or not).
    route: Callable[[Inputs], Target] | None = field(default=None, compare=False)

    def target(self, inputs: Inputs) -> Target:
        return self.route(inputs) if self.route else self.to

    @property
    def role(self) -> Role:
        return STEPS[self.step].role


def _deliver_route(inputs: Inputs) -> Target:
    assert isinstance(inputs, Deliver)  # noqa: S101 - the table pairs deliver with Deliver
    if inputs.outcome is None:
        return None  # handed to the notify service; its gateway's result closes the complaint
    return Outcome.ANSWERED if inputs.outcome == "delivered" else None


STEPS: dict[Step, StepSpec] = {
    s.step: s
    for s in (
        StepSpec(
            Step.VERIFICATION,
            1,
            Role.FRONT_OFFICE,
            "Menerima pengaduan, verifikasi identitas dan isi pengaduan",
            timedelta(minutes=30),
            ("identitas pengadu", "alat tulis", "buku arsip"),
            ("identitas", "form pengaduan", "isi pengaduan"),
            "Pengaduan diterima dan sedang diverifikasi",
        ),
        StepSpec(
            Step.REVIEW,
            2,
            Role.KASUBAG_UMUM,
            "Menerima dan menelaah kembali isi pengaduan",
            timedelta(minutes=30),
            ("identitas", "isi pengaduan"),
            ("identitas", "isi pengaduan"),
            "Pengaduan sedang ditelaah",
        ),
        StepSpec(
            Step.DISPOSITION,
            3,
            Role.SEKRETARIS,
            "Mendisposisikan pengaduan kepada bidang terkait",
            timedelta(minutes=30),
            ("identitas", "isi pengaduan", "surat disposisi"),
            ("identitas", "isi pengaduan", "surat disposisi"),
            "Pengaduan sedang didisposisikan",
        ),
        StepSpec(
            Step.DRAFTING,
            4,
            Role.BIDANG,
            "Menyiapkan jawaban pengaduan",
            timedelta(days=1),
            ("identitas", "isi pengaduan", "disposisi"),
            ("identitas", "isi pengaduan", "disposisi", "draf jawaban"),
            "Jawaban sedang disiapkan oleh bidang terkait",
        ),
        StepSpec(
            Step.ANSWER_REVIEW,
            5,
            Role.KASUBAG_UMUM,
            "Menerima jawaban dari bidang untuk disampaikan melalui Front Office",
            timedelta(minutes=10),
            ("identitas", "isi pengaduan", "disposisi", "jawaban aduan"),
            ("jawaban aduan",),
            "Jawaban sedang diperiksa",
        ),
        StepSpec(
            Step.DELIVERY,
            6,
            Role.FRONT_OFFICE,
            "Menyampaikan jawaban kepada pengadu dan mengarsipkan seluruh proses",
            timedelta(days=1),  # the SOP sets none; configurable (ADUAN_SLA_DELIVERY)
            ("identitas", "isi pengaduan", "disposisi", "jawaban aduan"),
            ("arsip",),
            "Jawaban siap disampaikan kepada pengadu",
        ),
    )
}

ACTIONS: dict[tuple[Step, str], ActionSpec] = {
    (a.step, a.name): a
    for a in (
        ActionSpec(
            Step.VERIFICATION,
            "forward",
            ForwardVerified,
            Step.REVIEW,
            "Diverifikasi dan diteruskan ke Kasubag Umum",
        ),
        ActionSpec(
            Step.VERIFICATION,
            "resolve",
            ResolveAtDesk,
            Outcome.ANSWERED_AT_FRONT_OFFICE,
            "Dijawab langsung oleh Front Office",
        ),
        ActionSpec(Step.VERIFICATION, "reject", Reject, Outcome.REJECTED, "Ditolak"),
        ActionSpec(Step.VERIFICATION, "refer", Refer, Outcome.REFERRED, "Dilimpahkan ke instansi berwenang"),
        ActionSpec(
            Step.VERIFICATION,
            "request_info",
            RequestInfo,
            Step.VERIFICATION,
            "Menunggu kelengkapan dari pengadu (waktu dihentikan)",
            route=lambda _inputs: None,
        ),
        ActionSpec(
            Step.VERIFICATION,
            "info_received",
            InfoReceived,
            Step.VERIFICATION,
            "Kelengkapan diterima (waktu berjalan kembali)",
            route=lambda _inputs: None,
        ),
        ActionSpec(
            Step.REVIEW,
            "forward",
            OptionalNote,
            Step.DISPOSITION,
            "Ditelaah dan diteruskan ke Sekretaris",
        ),
        ActionSpec(Step.REVIEW, "return", Return, Step.VERIFICATION, "Dikembalikan ke Front Office"),
        ActionSpec(Step.DISPOSITION, "dispose", Dispose, Step.DRAFTING, "Didisposisikan ke bidang"),
        ActionSpec(Step.DISPOSITION, "return", Return, Step.REVIEW, "Dikembalikan ke Kasubag Umum"),
        ActionSpec(
            Step.DRAFTING,
            "submit_answer",
            SubmitAnswer,
            Step.ANSWER_REVIEW,
            "Draf jawaban diserahkan",
        ),
        ActionSpec(
            Step.DRAFTING,
            "return",
            Return,
            Step.DISPOSITION,
            "Dikembalikan ke Sekretaris (salah disposisi)",
        ),
        ActionSpec(
            Step.ANSWER_REVIEW,
            "approve",
            OptionalNote,
            Step.DELIVERY,
            "Jawaban disetujui, diteruskan ke Front Office",
        ),
        ActionSpec(
            Step.ANSWER_REVIEW,
            "return",
            Return,
            Step.DRAFTING,
            "Jawaban dikembalikan ke bidang untuk perbaikan",
        ),
        ActionSpec(
            Step.DELIVERY,
            "deliver",
            Deliver,
            Outcome.ANSWERED,
            "Jawaban disampaikan kepada pengadu",
            route=_deliver_route,
        ),
    )
}

OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.ANSWERED_AT_FRONT_OFFICE: "Selesai - dijawab langsung di loket pengaduan",
    Outcome.ANSWERED: "Selesai - jawaban telah disampaikan",
    Outcome.REJECTED: "Ditolak - bukan pengaduan yang dapat diproses",
    Outcome.REFERRED: "Dilimpahkan ke instansi yang berwenang",
}

RECEIVED_LABEL = "Pengaduan diterima"

# Roles that read every complaint; a bidang reads only what was disposed to its unit.
READ_ALL_ROLES = frozenset(
    {Role.FRONT_OFFICE, Role.KASUBAG_UMUM, Role.SEKRETARIS, Role.KEPALA_DINAS, Role.ADMIN}
)


def steps_of(role: Role) -> tuple[Step, ...]:
    """The steps whose queue a role works."""
    return tuple(s.step for s in STEPS.values() if s.role == role)


def actions_at(step: Step) -> tuple[ActionSpec, ...]:
    """The actions allowed at a step, in table order."""
    return tuple(a for a in ACTIONS.values() if a.step == step)


def find_action(step: Step, name: str) -> ActionSpec | None:
    """The action `name` at `step`, or None when the SOP has no such action there."""
    return ACTIONS.get((step, name))


def public_status(step: str | None, outcome: str | None) -> tuple[str, str]:
    """The citizen-facing status code and Indonesian label of a complaint at `step` / `outcome`."""
    if outcome is not None:
        return "closed", OUTCOME_LABELS[Outcome(outcome)]
    at = Step(step or Step.VERIFICATION)
    code = {Step.VERIFICATION: "received", Step.DELIVERY: "answer_ready"}.get(at, "in_process")
    return code, STEPS[at].public_label


# --- Indonesian labels of the table, for the staff console ----------------------------------------
# Kept beside the table: a new action or input needs its label here, and its form follows.

ROLE_NAMES: dict[Role, str] = {
    Role.FRONT_OFFICE: "Front Office",
    Role.KASUBAG_UMUM: "Kasubag Umum",
    Role.SEKRETARIS: "Sekretaris Dinas",
    Role.BIDANG: "Bidang",
    Role.KEPALA_DINAS: "Kepala Dinas",
    Role.ADMIN: "Admin",
}

STEP_NAMES: dict[Step, str] = {
    Step.VERIFICATION: "Verifikasi",
    Step.REVIEW: "Telaah",
    Step.DISPOSITION: "Disposisi",
    Step.DRAFTING: "Penyiapan jawaban",
    Step.ANSWER_REVIEW: "Pemeriksaan jawaban",
    Step.DELIVERY: "Penyampaian jawaban",
}

# The button of each action (by name; the same name means the same act at every step).
ACTION_TITLES: dict[str, str] = {
    "forward": "Teruskan",
    "resolve": "Jawab langsung di loket",
    "reject": "Tolak pengaduan",
    "refer": "Limpahkan ke instansi lain",
    "request_info": "Minta kelengkapan dari pengadu",
    "info_received": "Kelengkapan sudah diterima",
    "return": "Kembalikan",
    "dispose": "Disposisikan",
    "submit_answer": "Serahkan draf jawaban",
    "approve": "Setujui jawaban",
    "deliver": "Catat penyampaian jawaban",
}

INPUT_LABELS: dict[str, str] = {
    "identity_verified": "Identitas pengadu sudah diperiksa dan sesuai",
    "id_document": "Dokumen identitas yang diperiksa",
    "note": "Catatan",
    "answer": "Jawaban",
    "delivery_method": "Cara penyampaian jawaban",
    "reason": "Alasan",
    "authority": "Instansi yang berwenang",
    "unit": "Diteruskan kepada (bidang pelaksana)",
    "cc_units": "Tembusan",
    "instructions": "Instruksi",
    "urgency": "Sifat",
    "method": "Cara penyampaian",
    "outcome": "Hasil penyampaian",
    "to_whom": "Diterima oleh",
    "phone_called": "Nomor telepon yang dihubungi",
}

CHOICE_LABELS: dict[str, str] = {
    Urgency.BIASA: "Biasa",
    Urgency.SEGERA: "Segera",
    Urgency.SANGAT_SEGERA: "Sangat segera",
    ReplyMethod.IN_PERSON: "Langsung di kantor",
    ReplyMethod.PHONE: "Telepon",
    ReplyMethod.SMS: "SMS",
    ReplyMethod.EMAIL: "E-mail",
    ReplyMethod.WHATSAPP: "WhatsApp",
    ReplyMethod.LETTER: "Surat",
    "delivered": "Tersampaikan",
    "unreachable": "Pengadu tidak dapat dihubungi",
}

# The lembar disposisi's tick boxes until the admin edits the list.
DISPOSITION_INSTRUCTIONS: tuple[str, ...] = (
    "Tanggapan dan saran",
    "Proses lebih lanjut",
    "Koordinasi / konfirmasikan",
    "Untuk diketahui",
    "Siapkan jawaban",
)

# History rows written by the system rather than an SOP action (those carry their label).
EVENT_LABELS: dict[str, str] = {
    "received": RECEIVED_LABEL,
    "queued": "Masuk antrean",
    "reminder": "Pengingat: batas waktu tahap segera tiba",
    "escalated": "Melewati batas waktu: dieskalasi",
    "delivery_delivered": "Jawaban tersampaikan",
    "delivery_unreachable": "Jawaban tidak tersampaikan",
    "delivery_ambiguous": "Pengiriman jawaban belum pasti",
    "delivery_bounced": "Jawaban ternyata tidak sampai",
}
