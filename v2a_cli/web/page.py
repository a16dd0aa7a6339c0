"""The Gradio page: Generate, Compose and Interpolate tabs over an `AppService`, and the `/generate` API.

Import this module inside `server.offline_environment()` (no analytics, our temporary folder): Gradio
reads some of that environment when it is imported.

Each tab: inputs on the left, results on the right (that column stays in view while the page scrolls);
one progress bar over the results naming the stage; a red one-line error that leaves the previous
results in place; Cancel stops the job at its next denoising step and frees the queue (so does closing
the tab). Controls appear when they apply (a video's start/end, a long video's join, sources for
pictures and videos).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from v2a_cli.errors import V2AError
from v2a_cli.generation.compose import Source
from v2a_cli.generation.pipeline import PRESETS
from v2a_cli.media.inputs import AUDIO_EXTS, IMAGE_EXTS, KIND_BY_EXT, VIDEO_EXTS
from v2a_cli.web.service import (
    DEFAULT_PRESET, MAX_POINTS, MAX_SECONDS, MAX_VARIATIONS, WEIGHT, AppService, Cancelled, GenerateResult, Settings,
    VideoSettings, page_message, preset_names,
)
from v2a_cli.validation import check_option

DEVICE_QUEUE = "device"  # every generating event shares this concurrency group: one request at a time
JOIN_MODES = [("continue each segment from the last (smooth)", "continue"),
              ("generate segments apart, crossfade them", "crossfade")]
SOURCE_MODES = [("the whole picture", "whole"), ("the picture and its detected sound sources", "detect")]
COMPOSE_SLOTS = 4  # per kind (pictures/videos, texts, sounds); one shown at first, more added as needed
COMPACT_UPLOAD = 100  # pixels: the upload boxes of the Compose and Interpolate tabs
ERROR_COLOUR = "#b91c1c"

# Red error lines; result columns that stay in view while the inputs scroll.
PAGE_CSS = f"""
.v2a-error, .v2a-error * {{ color: {ERROR_COLOUR} !important; }}
.v2a-results {{ position: sticky; top: 0.5rem; align-self: flex-start; max-height: calc(100vh - 1rem);
               overflow-y: auto; }}
.gradio-container {{ overflow: clip !important; }}  /* "hidden" would make it the sticky columns' scroller */
"""

INTRO = """# v2a — sound for pictures and videos
Drop a picture, a video or a sound (or only type a prompt) and press **Generate**. Everything runs on this machine; nothing is sent anywhere.
"""
WEIGHTS_HELP = ("Weights say how much each part counts, relative to the others: 2 counts twice as much as 1 "
                "(any number above 0).")


def _preset_value(preset: str, name: str) -> Any:
    return PRESETS.get(preset, PRESETS[DEFAULT_PRESET]).get(name)


class JobStops:
    """Per browser tab (Gradio's session), the stop flags of its running jobs: Cancel and closing the
    tab set them; the job sees it at its next denoising step."""

    def __init__(self):
        self._lock = threading.Lock()
        self._flags: dict[str, set[threading.Event]] = {}

    def start(self, session: str) -> threading.Event:
        flag = threading.Event()
        with self._lock:
            self._flags.setdefault(session, set()).add(flag)
        return flag

    def finish(self, session: str, flag: threading.Event) -> None:
        with self._lock:
            running = self._flags.get(session, set())
            running.discard(flag)
            if not running:  # a long-running app sees many tabs: keep only those with jobs
                self._flags.pop(session, None)

    def stop(self, session: str) -> None:
        with self._lock:
            for flag in self._flags.get(session, ()):
                flag.set()


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "api"


def _reporter(progress: gr.Progress, steps: int) -> tuple[Callable[[int, int], None], Callable[[str], None]]:
    """(step callback, stage callback) drawing one bar: "window 2 of 5, step 12 of 25"."""
    steps = max(1, int(steps))

    def on_step(done: int, total: int) -> None:
        windows = max(1, -(-total // steps))
        window = min(windows, done // steps + 1) if done < total else windows
        step = done - (window - 1) * steps
        where = f"window {window} of {windows}, " if windows > 1 else ""
        progress((done, total), desc=f"{where}step {step} of {steps}", unit="steps")

    def on_stage(text: str) -> None:
        progress(0.0, desc=text)

    return on_step, on_stage


def _status(message: str = "") -> dict:
    """The red one-line error (hidden when there is none)."""
    return gr.update(value=f"**error:** {page_message(message)}" if message else "", visible=bool(message))


def _note(message: str = "") -> dict:
    return gr.update(value=message, visible=bool(message))


def _sound_slots(sounds: list, count: int, with_images: bool = True) -> list[dict]:
    updates = []
    for index in range(count):
        sound = sounds[index] if index < len(sounds) else None
        updates.append(gr.update(value=str(sound.audio) if sound else None, visible=sound is not None,
                                 label=sound.label if sound else None))
        if with_images:
            updates.append(gr.update(value=str(sound.spectrogram) if sound else None, visible=sound is not None))
    return updates


def _sound_components(count: int, with_images: bool = True, prefix: str = "sound") -> list[gr.Component]:
    components: list[gr.Component] = []
    for index in range(count):
        components.append(gr.Audio(type="filepath", interactive=False, visible=False, buttons=["download"],
                                   label=f"variation {index + 1}", elem_id=f"{prefix}-{index + 1}"))
        if with_images:
            components.append(gr.Image(type="filepath", interactive=False, visible=False, show_label=False,
                                       buttons=["download", "fullscreen"],
                                       height=110, elem_id=f"{prefix}-{index + 1}-spectrogram"))
    return components


def _unchanged(count: int) -> list[dict]:
    return [gr.update() for _ in range(count)]


def _float_or_none(value) -> float | None:
    return None if value is None or value == "" else float(value)


def _settings(preset_name, step_count, seed_value, seconds, negative_text, guidance=None) -> Settings:
    """The shared settings as the page sends them (a cleared number field arrives as None: the default)."""
    return Settings(preset_name or DEFAULT_PRESET, None if step_count is None else int(step_count),
                    0 if seed_value is None else int(seed_value),
                    Settings.duration if seconds is None else float(seconds), negative_text or "",
                    _float_or_none(guidance))


def build_page(service: AppService, examples: list[Path] | None = None) -> gr.Blocks:
    """The page over `service`. Launch it with `server.serve` (queue, limits, offline settings).
    `examples`: a picture, a video and a sound to offer as clickable examples."""
    media_types = sorted(KIND_BY_EXT)
    visual_types = sorted(IMAGE_EXTS | VIDEO_EXTS)
    sound_types = sorted(AUDIO_EXTS | VIDEO_EXTS)
    queue_kwargs: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": DEVICE_QUEUE}
    stops = JobStops()

    with gr.Blocks(title="v2a", analytics_enabled=False, delete_cache=(600, 3600)) as page:
        gr.Markdown(INTRO)
        with gr.Accordion("Settings (all tabs)", open=False, elem_id="settings"):
            with gr.Row():
                preset = gr.Dropdown(preset_names(), value=DEFAULT_PRESET, label="Preset", elem_id="setting-preset",
                                     info="fast: a fast sampler, few steps; paper: 200 DDIM steps (slow)")
                steps = gr.Number(_preset_value(DEFAULT_PRESET, "steps"), precision=0, label="Steps",
                                  elem_id="setting-steps", info="denoising steps: more is slower and finer")
                seed = gr.Number(0, precision=0, label="Seed", elem_id="setting-seed",
                                 info="same seed, same sound; variation v uses seed + v")
                guidance = gr.Number(_preset_value(DEFAULT_PRESET, "guidance"), label="Guidance",
                                     elem_id="setting-guidance",
                                     info="how closely the sound follows the picture (0: not at all)")
                duration = gr.Number(10.0, label="Seconds of sound", elem_id="setting-duration",
                                     info=f"pictures, texts and sounds, up to {MAX_SECONDS:g} s (a video gets its "
                                          "own length); Compose, Interpolate: up to 10.24 s")
            negative = gr.Textbox("", label="Negative prompt", elem_id="setting-negative",
                                  placeholder="what to steer away from, e.g. 'speech'")
            preset.change(lambda name: [gr.update(value=_preset_value(name, "steps")),
                                        gr.update(value=_preset_value(name, "guidance"))],
                          inputs=[preset], outputs=[steps, guidance], queue=False)
        settings_inputs = [preset, steps, seed, duration, negative, guidance]

        # -- Generate -------------------------------------------------------------------------------
        with gr.Tab("Generate", elem_id="tab-generate"):
            with gr.Row():
                with gr.Column():
                    source = gr.File(label="Picture, video or sound (or none: the prompt alone)",
                                     file_types=media_types, type="filepath", elem_id="generate-input", height=110)
                    preview_image = gr.Image(type="filepath", interactive=False, visible=False, height=180,
                                             label="Uploaded picture", elem_id="generate-preview-image")
                    preview_video = gr.Video(interactive=False, visible=False, height=180, label="Uploaded video",
                                             elem_id="generate-preview-video")
                    preview_audio = gr.Audio(type="filepath", interactive=False, visible=False,
                                             label="Uploaded sound", elem_id="generate-preview-audio")
                    preview_note = gr.Markdown(visible=False, elem_id="generate-preview-note")
                    prompt = gr.Textbox("", label="Prompt", elem_id="generate-prompt",
                                        placeholder="e.g. 'heavy rain'; with a file it is mixed into its sound")
                    prompt_weight = gr.Slider(0.0, 1.0, value=0.3, step=0.05, label="Prompt weight", visible=False,
                                              elem_id="generate-prompt-weight",
                                              info="how much the prompt counts against the file (0..1)")
                    variations = gr.Slider(1, MAX_VARIATIONS, value=1, step=1, label="Variations",
                                           elem_id="generate-variations", info="several sounds, each its own seed")
                    with gr.Column(visible=False) as video_controls:
                        with gr.Row():
                            start = gr.Number(0.0, label="Start (s)", elem_id="generate-start",
                                              info="where the new sound starts in the video")
                            end = gr.Number(0.0, label="End (s)", elem_id="generate-end",
                                            info="where it ends (filled with the video's length)")
                        mix_original = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label="Keep the video's own sound",
                                                 elem_id="generate-mix-original",
                                                 info="its volume under the new sound (0: replaced by it)")
                    join = gr.Radio(JOIN_MODES, value="continue", label="Long video: join its segments by",
                                    visible=False, elem_id="generate-join",
                                    info="a video longer than 10.24 s is made in segments")
                    sources = gr.Radio(SOURCE_MODES, value="whole", label="Sound from", visible=False,
                                       elem_id="generate-sources",
                                       info="detected sources: find the things that make sound and mix their sounds in")
                    kind = gr.State("")  # what was uploaded: "image", "video", "audio" or "" (none)
                    with gr.Row():
                        run = gr.Button("Generate", variant="primary", elem_id="generate-button")
                        cancel = gr.Button("Cancel", variant="stop", elem_id="generate-cancel")
                    if examples:
                        gr.Examples([[str(path), ""] for path in examples] + [[None, text] for text in
                                                                                ("heavy rain on a tin roof",)],
                                    inputs=[source, prompt], label="Examples (click one)", elem_id="generate-examples",
                                    example_labels=[f"{path.name}" for path in examples] + ["text: heavy rain"])
                with gr.Column(elem_classes=["v2a-results"]):
                    header = gr.Markdown("Results appear here.", elem_id="generate-results", min_height=40)
                    status = gr.Markdown(visible=False, elem_id="generate-status", elem_classes=["v2a-error"])
                    note = gr.Markdown(visible=False, elem_id="generate-note")
                    videos = [gr.Video(interactive=False, visible=False, buttons=["download"],
                                       label=f"variation {index + 1} with its video", elem_id=f"generate-video-{index + 1}")
                              for index in range(MAX_VARIATIONS)]  # first: a video input's result is its video
                    sounds = []
                    for index in range(MAX_VARIATIONS):
                        sounds += [gr.Audio(type="filepath", interactive=False, visible=False, buttons=["download"],
                                            label=f"variation {index + 1}", elem_id=f"generate-sound-{index + 1}"),
                                   gr.Image(type="filepath", interactive=False, visible=False, show_label=False,
                                            buttons=["download", "fullscreen"], height=110,
                                            elem_id=f"generate-sound-{index + 1}-spectrogram")]
                    files = gr.File(label="Downloads", file_count="multiple", interactive=False, visible=False,
                                    elem_id="generate-files")
                    classes = gr.Label(label="Sound classes the zero-shot bridge chose (weights)", visible=False,
                                       elem_id="generate-classes")
                    boxes = gr.Image(type="filepath", interactive=False, visible=False, elem_id="generate-boxes",
                                     label="Detected sound sources (class, score, weight)",
                                     buttons=["download", "fullscreen"])

            upload_outputs = [preview_image, preview_video, preview_audio, preview_note, status, kind, prompt_weight,
                              video_controls, start, end, join, sources]

            def show_upload(path):
                """Preview the upload and show the controls that apply to it."""
                hidden = gr.update(value=None, visible=False)
                nothing = [hidden, hidden, hidden, _note()]
                closed = [gr.update(visible=False), gr.update(), gr.update(), gr.update(visible=False),
                          gr.update(visible=False)]
                if not path:
                    return [*nothing, _status(), "", gr.update(visible=False), *closed]
                try:
                    seen = service.preview(path)
                except V2AError as exc:
                    return [*nothing, _status(str(exc)), "", gr.update(visible=False), *closed]
                is_video = seen.kind == "video"
                return [
                    gr.update(value=str(seen.picture or path), visible=seen.kind == "image" or seen.picture is not None,
                              label="Uploaded video (its first frame)" if seen.picture else "Uploaded picture"),
                    gr.update(value=path if is_video and seen.playable else None, visible=is_video and seen.playable),
                    gr.update(value=path if seen.kind == "audio" else None, visible=seen.kind == "audio"),
                    _note(seen.note), _status(), seen.kind,
                    gr.update(visible=True),  # prompt weight: the prompt is mixed into the file's sound
                    gr.update(visible=is_video),
                    gr.update(value=0.0) if is_video else gr.update(),
                    gr.update(value=round(seen.seconds, 2)) if is_video else gr.update(),
                    gr.update(visible=seen.long),
                    gr.update(visible=seen.kind in ("image", "video")) if seen.kind != "audio"
                    else gr.update(visible=False, value="whole"),
                ]

            source.change(show_upload, inputs=[source], outputs=upload_outputs, queue=False, show_progress="hidden")

            generate_outputs = [header, status, note, *sounds, *videos, classes, boxes, files]

            def generate_page(path, uploaded, prompt_text, weight, variation_count, start_s, end_s, mix, join_mode,
                              sources_mode, preset_name, step_count, seed_value, seconds, negative_text,
                              guidance_value, request: gr.Request = None, progress=gr.Progress()):
                flag = stops.start(_session(request))
                try:
                    settings = _settings(preset_name, step_count, seed_value, seconds, negative_text, guidance_value)
                    on_step, on_stage = _reporter(progress, settings.steps or _preset_value(settings.preset, "steps"))
                    video = (VideoSettings(_float_or_none(start_s), _float_or_none(end_s), float(mix or 0.0))
                             if uploaded == "video" else VideoSettings())
                    result = service.generate(
                        path, settings, prompt=prompt_text or "",
                        prompt_weight=_float_or_none(weight) if path else None,
                        variations=int(variation_count or 1), join=join_mode,
                        sources=sources_mode if uploaded in ("image", "video") else None, video=video,
                        progress=on_step, on_stage=on_stage, should_stop=flag.is_set)
                except Cancelled:
                    return [gr.update(), _status(), _note("Stopped."), *_unchanged(len(generate_outputs) - 3)]
                except V2AError as exc:
                    return [gr.update(), _status(str(exc)), _note(), *_unchanged(len(generate_outputs) - 3)]
                finally:
                    stops.finish(_session(request), flag)
                return _generate_outputs(result)

            generate_event = run.click(
                generate_page,
                inputs=[source, kind, prompt, prompt_weight, variations, start, end, mix_original, join, sources,
                        *settings_inputs],
                outputs=generate_outputs, api_name="generate_page", api_visibility="undocumented",
                show_progress_on=[header], **queue_kwargs)

            # The API endpoint: the input file first, everything else with the page's defaults.
            api_audio, api_video = gr.File(visible=False), gr.File(visible=False)
            api_trigger = gr.Button(visible=False)
            api_trigger.click(api_generate(service), inputs=[source, prompt, negative, seed, preset, steps, duration, join,
                                                              sources],
                              outputs=[api_audio, api_video], api_name="generate", **queue_kwargs)

        # -- Compose --------------------------------------------------------------------------------
        with gr.Tab("Compose", elem_id="tab-compose"):
            gr.Markdown("Pictures, videos, texts and sounds mixed into one scene's sound. " + WEIGHTS_HELP)
            with gr.Row():
                with gr.Column():
                    rows: dict[str, list] = {"image": [], "text": [], "audio": []}
                    values: dict[str, list] = {"image": [], "text": [], "audio": []}
                    for kind, label, first_visible in (("image", "Picture or video", True), ("text", "Text", True),
                                                       ("audio", "Sound", False)):
                        for index in range(COMPOSE_SLOTS):
                            with gr.Row(visible=first_visible and index == 0) as row:
                                if kind == "text":
                                    field = gr.Textbox("", label=f"{label} {index + 1}", scale=3,
                                                       elem_id=f"compose-{kind}-{index + 1}",
                                                       placeholder="e.g. 'birds singing'")
                                else:
                                    field = gr.File(label=f"{label} {index + 1}", type="filepath", scale=3,
                                                    file_types=visual_types if kind == "image" else sound_types,
                                                    height=COMPACT_UPLOAD, elem_id=f"compose-{kind}-{index + 1}")
                                weight = gr.Number(1.0, label="weight", scale=1, elem_id=f"compose-{kind}-{index + 1}-weight")
                            rows[kind].append(row)
                            values[kind] += [field, weight]
                    with gr.Row():
                        add_buttons = {kind: gr.Button(f"+ {name}", size="sm", elem_id=f"compose-add-{kind}")
                                       for kind, name in (("image", "picture or video"), ("text", "text"),
                                                          ("audio", "sound"))}
                    counts = {kind: gr.State(1 if kind != "audio" else 0) for kind in rows}
                    compose_variations = gr.Slider(1, MAX_VARIATIONS, value=1, step=1, label="Variations",
                                                   elem_id="compose-variations")
                    with gr.Row():
                        compose_run = gr.Button("Compose", variant="primary", elem_id="compose-button")
                        compose_cancel = gr.Button("Cancel", variant="stop", elem_id="compose-cancel")
                with gr.Column(elem_classes=["v2a-results"]):
                    compose_header = gr.Markdown("The scene's sound appears here.", elem_id="compose-results",
                                                 min_height=40)
                    compose_status = gr.Markdown(visible=False, elem_id="compose-status", elem_classes=["v2a-error"])
                    compose_note = gr.Markdown(visible=False, elem_id="compose-note")
                    compose_sounds = _sound_components(MAX_VARIATIONS, prefix="compose-sound")
                    compose_files = gr.File(label="Downloads", file_count="multiple", interactive=False, visible=False,
                                            elem_id="compose-files")

            for kind, button in add_buttons.items():
                def add_slot(count, kind=kind):
                    count = min(COMPOSE_SLOTS, count + 1)
                    return [count, *[gr.update(visible=index < count) for index in range(COMPOSE_SLOTS)],
                            gr.update(visible=count < COMPOSE_SLOTS)]

                button.click(add_slot, inputs=[counts[kind]], outputs=[counts[kind], *rows[kind], button], queue=False)

            compose_outputs = [compose_header, compose_status, compose_note, *compose_sounds, compose_files]
            slot_inputs = values["image"] + values["text"] + values["audio"]

            def compose_page(*arguments, request: gr.Request = None, progress=gr.Progress()):
                slot_values = arguments[:len(slot_inputs)]
                variation_count, *settings_values = arguments[len(slot_inputs):]
                flag = stops.start(_session(request))
                try:
                    mix = _compose_sources(slot_values)
                    settings = _settings(*settings_values)
                    on_step, _ = _reporter(progress, settings.steps or _preset_value(settings.preset, "steps"))
                    result = service.compose(mix, settings, variations=int(variation_count or 1),
                                             progress=on_step, should_stop=flag.is_set)
                except Cancelled:
                    return [gr.update(), _status(), _note("Stopped."), *_unchanged(len(compose_outputs) - 3)]
                except V2AError as exc:
                    return [gr.update(), _status(str(exc)), _note(), *_unchanged(len(compose_outputs) - 3)]
                finally:
                    stops.finish(_session(request), flag)
                return [gr.update(value="The scene's sound:"), _status(), _note(),
                        *_sound_slots(result.sounds, MAX_VARIATIONS), _downloads(result)]

            compose_event = compose_run.click(
                compose_page, inputs=[*slot_inputs, compose_variations, *settings_inputs], outputs=compose_outputs,
                api_name="compose", api_visibility="undocumented", show_progress_on=[compose_header], **queue_kwargs)

        # -- Interpolate ----------------------------------------------------------------------------
        with gr.Tab("Interpolate", elem_id="tab-interpolate"):
            gr.Markdown("A walk in sound from one end to the other. Each end is a file (picture, video, sound) "
                        "or a text: give one of the two.")
            with gr.Row():
                with gr.Column():
                    with gr.Row():
                        start_file = gr.File(label="Start: file", file_types=media_types, type="filepath",
                                             height=COMPACT_UPLOAD, elem_id="interpolate-start-file")
                        start_text = gr.Textbox("", label="…or start: text", elem_id="interpolate-start-text")
                    with gr.Row():
                        end_file = gr.File(label="End: file", file_types=media_types, type="filepath",
                                           height=COMPACT_UPLOAD, elem_id="interpolate-end-file")
                        end_text = gr.Textbox("", label="…or end: text", elem_id="interpolate-end-text")
                    points = gr.Slider(2, MAX_POINTS, value=5, step=1, label="Sounds along the way",
                                       info="both ends included", elem_id="interpolate-points")
                    slerp = gr.Checkbox(False, label="Walk the great circle evenly (slerp)",
                                        info="off: a straight line between the two, renormalised")
                    crossfade = gr.Slider(0.0, 1.0, value=0.1, step=0.05, label="Crossfade (s)",
                                          info="overlap between consecutive sounds in the whole walk")
                    with gr.Row():
                        walk_run = gr.Button("Interpolate", variant="primary", elem_id="interpolate-button")
                        walk_cancel = gr.Button("Cancel", variant="stop", elem_id="interpolate-cancel")
                with gr.Column(elem_classes=["v2a-results"]):
                    walk_header = gr.Markdown("The walk appears here.", elem_id="interpolate-results", min_height=40)
                    walk_status = gr.Markdown(visible=False, elem_id="interpolate-status", elem_classes=["v2a-error"])
                    walk_note = gr.Markdown(visible=False, elem_id="interpolate-note")
                    walk_audio = gr.Audio(type="filepath", interactive=False, label="The whole walk", visible=False,
                                          buttons=["download"], elem_id="interpolate-walk")
                    walk_image = gr.Image(type="filepath", interactive=False, show_label=False, height=110,
                                          visible=False, buttons=["download", "fullscreen"])
                    walk_steps = _sound_components(MAX_POINTS, with_images=False, prefix="interpolate-step")
                    walk_files = gr.File(label="Downloads", file_count="multiple", interactive=False, visible=False,
                                         elem_id="interpolate-files")

            walk_outputs = [walk_header, walk_status, walk_note, walk_audio, walk_image, *walk_steps, walk_files]

            def interpolate_page(start_path, start_words, end_path, end_words, point_count, use_slerp, fade,
                                 *settings_values, request: gr.Request = None, progress=gr.Progress()):
                flag = stops.start(_session(request))
                try:
                    start_value = _one_end("Start", start_path, start_words)
                    end_value = _one_end("End", end_path, end_words)
                    settings = _settings(*settings_values)
                    on_step, _ = _reporter(progress, settings.steps or _preset_value(settings.preset, "steps"))
                    result = service.interpolate(start_value, end_value, int(point_count or 2), settings,
                                                 slerp=bool(use_slerp), crossfade=float(fade or 0.0),
                                                 progress=on_step, should_stop=flag.is_set)
                except Cancelled:
                    return [gr.update(), _status(), _note("Stopped."), *_unchanged(len(walk_outputs) - 3)]
                except V2AError as exc:
                    return [gr.update(), _status(str(exc)), _note(), *_unchanged(len(walk_outputs) - 3)]
                finally:
                    stops.finish(_session(request), flag)
                return [gr.update(value="The walk, then each step:"), _status(), _note(),
                        gr.update(value=str(result.walk), visible=True),
                        gr.update(value=str(result.walk_spectrogram), visible=True),
                        *_sound_slots(result.steps, MAX_POINTS, with_images=False), _downloads(result)]

            walk_event = walk_run.click(
                interpolate_page,
                inputs=[start_file, start_text, end_file, end_text, points, slerp, crossfade, *settings_inputs],
                outputs=walk_outputs, api_name="interpolate", api_visibility="undocumented",
                show_progress_on=[walk_header], **queue_kwargs)

        # Cancel: the job stops at its next step (flag) and its place in the queue is freed (cancels).
        def stop_jobs(request: gr.Request):
            stops.stop(_session(request))
            return _note("Stopping…")

        for button, event, note_box in ((cancel, generate_event, note), (compose_cancel, compose_event, compose_note),
                                        (walk_cancel, walk_event, walk_note)):
            button.click(stop_jobs, outputs=[note_box], cancels=[event], queue=False, api_visibility="private")

        def tab_closed(request: gr.Request):
            stops.stop(_session(request))

        page.unload(tab_closed)
    return page


def _one_end(name: str, path, words) -> str:
    words = (words or "").strip()
    if path and words:
        raise V2AError(f"{name}: give a file or a text, not both; clear one of them")
    return path or (f"text:{words}" if words else "")


def _compose_sources(slot_values) -> list[Source]:
    """The filled Compose slots, in order, each weight checked (the message names the slot)."""
    per_kind = len(slot_values) // 3
    mix = []
    for offset, kind, label in ((0, "image", "Picture or video"), (per_kind, "text", "Text"),
                                (2 * per_kind, "audio", "Sound")):
        pairs = slot_values[offset:offset + per_kind]
        for index, (value, weight) in enumerate(zip(pairs[::2], pairs[1::2])):
            if value is None or not str(value).strip():
                continue
            weight = 1.0 if weight is None else float(weight)
            check_option("weight", weight, flag=f"{label} {index + 1}: weight", valid=WEIGHT)
            mix.append(Source(kind, str(value).strip(), weight))
    return mix


def _downloads(result) -> dict:
    return gr.update(value=[str(path) for path in result.files], visible=True)


def api_generate(service: AppService) -> Callable:
    """The `/generate` endpoint's function; its parameter names are what API clients pass."""

    def generate(input_file, prompt="", negative_prompt="", seed=0, preset=DEFAULT_PRESET, steps=None, duration=10.0,
                 join="continue", sources="whole"):
        """Generate the sound for a picture, video or sound file. Returns the WAV and, for a video input, the
        video with its new soundtrack (else None). `steps` None or 0: the preset's."""
        try:
            result = service.generate(input_file, _settings(preset, steps or None, seed, duration, negative_prompt),
                                      prompt=prompt or "", join=join, sources=sources)
        except V2AError as exc:
            raise gr.Error(page_message(str(exc)), print_exception=False) from None
        return str(result.sounds[0].audio), str(result.videos[0]) if result.videos else None

    return generate


def _generate_outputs(result: GenerateResult) -> list:
    videos = []
    for index in range(MAX_VARIATIONS):
        path = result.videos[index] if index < len(result.videos) else None
        label = result.sounds[index].label + " with its video" if path else None
        videos.append(gr.update(value=str(path) if path else None, visible=path is not None, label=label))
    return [
        gr.update(value="Results:"),
        _status(),
        _note(" ".join(result.notes)),
        *_sound_slots(result.sounds, MAX_VARIATIONS),
        *videos,
        gr.update(value=result.classes or None, visible=bool(result.classes)),
        gr.update(value=str(result.boxes) if result.boxes else None, visible=result.boxes is not None),
        _downloads(result),
    ]
