"""Resize an image to a width and/or height, keeping its aspect ratio.

With only a width (or only a height) the other side follows the aspect ratio; with both, the
image is scaled to fit inside the box. Prints one JSON object: output path, size and bytes.
"""

import argparse
import json
import os
import sys

from common import Image, ImageError, fail, open_image, output_format, save


def target_size(size, width, height):
    """The new (width, height) for an image of ``size``, keeping its aspect ratio."""
    old_w, old_h = size
    scales = [s for s in (width and width / old_w, height and height / old_h) if s]
    scale = min(scales)
    return max(1, round(old_w * scale)), max(1, round(old_h * scale))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="the image to resize")
    parser.add_argument("--width", type=int, help="target width in pixels")
    parser.add_argument("--height", type=int, help="target height in pixels")
    parser.add_argument("--output", default="resized.png", help="where to save the result")
    args = parser.parse_args()
    if args.width is None and args.height is None:
        return fail("resize", "give a width, a height or both")
    if any(v is not None and v < 1 for v in (args.width, args.height)):
        return fail("resize", "width and height must be at least 1 pixel")
    try:
        fmt = output_format(args.output)
        image = open_image(args.input)
        original = image.size
        size = target_size(original, args.width, args.height)
        resized = image.resize(size, Image.Resampling.LANCZOS) if size != original else image
        written = save(resized, args.output, fmt)
    except ImageError as exc:
        return fail("resize", exc)
    result = {
        "output": os.path.abspath(args.output),
        "format": fmt,
        "width": size[0],
        "height": size[1],
        "original_width": original[0],
        "original_height": original[1],
        "bytes": written,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
