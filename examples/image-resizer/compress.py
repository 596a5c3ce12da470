"""Re-encode an image smaller: JPEG or WebP at a quality, PNG losslessly optimised.

The output's suffix picks the format. Prints one JSON object with the output path, its size,
and the original and new sizes in bytes.
"""

import argparse
import json
import os
import sys

from common import ImageError, fail, open_image, output_format, save

FORMATS = ("JPEG", "WEBP", "PNG")


def encoder_options(fmt, quality):
    if fmt == "JPEG":
        return {"quality": quality, "optimize": True, "progressive": True}
    if fmt == "WEBP":
        return {"quality": quality, "method": 6}
    return {"optimize": True}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="the image to compress")
    parser.add_argument("--quality", type=int, default=75, help="JPEG/WebP quality, 1-95")
    parser.add_argument("--output", default="compressed.jpg", help="where to save the result")
    args = parser.parse_args()
    if not 1 <= args.quality <= 95:
        return fail("compress", f"quality must be between 1 and 95, not {args.quality}")
    try:
        fmt = output_format(args.output)
        if fmt not in FORMATS:
            raise ImageError(f"compress writes .jpg, .webp or .png, not {fmt} ({args.output})")
        image = open_image(args.input)
        original_bytes = os.path.getsize(args.input)
        written = save(image, args.output, fmt, **encoder_options(fmt, args.quality))
    except ImageError as exc:
        return fail("compress", exc)
    result = {
        "output": os.path.abspath(args.output),
        "format": fmt,
        "width": image.width,
        "height": image.height,
        "original_bytes": original_bytes,
        "bytes": written,
        "saved_bytes": original_bytes - written,
        "ratio": round(written / original_bytes, 4) if original_bytes else None,
    }
    if fmt != "PNG":
        result["quality"] = args.quality
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
