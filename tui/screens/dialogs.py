"""Confirmation dialogs: the action runs from the dialog, so a refusal (a bad address, a missing reason)
is shown in place and the dialog stays open with what was typed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from archivist import errors
from tui.render import lit


@dataclass
class Outcome:
    value: str  # what was typed
    position: int = 0  # the event recorded (0: nothing needed recording)
    conflict: str | None = None  # someone else changed the article first; nothing was written
    result: object = None  # what `perform` returned when it is not a log position (a batch's result)


class ActionDialog(ModalScreen[Outcome | None]):
    """Asks, optionally takes one line of text, and records the action with `perform(text)` (which returns the
    log position, or a batch's result)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class Finished(Message):
        def __init__(self, outcome: Outcome) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self, title: str, question: Text, *, label: str, perform: Callable[[str], object],
                 placeholder: str = "", value: str = "", required: str | None = None,
                 confirm: str = "Confirm", variant: str = "primary") -> None:
        super().__init__()
        self.dialog_title = title
        self.question = question
        self.label = label
        self.placeholder = placeholder
        self.value = value
        self.required = required
        self.confirm_label = confirm
        self.variant = variant
        self.perform = perform

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.border_title = self.dialog_title
            yield Static(self.question, id="question")
            yield Label(Text(self.label), id="field-label")
            yield Input(value=self.value, placeholder=self.placeholder, id="field", select_on_focus=False)
            yield Static("", id="dialog-error")
            with Horizontal(id="buttons"):
                yield Button(Text(self.confirm_label), variant=self.variant, id="confirm")  # type: ignore[arg-type]
                yield Button(Text("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#dialog-error").display = False
        self.query_one("#field", Input).focus()

    def show_error(self, error: str) -> None:
        box = self.query_one("#dialog-error", Static)
        box.update(lit(f"⚠ {error}"))
        box.display = True
        self.query_one("#confirm", Button).disabled = False
        self.query_one("#field", Input).focus()

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#field")
    def action_confirm(self) -> None:
        text = self.query_one("#field", Input).value.strip()
        if self.required and not text:
            self.show_error(self.required)
            return
        self.query_one("#confirm", Button).disabled = True
        self.record(text)

    @work(thread=True, exclusive=True, group="dialog")
    def record(self, text: str) -> None:
        try:
            done = self.perform(text)
        except errors.ConflictError as exc:
            self.post_message(self.Finished(Outcome(text, conflict=str(exc))))
        except errors.ArchivistError as exc:
            self.post_message(self.Failed(str(exc)))
        except Exception as exc:  # shown, never swallowed
            self.post_message(self.Failed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Finished(Outcome(text, position=done if isinstance(done, int) else 0,
                                                    result=done)))

    def on_action_dialog_failed(self, msg: Failed) -> None:
        self.show_error(msg.error)

    def on_action_dialog_finished(self, msg: Finished) -> None:
        self.dismiss(msg.outcome)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """Pick one of a few choices (what to do to every result): enter chooses, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, question: Text, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.dialog_title = title
        self.question = question
        self.choices = choices  # (id, label)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.border_title = self.dialog_title
            yield Static(self.question, id="question")
            yield OptionList(*(Option(Text(label), id=cid) for cid, label in self.choices), id="choices")

    def on_mount(self) -> None:
        self.query_one("#choices", OptionList).focus()

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
