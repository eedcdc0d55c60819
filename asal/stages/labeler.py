"""What notebooks/05_label.ipynb does: show the images a run asks for, one at a time, and
write each label to labels.csv the moment it is given.

`LabelSession` holds the logic and is tested without a browser; `labeling_widget` lays it
out with ipywidgets (the image large, beside it the anomaly map of the scorer that ranked
the pool where it has maps and is on disk, its anomaly score and rank, good / defect /
back buttons with the keys g, d and b, and "k of n"). `LabelerView` is what 05 displays:
the widget where a browser runs one (JupyterLab), and the same layout as static HTML where
none does (the documentation site, a notebook stored without widget state), never the
widget's Python repr.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from asal.config.layout import al_dir, labels_path, shown_in_runs, source_batches
from asal.data.batchfiles import ranking
from asal.data.folders import pool_key
from asal.data.images import list_pool
from asal.data.labels import LABEL_OF, TO_LABEL_CSV, read_labels, read_to_label, set_labels
from asal.errors import AsalError
from asal.stages.anomaly_maps import AnomalyMaps
from asal.stages.run_folders import folder_kind

if TYPE_CHECKING:
    from asal.config.schema import Params

DISPLAY_PX = 512                  # the image's longer side on screen
STATIC_PX = 320                   # in the static picture (the site, a stored notebook)
KEYS = {"g": "good", "d": "defect", "b": "back"}
MAP_NOTE = ("The anomaly map of the scorer that ranked the pool: bright where it suspects a "
            "defect")
# the buttons: label, background, text colour (ipywidgets' success / danger / default)
BUTTONS = {"good": ("&#10003; good (g)", "#388e3c", "#fff"),
           "defect": ("&#10007; defect (d)", "#d32f2f", "#fff"),
           "back": ("&#8592; back (b)", "#eeeeee", "#000")}


class LabelSession:
    """The images of one run's to_label.csv and the person's place among them."""

    def __init__(self, cfg: Params):
        self.cfg = cfg
        self.run_folder = al_dir(cfg)
        self.run = folder_kind(self.run_folder)
        self.items = read_to_label(self.run_folder)
        self.labels_file = labels_path(cfg)
        paths, _ = list_pool(cfg.data_root, cfg.category)
        self.pool_keys = [pool_key(p) for p in paths]
        self.file_of = {pool_key(p): Path(p) for p in paths}
        unknown = [k for k in self.items if k not in self.file_of]
        if unknown:
            raise AsalError(f"{self.run_folder / TO_LABEL_CSV} asks for {unknown[0]}, which "
                            f"is not in the pool of {cfg.category}; run 03 again to renew it.")
        # anomaly score and rank, as 02 wrote them (a run that asks for nothing needs none)
        self.ranking = ranking(source_batches(cfg)).set_index("path") if self.items else None
        self.labels = read_labels(self.labels_file, self.pool_keys, cfg.data_root)
        self.position = self.first_unlabeled()
        maps = AnomalyMaps.of(cfg) if self.items else None
        self.maps = maps if maps is not None and maps.has_maps else None   # where it suspects

    # ----------------------------------------------------------------- where the person is
    def first_unlabeled(self) -> int:
        """Where a session starts: the first image without a label (the end when none)."""
        return next((i for i, k in enumerate(self.items) if k not in self.labels),
                    len(self.items))

    @property
    def current(self) -> str | None:
        return self.items[self.position] if self.position < len(self.items) else None

    @property
    def done(self) -> bool:
        return all(k in self.labels for k in self.items)

    def progress(self) -> str:
        n = len(self.items)
        given = sum(k in self.labels for k in self.items)
        if self.current is None:
            return f"{given} of {n} labeled"
        return f"{self.position + 1} of {n} ({given} labeled)"

    # ------------------------------------------------------------------------- actions
    def give(self, label: str):
        """Label the current image (good or defect), save at once, move on."""
        if label not in LABEL_OF:
            raise AsalError(f"Label '{label}' is unknown; use good or defect.")
        if self.current is None:
            return
        self.labels = set_labels(self.labels_file, {self.current: LABEL_OF[label]},
                                 self.pool_keys, self.cfg.data_root)
        self.position += 1

    def back(self):
        """One image back, to see or change its label."""
        self.position = max(0, self.position - 1)

    def press(self, key: str):
        """A keyboard shortcut: g good, d defect, b back; other keys do nothing."""
        action = KEYS.get(key.lower())
        if action == "back":
            self.back()
        elif action:
            self.give(action)

    # ------------------------------------------------------------------- what is shown
    def nothing_shown(self) -> str:
        """Why no image is shown: all are labeled, or the run asks for none, and why."""
        folder = shown_in_runs(self.cfg, self.run_folder)
        if self.items and self.done:
            return (f"All {len(self.items)} images are labeled and saved in "
                    f"{shown_in_runs(self.cfg, self.labels_file)}. Run 03 again (same "
                    "parameters) to continue.")
        if self.items:
            return "End of the list; press back to label the images still open."
        if self.run.kind != "al":
            return (f"No run of 03 in {folder}: 05 shows what a run of 03 asks for, so set "
                    "profile, category, init, query and seed to the run's (for your own "
                    "images, profile \"own\"), or run 03 first.")
        if self.run.finished:
            return (f"The run in {folder} is finished and asks for no image; to label more, "
                    "raise cycles and run 03 again (next_to_label.csv in its folder lists "
                    "what it would ask next).")
        return (f"The run in {folder} asks for no image now; run 03 again with the same "
                "parameters to see what it needs next.")

    def label_of(self, key: str) -> str | None:
        value = self.labels.get(key)
        return None if value is None else ("good" if value == 0 else "defect")

    def caption(self) -> str:
        key = self.current
        if key is None:
            return html.escape(self.nothing_shown())   # names and paths are text, not markup
        parts = [f"<b>{self.progress()}</b>", f"<code>{html.escape(key)}</code>"]
        if self.ranking is not None and key in self.ranking.index:
            row = self.ranking.loc[key]
            score = f"anomaly score {row['score']:.4g}, " if "score" in row else ""
            parts.append(f"{score}rank {int(row['rank'])} of {len(self.ranking)} "
                         "(1 = most anomalous)")
        given = self.label_of(key)
        parts.append(f"labeled <b>{given}</b> (click to change)" if given else "not labeled yet")
        return " · ".join(parts)

    def image_png(self, key: str | None = None, size: int = DISPLAY_PX) -> bytes:
        """The image as PNG bytes, its longer side scaled to `size` pixels."""
        with Image.open(self.file_of[key or self.current]) as img:
            return _png(img.convert("RGB"), size)

    def map_png(self, key: str | None = None, size: int = DISPLAY_PX) -> bytes | None:
        """DRAEM's anomaly map over the image as PNG bytes; None without a detector."""
        if self.maps is None:
            return None
        return _png(self.maps.overlay(self.file_of[key or self.current]), size)


def _png(img: Image.Image, size: int) -> bytes:
    """PNG bytes of an image, its longer side scaled to `size` pixels."""
    scale = size / max(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def labeling_widget(session: LabelSession):
    """The labeler as ipywidgets: image, caption, buttons; keys g / d / b on the image."""
    import ipywidgets as w
    from ipyevents import Event

    image = w.Image(format="png", layout=w.Layout(width=f"{DISPLAY_PX}px",
                                                  height=f"{DISPLAY_PX}px",
                                                  object_fit="contain"))
    amap = w.Image(format="png", layout=w.Layout(width=f"{DISPLAY_PX}px",
                                                 height=f"{DISPLAY_PX}px",
                                                 object_fit="contain"))
    map_note = w.HTML(MAP_NOTE if session.maps is not None else "")
    caption = w.HTML()
    message = w.HTML()
    buttons = {
        "good": w.Button(description="good (g)", button_style="success", icon="check"),
        "defect": w.Button(description="defect (d)", button_style="danger", icon="times"),
        "back": w.Button(description="back (b)", icon="arrow-left"),
    }
    for button in buttons.values():
        button.layout = w.Layout(width="150px", height="48px")

    def show():
        caption.value = session.caption()
        key = session.current
        image.layout.visibility = "visible" if key else "hidden"
        amap.layout.visibility = "visible" if key and session.maps is not None else "hidden"
        if key:
            image.value = session.image_png(key)
            amap.value = session.map_png(key) or b""
        for name in ("good", "defect"):
            buttons[name].disabled = key is None

    def act(action):
        try:
            action()
            message.value = ""
        except AsalError as err:        # e.g. labels.csv was edited into a bad state
            message.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
        show()

    buttons["good"].on_click(lambda _: act(lambda: session.give("good")))
    buttons["defect"].on_click(lambda _: act(lambda: session.give("defect")))
    buttons["back"].on_click(lambda _: act(session.back))
    pictures = [image] + ([amap] if session.maps is not None else [])
    box = w.VBox([caption, w.HBox(pictures), map_note, w.HBox(list(buttons.values())),
                  message],
                 layout=w.Layout(border="1px solid #ccc", padding="8px", width="fit-content"))
    # ipyevents hears the keys while the pointer is over the labeler
    keys = Event(source=box, watched_events=["keydown"], prevent_default_action=True)
    keys.on_dom_event(lambda event: act(lambda: session.press(event.get("key", ""))))
    box.key_events = keys               # keeps the listener alive as long as the labeler
    show()
    return box


def static_html(session: LabelSession, size: int = STATIC_PX) -> str:
    """The labeler's layout as plain HTML: its caption, the image and its anomaly map, the
    buttons (which do nothing here; labels are given where the widget runs)."""
    key = session.current
    parts = [f"<div style='margin:0 0 6px 0'>{session.caption()}</div>"]
    if key is not None:
        pictures = [session.image_png(key, size)] + \
            ([session.map_png(key, size)] if session.maps is not None else [])
        parts.append("<div style='display:flex;gap:8px'>" + "".join(
            f"<img alt='' width='{size}' height='{size}' src='data:image/png;base64,"
            f"{base64.b64encode(png).decode()}'>" for png in pictures) + "</div>")
        if session.maps is not None:
            parts.append(f"<div style='margin:4px 0'>{MAP_NOTE}</div>")
    buttons = "".join(
        f"<span style='display:inline-block;width:150px;padding:12px 0;margin:6px 4px 0 0;"
        f"text-align:center;background:{bg};color:{fg};font-weight:500'>{text}</span>"
        for name, (text, bg, fg) in BUTTONS.items())
    parts.append(f"<div>{buttons}</div>")
    return ("<div style='border:1px solid #ccc;padding:8px;display:inline-block;"
            "font-family:sans-serif;font-size:14px'>" + "".join(parts) + "</div>")


class LabelerView:
    """What 05 displays: the widget where a browser runs widgets (JupyterLab prefers it),
    else the same layout as static HTML, and a plain sentence for a text-only reader."""

    def __init__(self, session: LabelSession):
        self.session = session
        self.widget = labeling_widget(session)

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/html"] = static_html(self.session)
        bundle["text/plain"] = html.unescape(re.sub(r"<[^>]+>", "", self.session.caption()))
        return bundle
