"""The Gradio page: Generate, Compose and Interpolate tabs over an `AppService`, and the `/generate` API.

Import this module inside `server.offline_environment()` (no analytics, our temporary folder): Gradio
reads some of that environment when it is imported.
"""

from __future__ import annotations

from typing import Any, Callable

import gradio as gr

from v2a_cli.errors import V2AError
from v2a_cli.generation.compose import Source
from v2a_cli.media.inputs import AUDIO_EXTS, IMAGE_EXTS, KIND_BY_EXT, VIDEO_EXTS
from v2a_cli.web.service import (
    DEFAULT_PRESET, MAX_POINTS, MAX_SECONDS, MAX_VARIATIONS, AppService, GenerateResult, Settings, preset_names,
    supports,
)

DEVICE_QUEUE = "device"  # every generating event shares this concurrency group: one request at a time
JOIN_MODES = ["continue", "crossfade"]  # long videos: how segments are joined (generation.pipeline)
SOURCE_MODES = [("the whole picture", "whole"), ("the picture and its detected sources", "detect")]
COMPOSE_VISUALS, COMPOSE_TEXTS, COMPOSE_SOUNDS = 3, 3, 2
COMPACT_UPLOAD = 110  # pixels: the upload boxes of the Compose and Interpolate tabs

# The one-line error box of each tab, in the colour of an error.
PAGE_CSS = "#generate-status, #compose-status, #interpolate-status { color: #b91c1c !important; }"

INTRO = """# v2a — sound for pictures and videos
Drop a picture, a video or a sound and press **Generate**. Everything runs on this machine; nothing is sent anywhere.
"""


def _on_step(progress: gr.Progress) -> Callable[[int, int], None]:
    return lambda step, total: progress((step, total), desc="denoising", unit="steps")


def _status(message: str = "") -> dict:
    """The one-line error box (hidden when there is no error)."""
    return gr.update(value=f"**error:** {message}" if message else "", visible=bool(message))


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
                                       height=120, elem_id=f"{prefix}-{index + 1}-spectrogram"))
    return components


def _weighted_rows(count: int, make: Callable[[int], gr.Component]) -> list[gr.Component]:
    """`count` rows of (source component, weight): [source 1, weight 1, source 2, weight 2, ...]."""
    components: list[gr.Component] = []
    for index in range(count):
        with gr.Row():
            components += [make(index), gr.Number(1.0, minimum=0, label="weight", scale=1)]
    return components


def build_page(service: AppService) -> gr.Blocks:
    """The page over `service`. Launch it with `server.serve` (queue, limits, offline settings)."""
    media_types = sorted(KIND_BY_EXT)
    visual_types = sorted(IMAGE_EXTS | VIDEO_EXTS)
    sound_types = sorted(AUDIO_EXTS | VIDEO_EXTS)
    queue_kwargs: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": DEVICE_QUEUE}

    with gr.Blocks(title="v2a", analytics_enabled=False) as page:
        gr.Markdown(INTRO)
        with gr.Accordion("Settings (all tabs)", open=False):
            with gr.Row():
                preset = gr.Dropdown(preset_names(), value=DEFAULT_PRESET, label="Preset",
                                     info="fast: few steps with a fast sampler; paper: 200 DDIM steps")
                steps = gr.Number(0, precision=0, minimum=0, maximum=1000, label="Steps (0: the preset's)")
                seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                duration = gr.Number(10.0, minimum=0.1, maximum=MAX_SECONDS, label="Seconds of sound",
                                     info=f"pictures and sounds, up to {MAX_SECONDS:g} s (a video gets its whole "
                                          "length); Compose and Interpolate: at most 10.24 s")
            negative = gr.Textbox("", label="Negative prompt", placeholder="what to steer away from, e.g. 'speech'")

        with gr.Tab("Generate"):
            with gr.Row():
                with gr.Column():
                    source = gr.File(label="Picture, video or sound", file_types=media_types, type="filepath",
                                     elem_id="generate-input")
                    prompt = gr.Textbox("", label="Prompt (optional)", placeholder="mixed into the sound, e.g. 'heavy rain'")
                    variations = gr.Slider(1, MAX_VARIATIONS, value=1, step=1, label="Variations")
                    join = gr.Dropdown(JOIN_MODES, value=JOIN_MODES[0], label="Long videos: join segments by",
                                       visible=supports("join"))
                    sources = gr.Dropdown(SOURCE_MODES, value="whole", label="Sound from",
                                          info="detect: find the things that make sound and mix their sounds in",
                                          visible=supports("sources"))
                    run = gr.Button("Generate", variant="primary", elem_id="generate-button")
                with gr.Column():
                    status = gr.Markdown(visible=False, elem_id="generate-status")
                    sounds = _sound_components(MAX_VARIATIONS, prefix="generate-sound")
                    video = gr.Video(label="Video with the new sound", interactive=False, visible=False,
                                     buttons=["download"])
                    classes = gr.Label(label="Sound classes the zero-shot bridge chose (weights)", visible=False,
                                       elem_id="generate-classes")
                    boxes = gr.Image(type="filepath", interactive=False, visible=False, elem_id="generate-boxes",
                                     label="Detected sound sources (class, score, weight)",
                                     buttons=["download", "fullscreen"])
                    files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="generate-files")

            def generate_page(path, prompt_text, variation_count, join_mode, sources_mode, preset_name, step_count,
                              seed_value, seconds, negative_text, progress=gr.Progress()):
                try:
                    result = service.generate(
                        path, _settings(preset_name, step_count, seed_value, seconds, negative_text),
                        prompt=prompt_text or "", variations=int(variation_count), join=join_mode,
                        sources=sources_mode, progress=_on_step(progress))
                except V2AError as exc:
                    return _generate_outputs(GenerateResult([]), error=str(exc))
                return _generate_outputs(result)

            settings_inputs = [preset, steps, seed, duration, negative]
            run.click(generate_page, inputs=[source, prompt, variations, join, sources, *settings_inputs],
                      outputs=[status, *sounds, video, classes, boxes, files], api_name="generate_page",
                      api_visibility="undocumented", **queue_kwargs)

            # The API endpoint: the input file first, everything else with the page's defaults.
            api_audio, api_video = gr.File(visible=False), gr.File(visible=False)
            api_trigger = gr.Button(visible=False)

            api_trigger.click(api_generate(service), inputs=[source, prompt, negative, seed, preset, steps, duration, join,
                                                              sources],
                              outputs=[api_audio, api_video], api_name="generate", **queue_kwargs)

        with gr.Tab("Compose"):
            gr.Markdown("Several pictures, texts and sounds, each with a weight, mixed into one scene's sound.")
            with gr.Row():
                with gr.Column():
                    visuals = _weighted_rows(COMPOSE_VISUALS, lambda index: gr.File(
                        label=f"Picture or video {index + 1}", file_types=visual_types, type="filepath", scale=3,
                        height=COMPACT_UPLOAD))
                    texts = _weighted_rows(COMPOSE_TEXTS, lambda index: gr.Textbox("", label=f"Text {index + 1}", scale=3))
                    audios = _weighted_rows(COMPOSE_SOUNDS, lambda index: gr.File(
                        label=f"Sound {index + 1}", file_types=sound_types, type="filepath", scale=3,
                        height=COMPACT_UPLOAD))
                    compose_variations = gr.Slider(1, MAX_VARIATIONS, value=1, step=1, label="Variations")
                    compose_run = gr.Button("Compose", variant="primary", elem_id="compose-button")
                with gr.Column():
                    compose_status = gr.Markdown(visible=False, elem_id="compose-status")
                    compose_sounds = _sound_components(MAX_VARIATIONS, prefix="compose-sound")
                    compose_files = gr.File(label="Downloads", file_count="multiple", interactive=False)

            def compose_page(*values, progress=gr.Progress()):
                visual_values = values[:2 * COMPOSE_VISUALS]
                text_values = values[2 * COMPOSE_VISUALS:2 * (COMPOSE_VISUALS + COMPOSE_TEXTS)]
                audio_values = values[2 * (COMPOSE_VISUALS + COMPOSE_TEXTS):-6]
                variation_count, *settings = values[-6:]
                mix = [Source(kind, value, float(weight if weight is not None else 1.0))
                           for kind, pairs in (("image", visual_values), ("text", text_values), ("audio", audio_values))
                           for value, weight in zip(pairs[::2], pairs[1::2]) if value and str(value).strip()]
                try:
                    result = service.compose(mix, _settings(*settings), variations=int(variation_count),
                                             progress=_on_step(progress))
                except V2AError as exc:
                    return [_status(str(exc)), *_sound_slots([], MAX_VARIATIONS), None]
                return [_status(), *_sound_slots(result, MAX_VARIATIONS), [str(s.audio) for s in result]]

            compose_run.click(compose_page, inputs=[*visuals, *texts, *audios, compose_variations, *settings_inputs],
                              outputs=[compose_status, *compose_sounds, compose_files], api_name="compose",
                              api_visibility="undocumented", **queue_kwargs)

        with gr.Tab("Interpolate"):
            gr.Markdown("A walk in sound from one end to the other: each end is a file (picture, video, sound) or a text.")
            with gr.Row():
                with gr.Column():
                    with gr.Row():
                        start_file = gr.File(label="Start: file", file_types=media_types, type="filepath",
                                             height=COMPACT_UPLOAD)
                        start_text = gr.Textbox("", label="…or start: text")
                    with gr.Row():
                        end_file = gr.File(label="End: file", file_types=media_types, type="filepath",
                                           height=COMPACT_UPLOAD)
                        end_text = gr.Textbox("", label="…or end: text")
                    points = gr.Slider(2, MAX_POINTS, value=5, step=1, label="Sounds along the way (both ends included)")
                    slerp = gr.Checkbox(False, label="Walk the great circle evenly (slerp)")
                    crossfade = gr.Slider(0.0, 1.0, value=0.1, step=0.05, label="Crossfade between steps in the walk (s)")
                    walk_run = gr.Button("Interpolate", variant="primary", elem_id="interpolate-button")
                with gr.Column():
                    walk_status = gr.Markdown(visible=False, elem_id="interpolate-status")
                    walk_audio = gr.Audio(type="filepath", interactive=False, label="The whole walk", buttons=["download"])
                    walk_image = gr.Image(type="filepath", interactive=False, show_label=False, height=120,
                                          buttons=["download", "fullscreen"])
                    walk_steps = _sound_components(MAX_POINTS, with_images=False, prefix="interpolate-step")
                    walk_files = gr.File(label="Downloads", file_count="multiple", interactive=False)

            def interpolate_page(start_path, start_words, end_path, end_words, point_count, use_slerp, fade,
                                 *settings, progress=gr.Progress()):
                start = start_path or (f"text:{start_words.strip()}" if (start_words or "").strip() else "")
                end = end_path or (f"text:{end_words.strip()}" if (end_words or "").strip() else "")
                try:
                    result = service.interpolate(start, end, int(point_count), _settings(*settings), slerp=use_slerp,
                                                 crossfade=float(fade), progress=_on_step(progress))
                except V2AError as exc:
                    return [_status(str(exc)), None, None, *_sound_slots([], MAX_POINTS, with_images=False), None]
                return [_status(), str(result.walk), str(result.walk_spectrogram),
                        *_sound_slots(result.steps, MAX_POINTS, with_images=False), [str(p) for p in result.files]]

            walk_run.click(interpolate_page,
                           inputs=[start_file, start_text, end_file, end_text, points, slerp, crossfade, *settings_inputs],
                           outputs=[walk_status, walk_audio, walk_image, *walk_steps, walk_files],
                           api_name="interpolate", api_visibility="undocumented", **queue_kwargs)
    return page


def api_generate(service: AppService) -> Callable:
    """The `/generate` endpoint's function; its parameter names are what API clients pass."""

    def generate(input_file, prompt="", negative_prompt="", seed=0, preset=DEFAULT_PRESET, steps=0, duration=10.0,
                 join=JOIN_MODES[0], sources="whole"):
        """Generate the sound for a picture, video or sound file. Returns the WAV and, for a video input, the
        video with its new soundtrack (else None)."""
        try:
            result = service.generate(input_file, _settings(preset, steps, seed, duration, negative_prompt),
                                      prompt=prompt or "", join=join, sources=sources)
        except V2AError as exc:
            raise gr.Error(str(exc)) from None
        return str(result.sounds[0].audio), str(result.videos[0]) if result.videos else None

    return generate


def _settings(preset_name, step_count, seed_value, seconds, negative_text) -> Settings:
    """The shared settings as the page sends them (a cleared number field arrives as None)."""
    return Settings(preset_name or DEFAULT_PRESET, step_count or 0, seed_value or 0,
                    Settings.duration if seconds is None else seconds, negative_text or "")


def _generate_outputs(result: GenerateResult, error: str = "") -> list:
    return [
        _status(error),
        *_sound_slots(result.sounds, MAX_VARIATIONS),
        gr.update(value=str(result.videos[0]) if result.videos else None, visible=bool(result.videos)),
        gr.update(value=result.classes or None, visible=bool(result.classes)),
        gr.update(value=str(result.boxes) if result.boxes else None, visible=result.boxes is not None),
        [str(path) for path in result.files],
    ]
