"""`v2a app`: a local web page for generating sounds in a browser (Gradio, the optional extra `app`)."""

from __future__ import annotations

from typing import Optional

import typer

from v2a_cli.cli import options
from v2a_cli.cli.app import app, make_pipeline, stderr, stdout


@app.command("app")
def web_app(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (default: this machine only; 0.0.0.0: the whole network)."),
    port: int = typer.Option(7860, "--port", help="TCP port."),
    share: bool = typer.Option(False, "--share", help="Also ask Gradio for a public share link (sends traffic through the Internet)."),
    max_upload_mb: float = typer.Option(200.0, "--max-upload-mb", help="Largest upload accepted, in megabytes."),
    mapper: Optional[str] = options.MAPPER,
    generator: Optional[str] = options.GENERATOR,
    clip: Optional[str] = options.CLIP,
    clap: Optional[str] = options.CLAP,
    detector: Optional[str] = options.DETECTOR,
    bridge_top_k: int = options.BRIDGE_TOP_K,
    bridge_temperature: float = options.BRIDGE_TEMPERATURE,
    device: str = options.DEVICE,
    dtype: str = options.DTYPE,
) -> None:
    """Start the web page: upload a picture, video or sound and listen to the result.

    The models load once and stay warm; requests wait in a queue and run one at a time.

    Nothing is sent off this machine (unless --share). Uploads and results live in a temporary folder that is removed when the app stops (Ctrl+C).

    Prints the page's address on stdout when it is ready.

    Needs Gradio, the 'app' extra: pip install -e '.\\[app]' in a clone of v2a (pip install 'v2a-cli\\[app]' from PyPI).
    """
    from v2a_cli.web.server import ServeOptions, serve

    # `v2a app --models M` is the global --models taken after the command (cli/params.py).
    def pipeline():
        return make_pipeline(ctx, mapper=mapper, generator=generator, clip=clip, clap=clap, detector=detector,
                             device=device, dtype=dtype, bridge_top_k=bridge_top_k,
                             bridge_temperature=bridge_temperature)

    serve(pipeline, ServeOptions(host=host, port=port, share=share, max_upload_mb=max_upload_mb),
          on_ready=lambda url: stdout.print(url), log=lambda line: stderr.print(line, highlight=False))
