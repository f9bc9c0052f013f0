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
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.delivery import AttemptOutcome, known
from shared.validation import NO_NIK, NOT_BLANK, PhoneNumber

if TYPE_CHECKING:
    from shared.workflow import Act


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
    DUPLICATE = "duplicate"  # the same matter as an earlier complaint, which carries on


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


Ticket = Annotated[str, StringConstraints(max_length=30, to_upper=True), NOT_BLANK]


class CloseDuplicate(Inputs):
    """The complaint repeats another (the original), which carries on; the link is recorded."""

    original: Ticket
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
    outcome: Literal[AttemptOutcome.DELIVERED, AttemptOutcome.UNREACHABLE] | None = None
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


@dataclass(frozen=True, kw_only=True)
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

# What an action records besides moving the complaint (its Output), given the validated inputs.
Effect = Callable[["Act", Any], None]


@dataclass(frozen=True, kw_only=True)
class ActionSpec:
    """An action allowed at a step: who may take it, what it needs, what it records and where it
    sends the complaint."""

    step: Step
    name: str
    inputs: type[Inputs]
    to: Target
    label: str  # Indonesian label for history and archive
    effect: Effect | None = field(default=None, compare=False)
    # The complaint goes `to` only when this holds of the inputs; otherwise it stays where it is
    # (deliver: only when the answer reached the complainant).
    only_if: Callable[[Any], bool] | None = field(default=None, compare=False)

    def target(self, inputs: Inputs) -> Target:
        return self.to if self.only_if is None or self.only_if(inputs) else None

    @property
    def closes(self) -> bool:
        """True when taking the action always closes the complaint (the console asks to confirm)."""
        return isinstance(self.to, Outcome) and self.only_if is None

    @property
    def role(self) -> Role:
        return STEPS[self.step].role


# --- What each action records (the hooks of the table; shared.workflow.Act does the writing) -----


def _record_answer(act: Act, data: SubmitAnswer) -> None:
    act.complaint.answer = data.answer


def _answer_at_desk(act: Act, data: ResolveAtDesk) -> None:
    act.complaint.answer = data.answer
    act.detail["method"] = data.delivery_method.value
    act.record_attempt(method=data.delivery_method, outcome=AttemptOutcome.DELIVERED, note=data.note)


def _dispose(act: Act, data: Dispose) -> None:
    act.dispose(data)


def _deliver(act: Act, data: Deliver) -> None:
    act.deliver(data)


def _pause(act: Act, _data: RequestInfo) -> None:
    act.pause()


def _resume(act: Act, _data: InfoReceived) -> None:
    act.resume()


def _mark_duplicate(act: Act, data: CloseDuplicate) -> None:
    act.mark_duplicate(data.original)


def _unit_gives_back(act: Act, _data: Return) -> None:
    act.complaint.unit_code = None  # wrongly disposed: the bidang gives it back


def _delivered(data: Deliver) -> bool:
    # Without an outcome the notify service sends the answer: its gateway's result closes it.
    return data.outcome == AttemptOutcome.DELIVERED


STEPS: dict[Step, StepSpec] = {
    s.step: s
    for s in (
        StepSpec(
            step=Step.VERIFICATION,
            number=1,
            role=Role.FRONT_OFFICE,
            title="Menerima pengaduan, verifikasi identitas dan isi pengaduan",
            standard=timedelta(minutes=30),
            kelengkapan=("identitas pengadu", "alat tulis", "buku arsip"),
            output=("identitas", "form pengaduan", "isi pengaduan"),
            public_label="Pengaduan diterima dan sedang diverifikasi",
        ),
        StepSpec(
            step=Step.REVIEW,
            number=2,
            role=Role.KASUBAG_UMUM,
            title="Menerima dan menelaah kembali isi pengaduan",
            standard=timedelta(minutes=30),
            kelengkapan=("identitas", "isi pengaduan"),
            output=("identitas", "isi pengaduan"),
            public_label="Pengaduan sedang ditelaah",
        ),
        StepSpec(
            step=Step.DISPOSITION,
            number=3,
            role=Role.SEKRETARIS,
            title="Mendisposisikan pengaduan kepada bidang terkait",
            standard=timedelta(minutes=30),
            kelengkapan=("identitas", "isi pengaduan", "surat disposisi"),
            output=("identitas", "isi pengaduan", "surat disposisi"),
            public_label="Pengaduan sedang didisposisikan",
        ),
        StepSpec(
            step=Step.DRAFTING,
            number=4,
            role=Role.BIDANG,
            title="Menyiapkan jawaban pengaduan",
            standard=timedelta(days=1),
            kelengkapan=("identitas", "isi pengaduan", "disposisi"),
            output=("identitas", "isi pengaduan", "disposisi", "draf jawaban"),
            public_label="Jawaban sedang disiapkan oleh bidang terkait",
        ),
        StepSpec(
            step=Step.ANSWER_REVIEW,
            number=5,
            role=Role.KASUBAG_UMUM,
            title="Menerima jawaban dari bidang untuk disampaikan melalui Front Office",
            standard=timedelta(minutes=10),
            kelengkapan=("identitas", "isi pengaduan", "disposisi", "jawaban aduan"),
            output=("jawaban aduan",),
            public_label="Jawaban sedang diperiksa",
        ),
        StepSpec(
            step=Step.DELIVERY,
            number=6,
            role=Role.FRONT_OFFICE,
            title="Menyampaikan jawaban kepada pengadu dan mengarsipkan seluruh proses",
            standard=timedelta(days=1),  # the SOP sets none; configurable (ADUAN_SLA_DELIVERY)
            kelengkapan=("identitas", "isi pengaduan", "disposisi", "jawaban aduan"),
            output=("arsip",),
            public_label="Jawaban siap disampaikan kepada pengadu",
        ),
    )
}

ACTIONS: dict[tuple[Step, str], ActionSpec] = {
    (a.step, a.name): a
    for a in (
        ActionSpec(
            step=Step.VERIFICATION,
            name="forward",
            inputs=ForwardVerified,
            to=Step.REVIEW,
            label="Diverifikasi dan diteruskan ke Kasubag Umum",
        ),
        ActionSpec(
            step=Step.VERIFICATION,
            name="resolve",
            inputs=ResolveAtDesk,
            to=Outcome.ANSWERED_AT_FRONT_OFFICE,
            label="Dijawab langsung oleh Front Office",
            effect=_answer_at_desk,
        ),
        ActionSpec(
            step=Step.VERIFICATION, name="reject", inputs=Reject, to=Outcome.REJECTED, label="Ditolak"
        ),
        ActionSpec(
            step=Step.VERIFICATION,
            name="refer",
            inputs=Refer,
            to=Outcome.REFERRED,
            label="Dilimpahkan ke instansi berwenang",
        ),
        # The Front Office finds a repeat when it verifies the content (step 1). Only the Front
        # Office closes a complaint: Kasubag Umum finding one at review links it as a duplicate
        # (LINK_ROLES) and returns it to the desk, which closes it here; from the disposition on,
        # a repeat found is linked, and the bidang answers the original.
        ActionSpec(
            step=Step.VERIFICATION,
            name="close_duplicate",
            inputs=CloseDuplicate,
            to=Outcome.DUPLICATE,
            label="Ditutup sebagai duplikat pengaduan lain",
            effect=_mark_duplicate,
        ),
        ActionSpec(
            step=Step.VERIFICATION,
            name="request_info",
            inputs=RequestInfo,
            to=None,
            label="Menunggu kelengkapan dari pengadu (waktu dihentikan)",
            effect=_pause,
        ),
        ActionSpec(
            step=Step.VERIFICATION,
            name="info_received",
            inputs=InfoReceived,
            to=None,
            label="Kelengkapan diterima (waktu berjalan kembali)",
            effect=_resume,
        ),
        ActionSpec(
            step=Step.REVIEW,
            name="forward",
            inputs=OptionalNote,
            to=Step.DISPOSITION,
            label="Ditelaah dan diteruskan ke Sekretaris",
        ),
        ActionSpec(
            step=Step.REVIEW,
            name="return",
            inputs=Return,
            to=Step.VERIFICATION,
            label="Dikembalikan ke Front Office",
        ),
        ActionSpec(
            step=Step.DISPOSITION,
            name="dispose",
            inputs=Dispose,
            to=Step.DRAFTING,
            label="Didisposisikan ke bidang",
            effect=_dispose,
        ),
        ActionSpec(
            step=Step.DISPOSITION,
            name="return",
            inputs=Return,
            to=Step.REVIEW,
            label="Dikembalikan ke Kasubag Umum",
        ),
        ActionSpec(
            step=Step.DRAFTING,
            name="submit_answer",
            inputs=SubmitAnswer,
            to=Step.ANSWER_REVIEW,
            label="Draf jawaban diserahkan",
            effect=_record_answer,
        ),
        ActionSpec(
            step=Step.DRAFTING,
            name="return",
            inputs=Return,
            to=Step.DISPOSITION,
            label="Dikembalikan ke Sekretaris (salah disposisi)",
            effect=_unit_gives_back,
        ),
        ActionSpec(
            step=Step.ANSWER_REVIEW,
            name="approve",
            inputs=OptionalNote,
            to=Step.DELIVERY,
            label="Jawaban disetujui, diteruskan ke Front Office",
        ),
        ActionSpec(
            step=Step.ANSWER_REVIEW,
            name="return",
            inputs=Return,
            to=Step.DRAFTING,
            label="Jawaban dikembalikan ke bidang untuk perbaikan",
        ),
        ActionSpec(
            step=Step.DELIVERY,
            name="deliver",
            inputs=Deliver,
            to=Outcome.ANSWERED,
            label="Jawaban disampaikan kepada pengadu",
            effect=_deliver,
            only_if=_delivered,
        ),
    )
}

OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.ANSWERED_AT_FRONT_OFFICE: "Selesai - dijawab langsung di loket pengaduan",
    Outcome.ANSWERED: "Selesai - jawaban telah disampaikan",
    Outcome.REJECTED: "Ditolak - bukan pengaduan yang dapat diproses",
    Outcome.REFERRED: "Dilimpahkan ke instansi yang berwenang",
    Outcome.DUPLICATE: "Digabung dengan pengaduan lain yang sama (duplikat)",
}

RECEIVED_LABEL = "Pengaduan diterima"

# Roles that read every complaint; a bidang reads only what was disposed to its unit.
READ_ALL_ROLES = frozenset(
    {Role.FRONT_OFFICE, Role.KASUBAG_UMUM, Role.SEKRETARIS, Role.KEPALA_DINAS, Role.ADMIN}
)
# The message list (GET /api/v1/notifications) shows every complaint's messages: who reads them all.
NOTIFICATION_ROLES = READ_ALL_ROLES
# Who links complaints (related, duplicate) and unlinks them: the roles that read every complaint
# and the complainant's identity and work the SOP's first three steps (the Front Office at
# verification, Kasubag Umum at review, the Sekretaris at disposition). A bidang reads only its
# own unit's complaints, and the Kepala Dinas and the admin read without acting.
LINK_ROLES = frozenset({Role.FRONT_OFFICE, Role.KASUBAG_UMUM, Role.SEKRETARIS})


def steps_of(role: Role) -> tuple[Step, ...]:
    """The steps whose queue a role works."""
    return tuple(s.step for s in STEPS.values() if s.role == role)


def actions_at(step: Step) -> tuple[ActionSpec, ...]:
    """The actions allowed at a step, in table order."""
    return tuple(a for a in ACTIONS.values() if a.step == step)


def find_action(step: Step, name: str) -> ActionSpec | None:
    """The action `name` at `step`, or None when the SOP has no such action there."""
    return ACTIONS.get((step, name))


CLOSED_LABEL = "Selesai"  # an outcome this version does not know (read from a newer database)


def outcome_label(outcome: str) -> str:
    """The Indonesian label of a complaint's outcome; one this version does not know reads as closed."""
    known_outcome = known(Outcome, outcome)
    return OUTCOME_LABELS[known_outcome] if known_outcome else CLOSED_LABEL


def public_status(step: str | None, outcome: str | None) -> tuple[str, str]:
    """The citizen-facing status code and Indonesian label of a complaint at `step` / `outcome`."""
    if outcome is not None:
        return "closed", outcome_label(outcome)
    at = Step(step or Step.VERIFICATION)
    code = {Step.VERIFICATION: "received", Step.DELIVERY: "answer_ready"}.get(at, "in_process")
    return code, STEPS[at].public_label


# --- Indonesian labels of the table, for the staff console ----------------------------------------
# Kept beside the table: a new action or input needs its label here, and its form follows.

# As the SOP names them: on the console and in the staff notices.
ROLE_LABELS: dict[Role, str] = {
    Role.FRONT_OFFICE: "Front Office",
    Role.KASUBAG_UMUM: "Kasubag Umum & Kepegawaian",
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
    "close_duplicate": "Tutup sebagai duplikat",
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
    "original": "Nomor tiket pengaduan asli (yang dilanjutkan)",
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
    AttemptOutcome.DELIVERED: "Tersampaikan",
    AttemptOutcome.UNREACHABLE: "Pengadu tidak dapat dihubungi",
}

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
    "link": "Ditautkan dengan pengaduan lain",
    "unlink": "Tautan dengan pengaduan lain dilepas",
}
