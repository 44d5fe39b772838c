"""A Streamlit session without a browser: the ``/_stcore/stream`` websocket driven directly
(issue 31 item 3), so that a load test measures the server, not twenty Chromium renderers.

What the browser's frontend does, reduced to what the server sees: connect (subprotocol
``streamlit``; no Origin header, so no XSRF token is needed — it only guards st.login's
cookie), ask for a run (BackMsg ``rerun_script`` with a ``ClientState``: the page's script
hash, the widgets changed by this interaction, the fragment they live in), and read
ForwardMsgs until ``script_finished``. The screen is rebuilt from the deltas: element ids
are the server's hashes, read from the elements, never computed here. Widgets are found by
their label; only the widgets an interaction changes are sent (the server keeps the others'
values, as it does for a browser that sends them unchanged). Fragments that ask for
``run_every`` are re-run every interval between interactions, as the frontend does.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

log = logging.getLogger(__name__)

TIMEOUT_S = 90.0  # a run slower than this is an error (as the browser test's timeout)
RERUN = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
FRAGMENT_DONE = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY")
TEXT_KINDS = ("markdown", "heading", "alert", "text")
UNESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!:|~<>])")


@dataclass(frozen=True)
class Shown:
    """One element on the screen and the fragment that drew it ("" for the page)."""

    element: Element
    fragment_id: str

    @property
    def kind(self) -> str:
        return str(self.element.WhichOneof("type"))

    @property
    def proto(self) -> Any:
        return getattr(self.element, self.kind)

    @property
    def label(self) -> str:
        return str(getattr(self.proto, "label", ""))


@dataclass
class Screen:
    """What a browser would show: the elements of the last runs, by their delta path."""

    elements: dict[tuple[int, ...], Shown] = field(default_factory=dict)

    def texts(self) -> list[str]:
        """The text of every markdown, heading, alert and text element (captions too),
        without Markdown's backslash escapes."""
        return [UNESCAPE.sub(r"\1", s.proto.body) for s in self.elements.values()
                if s.kind in TEXT_KINDS]

    def find_text(self, pattern: str) -> str | None:
        """The first text matching the regular expression ``pattern`` (searched)."""
        compiled = re.compile(pattern)
        return next((t for t in self.texts() if compiled.search(t)), None)

    def widget(self, kind: str, label: str | re.Pattern[str]) -> Shown:
        """The widget of ``kind`` (e.g. ``text_input``) whose label is ``label`` (or
        matches it); KeyError when the screen has none."""
        for shown in self.elements.values():
            if shown.kind == kind and (shown.label == label if isinstance(label, str)
                                       else label.search(shown.label)):
                return shown
        raise KeyError(f"no {kind} labelled {label!r} on the screen")

    def exceptions(self) -> list[str]:
        """Streamlit's exception boxes (an uncaught error in a run) as "Type: message"."""
        return [f"{s.proto.type}: {s.proto.message[:200]}" for s in self.elements.values()
                if s.kind == "exception"]


def value(shown: Shown, given: Any) -> WidgetState:
    """The WidgetState a browser sends for ``given`` entered into ``shown``: a button is
    triggered; a selectbox or radio takes the option's shown text; a date a list of ISO
    dates; a whole-number input an int."""
    state = WidgetState(id=shown.proto.id)
    if shown.kind == "button":
        state.trigger_value = True
    elif shown.kind == "number_input":
        if shown.proto.data_type == shown.proto.INT:
            state.int_value = int(float(str(given)))
        else:
            state.double_value = float(given)
    elif shown.kind == "date_input":
        state.string_array_value.data.extend([str(given)])
    else:  # text_input, time_input ("HH:MM"), selectbox and radio (the shown option)
        state.string_value = str(given)
    return state


class Session:
    """One browser tab's connection: the pages st.navigation offers, the screen, the
    fragments to re-run on a timer. One run at a time (``lock``)."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.pages: dict[str, str] = {}  # title -> page_script_hash
        self.page_hash = ""
        self.screen = Screen()
        self.auto: dict[str, float] = {}  # fragment id -> interval (s)
        self.entered: dict[str, WidgetState] = {}  # what this tab last sent, by widget id
        self.lock = asyncio.Lock()
        self.socket: Any = None
        self._ticker: asyncio.Task | None = None

    async def connect(self) -> float:
        """Open the websocket and run the default page, as a freshly loaded tab does."""
        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"],
                                               max_size=None, open_timeout=TIMEOUT_S,
                                               ping_interval=None)
        self._ticker = asyncio.create_task(self._tick())
        return await self.run()

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self.socket is not None:
            await self.socket.close()

    async def run(self, widgets: Iterable[WidgetState] = (), page: str | None = None,
                  fragment_id: str = "", auto: bool = False) -> float:
        """Ask for a run; seconds from sending it until its ``script_finished`` (a run
        that ends with ``st.rerun()`` is followed to the run after it)."""
        async with self.lock:
            return await self._run(list(widgets), page, fragment_id, auto)

    async def _run(self, widgets: list[WidgetState], page: str | None, fragment_id: str,
                   auto: bool) -> float:
        msg = BackMsg()
        state = msg.rerun_script
        state.page_script_hash = self.pages.get(page, "") if page else self.page_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend(widgets)
        self.entered.update((w.id, w) for w in widgets if not w.trigger_value)
        started = time.perf_counter()
        await self.socket.send(msg.SerializeToString())
        await asyncio.wait_for(self._until_finished(), TIMEOUT_S)
        return time.perf_counter() - started

    async def _until_finished(self) -> None:
        drawn: dict[tuple[int, ...], Shown] = {}
        timers: dict[str, float] = {}
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.socket.recv())
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                drawn = {}
                self.page_hash = fwd.new_session.page_script_hash
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                path = tuple(fwd.metadata.delta_path)
                drawn[path] = Shown(fwd.delta.new_element, fwd.delta.fragment_id)
            elif kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "auto_rerun":
                timers[fwd.auto_rerun.fragment_id] = fwd.auto_rerun.interval
            elif kind == "script_finished" and fwd.script_finished != RERUN:
                fragment = fwd.script_finished == FRAGMENT_DONE
                self.auto = {**self.auto, **timers} if fragment else timers
                self._show(drawn, fragment)
                return

    def _show(self, drawn: dict[tuple[int, ...], Shown], fragment: bool) -> None:
        if not fragment:
            self.screen = Screen(drawn)
            return
        ran = {s.fragment_id for s in drawn.values()}
        kept = {p: s for p, s in self.screen.elements.items() if s.fragment_id not in ran}
        self.screen = Screen({**kept, **drawn})

    def current(self, shown: Shown) -> Any:
        """A widget's value as the tab shows it: set by the server, else as last entered
        here, else its default."""
        if getattr(shown.proto, "set_value", False):
            return shown.proto.value
        state = self.entered.get(shown.proto.id)
        if state is not None:
            return getattr(state, str(state.WhichOneof("value")))
        return shown.proto.default

    async def _tick(self) -> None:
        """Re-run ``run_every`` fragments on their interval, between interactions."""
        due: dict[str, float] = {}
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for fragment_id, interval in list(self.auto.items()):
                due.setdefault(fragment_id, now + interval)
                if now < due[fragment_id] or self.lock.locked():
                    continue
                due[fragment_id] = now + interval
                try:
                    await self.run(fragment_id=fragment_id, auto=True)
                except (asyncio.TimeoutError, websockets.ConnectionClosed) as exc:
                    log.warning("auto rerun of %s failed: %s", fragment_id, exc)
            for gone in set(due) - set(self.auto):
                del due[gone]
