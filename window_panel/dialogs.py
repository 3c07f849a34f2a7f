"""Small modal questions of the panel: which number, which held ticket, where to transfer, why pause."""
from __future__ import annotations

import re
from typing import Any, Callable

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QLabel, QLineEdit, QListWidget, QListWidgetItem, QTabWidget,
    QVBoxLayout, QWidget,
)

from window_panel.i18n import Tr

NUMBER = re.compile(r"[A-Z]{1,2}[0-9]{3}")


class _Dialog(QDialog):
    def __init__(self, tr: Tr, parent: QWidget | None, title: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(380)
        self.setStyleSheet("QWidget { font-family: 'Noto Sans CJK SC'; font-size: 15px; }"
                           "QLineEdit { font-size: 22px; padding: 4px; }"
                           "QLabel#heading { font-size: 18px; font-weight: bold; color: #0b57d0; }")
        self.box = QVBoxLayout(self)
        heading = QLabel(title, objectName="heading", wordWrap=True)   # the question, also where no title bar shows
        self.box.addWidget(heading)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("ok"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("cancel"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def finish_layout(self) -> None:
        self.box.addWidget(self.buttons)


def number_edit(tr: Tr) -> QLineEdit:
    edit = QLineEdit()
    edit.setPlaceholderText(tr("dlg_number"))
    edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"[A-Za-z]{1,2}[0-9]{0,3}")))
    edit.textEdited.connect(lambda s: edit.setText(s.upper()))
    return edit


Built = tuple[_Dialog, Callable[[], Any]]   # the dialog, and how to read its answer once accepted


def typed_number(edit: QLineEdit) -> str | None:
    text = edit.text().strip().upper()
    return text if NUMBER.fullmatch(text) else None


class PanelDialogs:
    """Each ask_* returns the answer, or None when the staff member cancelled. Tests replace this object; the
    *_dialog builders are what --screenshots pictures."""

    def __init__(self, tr: Tr, parent: QWidget | None) -> None:
        self.tr = tr
        self.parent = parent

    @staticmethod
    def _ask(built: Built) -> Any:
        dialog, answer = built
        return answer() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_number(self) -> str | None:
        return self._ask(self.number_dialog())

    def ask_call_back(self, set_aside: dict[str, dict[str, Any]]) -> str | None:
        return self._ask(self.call_back_dialog(set_aside))

    def ask_transfer(self, catalog: dict[str, Any], current: dict[str, Any], window: str) -> dict[str, str] | None:
        return self._ask(self.transfer_dialog(catalog, current, window))

    def ask_pause_reason(self) -> str | None:
        """'' = no reason given; None = cancelled."""
        return self._ask(self.pause_dialog())

    def number_dialog(self) -> Built:
        d = _Dialog(self.tr, self.parent, self.tr("dlg_call_number"))
        edit = number_edit(self.tr)
        d.box.addWidget(edit)
        d.finish_layout()
        return d, lambda: typed_number(edit)

    def call_back_dialog(self, set_aside: dict[str, dict[str, Any]]) -> Built:
        d = _Dialog(self.tr, self.parent, self.tr("dlg_call_back"))
        d.setMinimumWidth(460)
        lst = QListWidget()
        for number, ticket in sorted(set_aside.items()):
            state = self.tr("held") if ticket.get("state") == "held" else self.tr("no_show_state")
            item = QListWidgetItem(f"{number}    {state}    {self.tr.name(ticket, 'service_name')}")
            item.setData(Qt.ItemDataRole.UserRole, number)
            lst.addItem(item)
        if not set_aside:
            d.box.addWidget(QLabel(self.tr("dlg_call_back_none"), wordWrap=True))
        else:
            d.box.addWidget(lst)
        edit = number_edit(self.tr)
        lst.currentItemChanged.connect(lambda item, _prev: item and edit.setText(item.data(Qt.ItemDataRole.UserRole)))
        lst.itemDoubleClicked.connect(lambda _i: d.accept())
        d.box.addWidget(edit)
        d.finish_layout()
        return d, lambda: typed_number(edit)

    def transfer_dialog(self, catalog: dict[str, Any], current: dict[str, Any], window: str) -> Built:
        d = _Dialog(self.tr, self.parent, self.tr("dlg_transfer", n=current.get("number", "")))
        d.resize(460, 520)
        tabs = QTabWidget()
        zones = {z.get("id"): z for z in catalog.get("zones", []) if isinstance(z, dict)}
        lists: list[tuple[QListWidget, str]] = []
        for key, entries in (
            ("service", [(s["id"], f"{self.tr.name(zones.get(s.get('zone')))} · {self.tr.name(s)}")
                         for s in catalog.get("services", [])
                         if isinstance(s, dict) and "id" in s and s["id"] != current.get("service")]),
            ("to_window", [(w["id"], f"{self.tr.name(w)} · {self.tr.name(zones.get(w.get('zone')))}")
                           for w in catalog.get("windows", [])
                           if isinstance(w, dict) and "id" in w and w["id"] != window]),
        ):
            page = QWidget()
            lay = QVBoxLayout(page)
            flt = QLineEdit(placeholderText=self.tr("dlg_filter"))
            lst = QListWidget()
            for ident, label in entries:
                item = QListWidgetItem(label)
                item.setData(Qt.ItemDataRole.UserRole, ident)
                lst.addItem(item)
            flt.textChanged.connect(lambda text, lst=lst: [
                lst.item(i).setHidden(text.lower() not in lst.item(i).text().lower()) for i in range(lst.count())])
            lst.itemDoubleClicked.connect(lambda _i: d.accept())
            lay.addWidget(flt)
            lay.addWidget(lst)
            tabs.addTab(page, self.tr("dlg_to_service" if key == "service" else "dlg_to_window"))
            lists.append((lst, key))
        d.box.addWidget(tabs)
        d.finish_layout()
        d.tabs, d.lists = tabs, [lst for lst, _key in lists]      # type: ignore[attr-defined]  (screenshots)

        def answer() -> dict[str, str] | None:
            lst, key = lists[tabs.currentIndex()]
            item = lst.currentItem()
            return None if item is None else {key: str(item.data(Qt.ItemDataRole.UserRole))}
        return d, answer

    def pause_dialog(self) -> Built:
        d = _Dialog(self.tr, self.parent, self.tr("dlg_pause"))
        d.box.addWidget(QLabel(self.tr("dlg_reason")))
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(self.tr("reasons").split("|"))
        d.box.addWidget(combo)
        d.finish_layout()
        return d, lambda: combo.currentText().strip()[:64]
