"""The case (办件) dialogs of the panel: 受理 (accept), 一次性告知 / 不予受理 (refuse), a case's details and changes,
and a notice shown on screen. Each form checks itself as it is accepted: while something is wrong it says what, in
the panel's language, stays open and sends nothing."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QRadioButton, QSpinBox, QStackedWidget, QVBoxLayout,
    QWidget,
)

from hall_bus.contract import BusError, Op, validate_args
from window_panel.dialogs import Built, _Dialog
from window_panel.i18n import Tr
from window_panel.model import CASE_CHANGES_FROM, material_lines, person_fields
from window_panel.notices import Notice, masked, short_time

FORM_STYLE = """
QDialog QLineEdit, QDialog QComboBox, QDialog QSpinBox { font-size: 16px; padding: 3px; }
QPlainTextEdit, QListWidget { font-size: 15px; }
QLabel#hint { font-size: 13px; color: #3b4a63; }
QLabel#warn { font-size: 13px; color: #8a5300; }
QLabel#problems { font-size: 14px; color: #8c1d18; background: #fde7e6; border: 1px solid #e8a19c;
                  border-radius: 6px; padding: 6px 10px; }
QLabel#section { font-weight: bold; color: #14213d; margin-top: 4px; }
"""


class _Form(_Dialog):
    """A dialog whose OK runs `check()`: it returns (answer, problems); with problems the dialog stays open and lists
    them, without it closes and `answer` is what the caller gets."""

    def __init__(self, tr: Tr, parent: QWidget | None, title: str) -> None:
        super().__init__(tr, parent, title)
        self.setMinimumWidth(540)
        self.check: Callable[[], tuple[Any, list[str]]] = lambda: (None, [])
        self.answer: Any = None
        self.problems = QLabel(objectName="problems", wordWrap=True)
        self.problems.hide()

    def finish_layout(self) -> None:
        self.box.addWidget(self.problems)
        super().finish_layout()
        # set once the children exist: a second setStyleSheet in __init__ was not applied to them (PySide6 6.x)
        self.setStyleSheet(self.styleSheet() + FORM_STYLE)

    def accept(self) -> None:
        answer, problems = self.check()
        if problems:
            self.problems.setText("\n".join(f"• {p}" for p in problems))
            self.problems.show()
            return
        self.problems.hide()
        self.answer = answer
        super().accept()


def _section(text: str) -> QLabel:
    return QLabel(text, objectName="section", wordWrap=True)


class _Materials(QWidget):
    """A checklist of the service's materials (from its guide) and a box for anything else, one a line."""

    def __init__(self, tr: Tr, heading: str) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(_section(heading))
        self.empty = QLabel(tr("dlg_no_materials"), objectName="hint", wordWrap=True)
        self.list = QListWidget()
        self.other = QPlainTextEdit(placeholderText=tr("dlg_missing_other"))
        self.other.setMaximumHeight(58)
        lay.addWidget(self.empty)
        lay.addWidget(self.list)
        lay.addWidget(self.other)
        self.tr = tr

    def set_materials(self, guide: dict[str, Any] | None) -> None:
        self.list.clear()
        for m in (guide or {}).get("materials") or ():
            if not isinstance(m, dict) or not m.get("name"):
                continue
            item = QListWidgetItem(self.tr.name(m))
            item.setData(Qt.ItemDataRole.UserRole, m["name"])      # the Chinese name is what the record keeps
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
        rows = self.list.count()
        self.list.setFixedHeight(min(6, max(rows, 1)) * (self.list.sizeHintForRow(0) if rows else 24) + 8)
        self.list.setVisible(rows > 0)
        self.empty.setVisible(rows == 0)

    def tick(self, names: list[str]) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) in names:
                item.setCheckState(Qt.CheckState.Checked)

    def missing(self) -> list[str]:
        checked = [str(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())
                   if self.list.item(i).checkState() == Qt.CheckState.Checked]
        return material_lines(checked, self.other.toPlainText())


class _Person(QWidget):
    """Name, ID number (with the window's card reader, when it has one), phone and the SMS consent."""

    def __init__(self, tr: Tr, reader: Any = None, *, heading: str = "") -> None:
        super().__init__()
        self.tr = tr
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        if heading:
            lay.addWidget(_section(heading))
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setMaxLength(40)
        self.id_number = QLineEdit()
        self.id_number.setMaxLength(18)
        self.id_number.textEdited.connect(lambda s: self.id_number.setText(s.upper()))
        id_row = QHBoxLayout()
        id_row.addWidget(self.id_number, 1)
        self.card_hint = QLabel(objectName="hint", wordWrap=True)
        self.reader = reader
        if reader is not None:
            read = QPushButton(tr("dlg_read_card"))
            read.clicked.connect(self.fill_from_reader)
            id_row.addWidget(read)
            self.card_hint.setText(tr("dlg_card_hint"))
            reader.card.connect(self.fill)          # a bound slot of this widget: gone with the dialog
        form.addRow(tr("dlg_name"), self.name)
        form.addRow(tr("dlg_id_number"), id_row)
        self.phone = QLineEdit()
        self.phone.setMaxLength(24)
        form.addRow(tr("dlg_phone"), self.phone)
        lay.addLayout(form)
        if reader is not None:
            lay.addWidget(self.card_hint)
        self.sms = QCheckBox(tr("dlg_sms"))
        lay.addWidget(self.sms)
        consent = QLabel(tr("dlg_sms_text"), objectName="hint", wordWrap=True)
        lay.addWidget(consent)

    def fill_from_reader(self) -> None:
        card = self.reader.latest() if self.reader is not None else None
        if card:
            self.fill(card)

    def fill(self, card: dict[str, str]) -> None:
        self.name.setText(card.get("name", ""))
        self.id_number.setText(card.get("id_number", ""))
        self.card_hint.setText(self.tr("dlg_card_read"))

    def fields(self, *, required: bool) -> tuple[dict[str, Any], list[str]]:
        return person_fields(self.name.text(), self.id_number.text(), self.phone.text(), self.sms.isChecked(),
                             required=required)


def _checked(tr: Tr, op: str, args: dict[str, Any], problems: list[str]) -> tuple[Any, list[str]]:
    """The contract's own check last (what the server would refuse as bad_request), in the panel's words."""
    if not problems:
        try:
            validate_args(op, args)
        except BusError as exc:
            problems = [tr("bad_args", m=exc.message)]
    return (None if problems else args), problems


def _service_combo(tr: Tr, services: list[dict[str, Any]], selected: str) -> QComboBox:
    combo = QComboBox()
    for svc in services:
        combo.addItem(tr.name(svc) or str(svc.get("id")), svc.get("id"))
    index = combo.findData(selected)
    combo.setCurrentIndex(max(0, index))
    return combo


class CaseDialogs:
    """The ask_* methods return the request's args (without `window`, added by the panel) or None when cancelled;
    tests replace this object. The *_dialog builders are what --screenshots pictures."""

    def __init__(self, tr: Tr, parent: QWidget | None) -> None:
        self.tr = tr
        self.parent = parent

    @staticmethod
    def _ask(built: Built) -> Any:
        dialog, answer = built
        return answer() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_accept(self, ticket: dict[str, Any], services: list[dict[str, Any]], guides: dict[str, Any],
                   reader: Any = None) -> dict[str, Any] | None:
        return self._ask(self.accept_dialog(ticket, services, guides, reader))

    def ask_refuse(self, ticket: dict[str, Any], services: list[dict[str, Any]], guides: dict[str, Any],
                   reader: Any = None) -> dict[str, Any] | None:
        return self._ask(self.refuse_dialog(ticket, services, guides, reader))

    def ask_change(self, case: dict[str, Any], guide: dict[str, Any] | None) -> dict[str, Any] | None:
        return self._ask(self.case_dialog(case, guide))

    def show_notice(self, notice: Notice) -> QDialog:
        """Not modal to the bus: the panel keeps working while the notice is on screen."""
        d = self.notice_dialog(notice)
        d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        d.open()
        return d

    # ------------------------------------------------------------ 受理
    def accept_dialog(self, ticket: dict[str, Any], services: list[dict[str, Any]], guides: dict[str, Any],
                      reader: Any = None) -> Built:
        t = self.tr
        d = _Form(t, self.parent, t("dlg_accept", n=ticket.get("number", "")))
        form = QFormLayout()
        combo = _service_combo(t, services, str(ticket.get("service", "")))
        form.addRow(t("dlg_service"), combo)
        d.box.addLayout(form)
        person = _Person(t, reader)
        d.box.addWidget(person)
        materials = _Materials(t, t("dlg_missing_accept"))
        d.box.addWidget(materials)
        note = QLineEdit()
        note.setMaxLength(500)
        note_form = QFormLayout()
        note_form.addRow(t("dlg_note"), note)
        d.box.addLayout(note_form)
        combo.currentIndexChanged.connect(lambda _i: materials.set_materials(guides.get(combo.currentData())))
        materials.set_materials(guides.get(combo.currentData()))
        d.finish_layout()
        d.person, d.materials, d.note, d.service = person, materials, note, combo   # type: ignore[attr-defined]

        def check() -> tuple[Any, list[str]]:
            fields, problems = person.fields(required=True)
            args: dict[str, Any] = {"window": "w", **fields}
            if ticket.get("id"):
                args["ticket_id"] = ticket["id"]
            if combo.currentData():
                args["service"] = combo.currentData()
            missing = materials.missing()
            if missing:
                args["missing"] = missing
            if note.text().strip():
                args["note"] = note.text().strip()
            answer, problems = _checked(t, Op.CASE_ACCEPT, args, [t(p) for p in problems])
            if answer is not None:
                del answer["window"]
            return answer, problems
        d.check = check
        return d, lambda: d.answer

    # ------------------------------------------------------------ 一次性告知 / 不予受理
    def refuse_dialog(self, ticket: dict[str, Any], services: list[dict[str, Any]], guides: dict[str, Any],
                      reader: Any = None) -> Built:
        t = self.tr
        d = _Form(t, self.parent, t("dlg_refuse", n=ticket.get("number", "")))
        form = QFormLayout()
        combo = _service_combo(t, services, str(ticket.get("service", "")))
        form.addRow(t("dlg_service"), combo)
        d.box.addLayout(form)
        d.box.addWidget(_section(t("dlg_kind")))
        incomplete = QRadioButton(t("dlg_kind_incomplete"))
        refused = QRadioButton(t("dlg_kind_refused"))
        incomplete.setChecked(True)
        group = QButtonGroup(d)
        group.addButton(incomplete)
        group.addButton(refused)
        d.box.addWidget(incomplete)
        d.box.addWidget(refused)
        materials = _Materials(t, t("dlg_missing_refuse"))
        d.box.addWidget(materials)
        d.box.addWidget(_section(t("dlg_reasons")))
        reasons = QPlainTextEdit()
        reasons.setMaximumHeight(64)
        d.box.addWidget(reasons)
        person = _Person(t, reader, heading=t("dlg_applicant_opt"))
        d.box.addWidget(person)
        refused.toggled.connect(lambda on: materials.setVisible(not on))
        combo.currentIndexChanged.connect(lambda _i: materials.set_materials(guides.get(combo.currentData())))
        materials.set_materials(guides.get(combo.currentData()))
        d.finish_layout()
        d.person, d.materials, d.reasons, d.refused = person, materials, reasons, refused   # type: ignore[attr-defined]

        def check() -> tuple[Any, list[str]]:
            fields, problems = person.fields(required=False)
            problems = [t(p) for p in problems]
            kind = "refused" if refused.isChecked() else "incomplete"
            args: dict[str, Any] = {"window": "w", "service": combo.currentData() or ticket.get("service", ""),
                                    "kind": kind, **fields}
            if ticket.get("id"):
                args["ticket_id"] = ticket["id"]
            why = reasons.toPlainText().strip()[:1000]
            if why:
                args["reasons"] = why
            if kind == "incomplete":
                args["missing"] = materials.missing()
                if not args["missing"]:
                    problems.insert(0, t("bad_missing"))
            elif not why:
                problems.insert(0, t("bad_reasons"))
            answer, problems = _checked(t, Op.CASE_REFUSE, args, problems)
            if answer is not None:
                del answer["window"]
            return answer, problems
        d.check = check
        return d, lambda: d.answer

    # ------------------------------------------------------------ a case: details and changes
    def case_dialog(self, case: dict[str, Any], guide: dict[str, Any] | None) -> Built:
        t = self.tr
        number = str(case.get("number", ""))
        d = _Form(t, self.parent, t("dlg_case", n=number))
        d.setMinimumWidth(560)
        service = (case.get("service_name_en") if t.lang == "en" else None) or case.get("service_name") \
            or case.get("service", "")
        applicant = case.get("applicant") if isinstance(case.get("applicant"), dict) else {}
        lines = [t("detail_service", v=service),
                 t("detail_status", v=t.case_status(case.get("status"))),
                 t("detail_accepted", v=short_time(case.get("accepted_at"))),
                 t("detail_due", v=case.get("due_date") or "—", v2=case.get("legal_due_date") or "—"),
                 t("detail_days", v=t.days(case))]
        if case.get("missing"):
            lines.append(t("detail_missing", v="、".join(map(str, case["missing"]))))
        if applicant or case.get("phone_masked"):
            lines.append(t("detail_applicant", v=masked(str(applicant.get("name", ""))) or "—",
                           p=case.get("phone_masked") or "—"))
        info = QLabel("\n".join(lines), wordWrap=True)
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        d.box.addWidget(info)
        history = QListWidget()
        for step in case.get("history") or ():
            if isinstance(step, dict):
                text = f"{short_time(step.get('ts'))}  {t.case_status(step.get('status'))}"
                if step.get("note"):
                    text += f" · {step['note']}"
                history.addItem(text)
        history.setMaximumHeight(110)
        d.box.addWidget(_section(t("detail_history")))
        d.box.addWidget(history)

        changes = CASE_CHANGES_FROM.get(str(case.get("status")), ())
        change = QComboBox()
        for c in changes:
            change.addItem(t(f"change_{c}"), c)
        if not changes:
            d.box.addWidget(QLabel(t("dlg_no_change"), objectName="hint"))
            d.buttons.button(QDialogButtonBox.StandardButton.Ok).hide()
            d.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(t("dlg_close"))
        else:
            row = QFormLayout()
            row.addRow(t("dlg_change"), change)
            d.box.addLayout(row)
        pages = QStackedWidget()
        fields: dict[str, Any] = {}
        for c in changes:
            page = QWidget()
            lay = QFormLayout(page)
            lay.setContentsMargins(0, 0, 0, 0)
            if c == "extend":
                fields["days"] = QSpinBox(minimum=1, maximum=365, value=5)
                fields["approved_by"] = QLineEdit()
                fields["approved_by"].setMaxLength(64)
                fields["extend_reason"] = QLineEdit()
                fields["extend_reason"].setMaxLength(500)
                lay.addRow(t("dlg_days"), fields["days"])
                lay.addRow(t("dlg_approved_by"), fields["approved_by"])
                lay.addRow(t("dlg_extend_reason"), fields["extend_reason"])
            elif c == "done":
                fields["result"] = QComboBox()
                for r in ("approved", "rejected"):
                    fields["result"].addItem(t(f"result_{r}"), r)
                fields["done_reasons"] = QPlainTextEdit()
                fields["done_reasons"].setMaximumHeight(58)
                lay.addRow(t("dlg_result"), fields["result"])
                lay.addRow(t("dlg_reasons"), fields["done_reasons"])
            elif c == "delivered":
                fields["method"] = QComboBox()
                for m in ("pickup", "mail"):
                    fields["method"].addItem(t(f"delivery_{m}"), m)
                fields["tracking"] = QLineEdit()
                fields["tracking"].setMaxLength(40)
                lay.addRow(t("dlg_delivery"), fields["method"])
                lay.addRow(t("dlg_tracking"), fields["tracking"])
            elif c == "needs_materials":
                fields["materials"] = _Materials(t, t("dlg_missing_refuse"))
                fields["materials"].set_materials(guide)
                lay.addRow(fields["materials"])
            elif c in ("withdrawn", "terminated"):
                fields[f"{c}_reasons"] = QPlainTextEdit()
                fields[f"{c}_reasons"].setMaximumHeight(58)
                lay.addRow(t("dlg_reasons"), fields[f"{c}_reasons"])
            pages.addWidget(page)
        change.currentIndexChanged.connect(pages.setCurrentIndex)
        d.box.addWidget(pages)
        note = QLineEdit()
        note.setMaxLength(500)
        if changes:
            note_row = QFormLayout()
            note_row.addRow(t("dlg_note"), note)
            d.box.addLayout(note_row)
        d.finish_layout()
        d.change, d.fields, d.note = change, fields, note                      # type: ignore[attr-defined]

        def check() -> tuple[Any, list[str]]:
            c = change.currentData()
            if c is None:
                return None, []
            args: dict[str, Any] = {"number": number, "change": c}
            problems: list[str] = []
            text = note.text().strip()
            if c == "extend":
                reason = fields["extend_reason"].text().strip()
                args.update(days=fields["days"].value(), approved_by=fields["approved_by"].text().strip())
                text = reason or text
                if not args["approved_by"] or not reason:
                    problems.append(t("bad_approved_by"))
            elif c == "done":
                args["result"] = fields["result"].currentData()
                why = fields["done_reasons"].toPlainText().strip()[:1000]
                if why:
                    args["reasons"] = why
                elif args["result"] == "rejected":
                    problems.append(t("bad_reasons"))
            elif c == "delivered":
                delivery = {"method": fields["method"].currentData()}
                if fields["tracking"].text().strip():
                    delivery["tracking"] = fields["tracking"].text().strip()
                elif delivery["method"] == "mail":
                    problems.append(t("bad_tracking"))
                args["delivery"] = delivery
            elif c == "needs_materials":
                args["missing"] = fields["materials"].missing()
                if not args["missing"]:
                    problems.append(t("bad_missing"))
            elif c in ("withdrawn", "terminated"):
                why = fields[f"{c}_reasons"].toPlainText().strip()[:1000]
                if why:
                    args["reasons"] = why
            if text:
                args["note"] = text[:500]
            return _checked(t, Op.CASE_UPDATE, args, problems)
        d.check = check
        return d, lambda: d.answer

    # ------------------------------------------------------------ a notice on screen
    def notice_dialog(self, notice: Notice) -> QDialog:
        t = self.tr
        d = _Dialog(t, self.parent, notice.title)
        d.setMinimumWidth(520)
        body = QPlainTextEdit(notice.text, readOnly=True)
        body.setStyleSheet("font-size: 15px; background: white; border: 1px solid #c9d3e3; border-radius: 6px;"
                           " padding: 6px 10px;")
        lines = sum(max(1, len(line) // 34 + 1) for line in notice.text.splitlines())
        body.setMinimumHeight(min(640, 26 * lines + 24))
        d.box.addWidget(body)
        d.buttons.button(QDialogButtonBox.StandardButton.Cancel).hide()
        d.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(t("dlg_close"))
        d.finish_layout()
        d.body = body                                                          # type: ignore[attr-defined]
        return d


class CardSource(QObject):
    """What the dialogs need of the window's ID-card reader: `card` (a dict name / id_number, emitted on the GUI
    thread) and `latest()`. The fields never go to a log."""
    card = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest: dict[str, str] | None = None

    def latest(self) -> dict[str, str] | None:
        return self._latest

    def set_card(self, card: dict[str, str]) -> None:
        """Call on the GUI thread."""
        self._latest = card
        self.card.emit(card)

    def clear(self) -> None:
        self._latest = None
