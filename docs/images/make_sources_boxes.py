"""Draw docs/images/sources-boxes.png: a drawn street scene with boxes placed by hand, weighted and
drawn by v2a's own code (sources/find.py, sources/draw.py). It shows what `--boxes` writes; real
boxes come from the OWLv2 detector, whose weights this script does not need.

    python docs/images/make_sources_boxes.py
"""

from pathlib import Path

from PIL import Image, ImageDraw

from v2a_cli.sources.detector import Detection
from v2a_cli.sources.draw import draw_sources
from v2a_cli.sources.find import sources_from_detections

scene = Image.new("RGB", (480, 300), "#9cc9e8")
draw = ImageDraw.Draw(scene)
draw.rectangle((0, 190, 480, 300), fill="#6b6b6b")  # road
draw.rectangle((0, 80, 140, 190), fill="#c99a6b")  # house
draw.rectangle((250, 150, 420, 215), fill="#c0392b")  # car body
draw.rectangle((285, 120, 385, 152), fill="#c0392b")
draw.ellipse((270, 200, 305, 235), fill="black")
draw.ellipse((365, 200, 400, 235), fill="black")
draw.ellipse((150, 215, 200, 245), fill="#8d5524")  # dog
draw.ellipse((190, 200, 215, 222), fill="#8d5524")
draw.ellipse((40, 20, 70, 40), fill="white")  # bird
detections = [Detection("Car", 0.62, (245, 115, 425, 238)), Detection("Dog", 0.41, (146, 196, 219, 248)),
              Detection("Bird", 0.23, (36, 16, 74, 44))]
found = sources_from_detections(detections, scene.size)
out = Path(__file__).with_name("sources-boxes.png")
draw_sources(scene, found).save(out)
for s in found:
    print(s.to_json())
