"""What both scripts share: opening an image with clear errors, and saving it in any format."""

import os
import sys

try:
    from PIL import Image, ImageOps, UnidentifiedImageError
except ImportError:  # pragma: no cover - Mark-1 installs pillow from the manifest
    print("image-resizer: Pillow is not installed (pip install 'pillow>=10')", file=sys.stderr)
    sys.exit(2)

# Formats that cannot hold transparency or a palette get RGB.
_RGB_ONLY = {"JPEG", "BMP"}


class ImageError(Exception):
    """A problem the user can fix; its message goes to stderr as is."""


def open_image(path):
    """The image at ``path``, upright (EXIF rotation applied) and fully loaded."""
    if not os.path.exists(path):
        raise ImageError(f"input file not found: {os.path.abspath(path)}")
    if os.path.isdir(path):
        raise ImageError(f"input is a folder, not an image file: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except UnidentifiedImageError:
        raise ImageError(f"not an image file (or a format Pillow cannot read): {path}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot read image {path}: {exc}") from None
    # Palette and 1-bit images are widened so resampling is smooth and any format can save them.
    if upright.mode == "P":
        return upright.convert("RGBA" if "transparency" in upright.info else "RGB")
    if upright.mode == "1":
        return upright.convert("L")
    return upright


def output_format(path):
    """The Pillow format name for ``path``'s suffix, e.g. ``photo.jpg`` -> ``JPEG``."""
    suffix = os.path.splitext(path)[1].lower()
    found = Image.registered_extensions().get(suffix)
    if found is None:
        raise ImageError(
            f"cannot tell the image format from '{path}'; end it in .png, .jpg or .webp"
        )
    return found


def save(image, path, fmt, **options):
    """Write ``image`` to ``path`` as ``fmt``, converting the colour mode if the format needs it."""
    if fmt in _RGB_ONLY and image.mode not in ("RGB", "L"):
        image = _flatten(image)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    try:
        image.save(path, fmt, **options)
    except (OSError, ValueError, KeyError) as exc:
        raise ImageError(f"cannot save {path} as {fmt}: {exc}") from None
    return os.path.getsize(path)


def _flatten(image):
    """RGB on a white background, so transparent pixels do not turn black."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def fail(tool, message):
    print(f"{tool}: error: {message}", file=sys.stderr)
    return 1
