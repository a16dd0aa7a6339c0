"""The local web page (`v2a app`): Generate, Compose and Interpolate in a browser, over the one `Pipeline`.

- `service.py`: the app's functions without Gradio (`AppService`), tested on the tiny zoo.
- `page.py`: the Gradio Blocks page and the `/generate` API endpoint.
- `server.py`: offline settings, the temporary folder, the queue and the upload limit; `serve()`.
- `spectrogram.py`: the picture of each sound.
"""
