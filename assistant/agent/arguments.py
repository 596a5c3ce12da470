"""Typed arguments found in a clause, and how they fill a capability's JSON-Schema parameters.

The offline planner has no model to read "shrink cat.png to 800px wide at quality 70 and save
it as small.webp", so it recognises the shapes people write values in (paths, globs, URLs,
e-mail addresses, dimensions, numbers with units, quality values, formats, quoted strings) and
then gives each parameter the argument that fits it best by name, type, format and description.
A value that fits nothing is left out rather than forced in: a missing input becomes a question,
a wrong one would run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, Literal

from memory.converters import conversion, normalise_format

Kind = Literal[
    "quoted", "url", "email", "glob", "path", "dimensions", "quality", "number", "format"
]
Role = Literal["input", "output"]

FILE_EXTENSIONS = frozenset(
    """
    csv tsv json jsonl ndjson xml yaml yml txt md html htm pdf svg png jpg jpeg gif webp bmp tif
    tiff mp3 wav flac ogg mp4 mkv avi mov xlsx xls docx pptx parquet zip tar gz sqlite db toml
    ipynb log py
    """.split()  # noqa: SIM905 - one block of words reads better than fifty quoted strings
)
_FORMAT_WORDS = r"webp|png|jpe?g|gif|bmp|tiff?|pdf|svg|jsonl|json|csv|tsv|xml|ya?ml|html|markdown"
_EXT = "|".join(sorted(FILE_EXTENSIONS, key=len, reverse=True))
_STOP = r"[^\s,;\"'()<>]"
_QUOTED = re.compile(r'"([^"]*)"|“([^”]*)”|‘([^’]*)’|(?<![\w\'])\'([^\']+)\'(?![\w\'])')
_URL = re.compile(r"\b(?:https?|ftp|sftp|s3|gs)://[^\s\"'<>]+", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_DIMENSIONS = re.compile(r"\b(\d{1,5})\s*[x×]\s*(\d{1,5})(?:\s*(?:px|pixels?))?\b", re.IGNORECASE)
_GLOB = re.compile(rf"(?<!\S){_STOP}*\*{_STOP}*")
_PATH = re.compile(
    rf"(?<![\w@/.~-])(?:(?:~|\.{{1,2}})?/{_STOP}*"  # /abs, ./rel, ../up, ~/home
    rf"|[\w-][\w.-]*(?:/[\w.-]+)*\.(?:{_EXT})\b"  # name.ext, dir/name.ext
    rf"|[\w-][\w.-]*(?:/[\w.-]+)*/)",  # folder/
    re.IGNORECASE,
)
_FOLDER = re.compile(r"\b(this|the\s+current|current|[\w-]+)\s+(?:folder|directory)\b", re.I)
_QUALITY = re.compile(
    r"\bquality\s*(?:of|=|:|at|to)?\s*(\d{1,3})\s*%?|\b(\d{1,3})\s*%?\s*quality\b", re.IGNORECASE
)
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(px|pixels?|%|percent|[kmg]i?b|bytes|ms|secs?|"
    r"seconds?|s|mins?|minutes?|hours?|h)?(?![\w.])",
    re.IGNORECASE,
)
_FORMAT = re.compile(
    rf"\b(?:as|to|in|into|using)\s+(?:an?\s+)?({_FORMAT_WORDS})\b|\b({_FORMAT_WORDS})\s+format\b",
    re.IGNORECASE,
)
_UNITS = {
    "px": ("px", 1),
    "pixel": ("px", 1),
    "pixels": ("px", 1),
    "%": ("%", 1),
    "percent": ("%", 1),
    "b": ("bytes", 1),
    "bytes": ("bytes", 1),
    "kb": ("bytes", 1000),
    "mb": ("bytes", 1000**2),
    "gb": ("bytes", 1000**3),
    "kib": ("bytes", 1024),
    "mib": ("bytes", 1024**2),
    "gib": ("bytes", 1024**3),
    "ms": ("seconds", 0.001),
    "s": ("seconds", 1),
    "sec": ("seconds", 1),
    "secs": ("seconds", 1),
    "second": ("seconds", 1),
    "seconds": ("seconds", 1),
    "min": ("seconds", 60),
    "mins": ("seconds", 60),
    "minute": ("seconds", 60),
    "minutes": ("seconds", 60),
    "h": ("seconds", 3600),
    "hour": ("seconds", 3600),
    "hours": ("seconds", 3600),
}
_NOT_A_FOLDER = frozenset({"a", "an", "my", "your", "our", "that", "same", "new", "whole", "its"})
_OUTPUT_CUES = frozenset({"as", "to", "into", "named", "called", "output", "onto"})
_WORD = re.compile(r"[a-z0-9]+")
# Words people write next to a number that name the parameter it is for.
SYNONYMS = {
    "width": {"wide", "width", "w", "across"},
    "height": {"tall", "high", "height", "h"},
    "title": {"title", "titled", "called", "named", "heading", "headed"},
    "delimiter": {"delimiter", "delimited", "separator", "separated", "sep"},
    "quality": {"quality", "q"},
}
PATH_NAMES = frozenset({"file", "input", "path", "image", "source", "src", "data", "dir", "folder"})
OUTPUT_NAMES = frozenset({"output", "out", "dest", "destination", "target", "save", "outfile"})
_OUTPUT_DESCRIPTION = re.compile(r"^(?:where to (?:save|write)|also (?:write|save))", re.I)
_MENTIONED_EXT = re.compile(rf"\.({_EXT})\b|\b({_FORMAT_WORDS})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Argument:
    """A value found in a clause. ``value`` is typed: a str (paths, globs, URLs, formats,
    quoted text), an int or float (numbers, in ``unit``: px, %, bytes or seconds), or a
    (width, height) pair. ``context`` holds the words right around it ("800px *wide*");
    ``role`` says whether a path names where a result goes ("save it *as* out.webp")."""

    kind: Kind
    value: Any
    span: tuple[int, int]
    raw: str
    unit: str | None = None
    role: Role = "input"
    context: tuple[str, ...] = field(default=())

    @property
    def format(self) -> str | None:
        """The data format a path or glob announces by its extension, or a format's name."""
        if self.kind == "format":
            return str(self.value)
        if self.kind not in ("path", "glob"):
            return None
        suffix = PurePosixPath(str(self.value)).suffix.lstrip(".").lower()
        return normalise_format(suffix) if suffix in FILE_EXTENSIONS else None

    @property
    def is_many(self) -> bool:
        """A folder or a glob: several files where a parameter may want one."""
        return self.kind == "glob" or (self.kind == "path" and str(self.value).endswith("/"))


def extract_arguments(text: str) -> list[Argument]:
    """Every argument in ``text``, in order of appearance; overlapping shapes are resolved by
    the order of ``_SHAPES`` (a quoted path is a path, 800x600 is not two numbers)."""
    taken: list[Argument] = []
    for pattern, build in _SHAPES:
        for match in pattern.finditer(text):
            if any(_overlaps(match.span(), a.span) for a in taken):
                continue
            found = build(match, text)
            if found is not None:
                taken.append(found)
    return sorted(taken, key=lambda a: a.span)


def _overlaps(span: tuple[int, int], other: tuple[int, int]) -> bool:
    return span[0] < other[1] and other[0] < span[1]


def _words_around(text: str, start: int, end: int) -> tuple[str, ...]:
    """Two words before and one after a span, lowercased."""
    before = _WORD.findall(text[:start].lower())[-2:]
    after = _WORD.findall(text[end:].lower())[:1]
    return (*before, *after)


def _role(text: str, start: int) -> Role:
    before = _WORD.findall(text[:start].lower())[-1:]
    return "output" if before and before[0] in _OUTPUT_CUES else "input"


def _quoted(match: re.Match[str], text: str) -> Argument:
    inner = next(g for g in match.groups() if g is not None)
    looks_like_path = "/" in inner or PurePosixPath(inner).suffix.lstrip(".").lower() in (
        FILE_EXTENSIONS
    )
    kind: Kind = "path" if looks_like_path and inner.strip() == inner else "quoted"
    return Argument(
        kind,
        inner,
        match.span(),
        match[0],
        role=_role(text, match.start()),
        context=_words_around(text, *match.span()),
    )


def _plain(kind: Kind) -> Callable[[re.Match[str], str], Argument | None]:
    """A builder for shapes whose value is their text, less trailing punctuation."""

    def build(match: re.Match[str], text: str) -> Argument | None:
        raw = match[0].rstrip(".,;:!?)")
        if not raw or (kind == "path" and raw in ("/", "./", "../")):
            return None
        span = (match.start(), match.start() + len(raw))
        return Argument(kind, raw, span, raw, role=_role(text, match.start()))

    return build


def _folder(match: re.Match[str], text: str) -> Argument | None:
    """ "the photos folder" is photos/, "this folder" the current one."""
    word = match[1].lower()
    if word in _NOT_A_FOLDER or word in ("the", "output", "input"):
        return None
    value = "./" if word in ("this", "current") or word.endswith("current") else f"{match[1]}/"
    return Argument("path", value, match.span(), match[0], role=_role(text, match.start()))


def _dimensions(match: re.Match[str], text: str) -> Argument:
    value = (int(match[1]), int(match[2]))
    return Argument("dimensions", value, match.span(), match[0], unit="px")


def _quality(match: re.Match[str], text: str) -> Argument:
    return Argument("quality", int(match[1] or match[2]), match.span(), match[0])


def _number(match: re.Match[str], text: str) -> Argument:
    unit, scale = _UNITS.get((match[2] or "").lower(), (None, 1))
    number = float(match[1]) * scale
    value: int | float = int(number) if number.is_integer() else number
    context = _words_around(text, *match.span())
    return Argument("number", value, match.span(), match[0], unit=unit, context=context)


def _format(match: re.Match[str], text: str) -> Argument:
    return Argument("format", normalise_format(match[1] or match[2]), match.span(), match[0])


Builder = Callable[[re.Match[str], str], Argument | None]
# In order of precedence: a quoted path is a path, 800x600 is not two numbers.
_SHAPES: list[tuple[re.Pattern[str], Builder]] = [
    (_QUOTED, _quoted),
    (_URL, _plain("url")),
    (_EMAIL, _plain("email")),
    (_DIMENSIONS, _dimensions),
    (_GLOB, _plain("glob")),
    (_PATH, _plain("path")),
    (_FOLDER, _folder),
    (_QUALITY, _quality),
    (_NUMBER, _number),
    (_FORMAT, _format),
]


# --- filling parameters -------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """What the mapping reads of one JSON-Schema property."""

    name: str
    schema: dict[str, Any]

    @property
    def type(self) -> str:
        kind = self.schema.get("type", "string")
        return kind if isinstance(kind, str) else "string"

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))

    @property
    def is_output(self) -> bool:
        """Names where a result is written ("output", "Where to save the result")."""
        return self.name in OUTPUT_NAMES or bool(_OUTPUT_DESCRIPTION.match(self.description))

    @property
    def is_path(self) -> bool:
        """Takes a file to read: ``format: path``, or a string named like one."""
        named = self.name in PATH_NAMES and self.type == "string"
        return (self.schema.get("format") == "path" or named) and not self.is_output

    def formats(self) -> set[str]:
        """Formats the description names (".jpg, .webp or .png", "the insights.json")."""
        found = (m[1] or m[2] for m in _MENTIONED_EXT.finditer(self.description))
        return {normalise_format(f.lower()) for f in found}


@dataclass(frozen=True)
class Mapped:
    """Parameter values, the argument each came from, and the arguments nothing took."""

    inputs: dict[str, Any]
    sources: dict[str, Argument]
    unused: list[Argument]


def parameters_of(schema: dict[str, Any] | None) -> list[Parameter]:
    properties = (schema or {}).get("properties") or {}
    return [Parameter(n, s) for n, s in properties.items() if isinstance(s, dict)]


def map_arguments(
    arguments: Sequence[Argument], schema: dict[str, Any] | None, input_formats: Sequence[str]
) -> Mapped:
    """Give each parameter of ``schema`` the argument that fits it best, each argument at most
    once (a WxH pair counts as a width and a height). Best fits are placed first; ties go to
    the argument written first, then to the parameter the schema lists first."""
    parameters = parameters_of(schema)
    candidates = []
    for order, argument in enumerate(_expanded(arguments)):
        for index, parameter in enumerate(parameters):
            fit = _fit(argument, parameter, input_formats)
            if fit is not None:
                candidates.append((-fit[0], order, index, parameter.name, fit[1], argument))
    inputs: dict[str, Any] = {}
    sources: dict[str, Argument] = {}
    used: set[int] = set()
    for _, order, _, name, value, argument in sorted(candidates, key=lambda c: c[:3]):
        if name in inputs or order in used:
            continue
        inputs[name], sources[name] = value, argument
        used.add(order)
    unused = [a for i, a in enumerate(_expanded(arguments)) if i not in used]
    return Mapped(inputs, sources, unused)


def _expanded(arguments: Sequence[Argument]) -> list[Argument]:
    """Dimensions as two numbers, one for a width and one for a height."""
    out: list[Argument] = []
    for a in arguments:
        if a.kind == "dimensions":
            out.append(replace(a, kind="number", value=a.value[0], context=("width",)))
            out.append(replace(a, kind="number", value=a.value[1], context=("height",)))
        else:
            out.append(a)
    return out


Fit = tuple[float, Any]


def _fit(argument: Argument, parameter: Parameter, input_formats: Sequence[str]) -> Fit | None:
    """How well ``argument`` fits ``parameter`` (higher is better) and the value it gives, or
    None when it does not fit at all."""
    fit = _FITS[argument.kind](argument, parameter, input_formats)
    if fit is None or not _valid(fit[1], parameter):
        return None
    return fit


def _valid(value: Any, parameter: Parameter) -> bool:
    """Whether ``value`` has the parameter's type and lies within its enum and bounds."""
    schema = parameter.schema
    types: dict[str, type | tuple[type, ...]] = {
        "integer": int,
        "number": (int, float),
        "string": str,
        "boolean": bool,
    }
    wanted = types.get(parameter.type)
    if wanted is not None and (not isinstance(value, wanted) or isinstance(value, bool)):
        return parameter.type == "boolean" and isinstance(value, bool)
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, int | float):
        low, high = schema.get("minimum"), schema.get("maximum")
        return (low is None or value >= low) and (high is None or value <= high)
    return True


def formats_fit(source: str | None, accepted: set[str] | Sequence[str]) -> bool:
    """Whether a file in ``source`` format can go where ``accepted`` formats are read, as it is
    or converted by the workflow engine: the engine's own rule (``memory.converters``, where
    "image" fits every picture format), so a plan the planner wires is one the validator
    accepts. Unknown sources and no stated formats fit anything."""
    if source is None or not accepted:
        return True
    return any(conversion(source, a) is not None for a in accepted)


def _path_fit(argument: Argument, parameter: Parameter, formats: Sequence[str]) -> Fit | None:
    mentioned = parameter.formats()
    if parameter.is_output:
        fits_output = not mentioned or argument.format in mentioned
        score = 3.0 if argument.role == "output" else 1.0
        return (score, argument.value) if fits_output and not argument.is_many else None
    if not parameter.is_path:
        return None
    if mentioned and argument.format is not None and argument.format not in mentioned:
        return None
    if not formats_fit(argument.format, formats):
        return None
    score = 3.0 if argument.role == "input" else 1.5
    if argument.format in mentioned:
        score += 0.5
    if PurePosixPath(str(argument.value)).name.lower() in parameter.description.lower():
        score += 0.5  # "insights.json" for "The insights.json that statistical-analysis wrote"
    return score, argument.value


def _url_fit(argument: Argument, parameter: Parameter, formats: Sequence[str]) -> Fit | None:
    named = any(w in parameter.name for w in ("url", "link", "endpoint", "site", "address"))
    if parameter.schema.get("format") in ("uri", "url", "iri") or named:
        return 3.0, argument.value
    return None


def _email_fit(argument: Argument, parameter: Parameter, formats: Sequence[str]) -> Fit | None:
    named = parameter.name in ("email", "to", "recipient", "recipients", "address", "mail_to")
    if parameter.schema.get("format") in ("email", "idn-email") or named:
        return 3.0, argument.value
    return None


def _named_by(argument: Argument, parameter: Parameter) -> bool:
    """Whether the words around ``argument`` name ``parameter`` ("800px *wide*" -> width)."""
    names = SYNONYMS.get(parameter.name, set()) | {parameter.name}
    return any(word in names for word in argument.context)


def _number_fit(argument: Argument, parameter: Parameter, formats: Sequence[str]) -> Fit | None:
    if parameter.type not in ("integer", "number"):
        return None
    if _named_by(argument, parameter):
        return 3.0, argument.value
    described = set(_WORD.findall(parameter.description.lower()))
    if argument.unit == "px" and parameter.name in ("width", "height", "size"):
        return (2.0 if parameter.name != "height" else 1.5), argument.value
    if argument.unit == "%" and "quality" in (parameter.name, *described):
        return 2.0, argument.value
    if argument.unit == "seconds" and described & {"seconds", "timeout", "interval", "delay"}:
        return 2.0, argument.value
    if argument.unit == "bytes" and described & {"bytes", "size"}:
        return 2.0, argument.value
    if argument.unit is None and set(argument.context) & described - {"the", "of", "to"}:
        return 1.0, argument.value
    return None


def _quality_fit(argument: Argument, parameter: Parameter, formats: Sequence[str]) -> Fit | None:
    described = "quality" in parameter.description.lower()
    if parameter.type in ("integer", "number") and (parameter.name == "quality" or described):
        return 4.0, argument.value
    return None


def _format_fit(argument: Argument, parameter: Parameter, formats: Sequence[str]) -> Fit | None:
    """A format goes to a format parameter, or changes the suffix of an output's default
    ("compressed.jpg" -> "compressed.webp") when the description allows that format."""
    if parameter.name in ("format", "output_format", "to", "type", "fmt"):
        return 3.0, argument.value
    default = parameter.schema.get("default")
    if not (parameter.is_output and isinstance(default, str) and PurePosixPath(default).suffix):
        return None
    mentioned = parameter.formats()
    if mentioned and argument.value not in mentioned:
        return None
    if not mentioned and "suffix" not in parameter.description.lower():
        return None
    return 2.0, str(PurePosixPath(default).with_suffix(f".{argument.value}"))


def _quoted_fit(argument: Argument, parameter: Parameter, formats: Sequence[str]) -> Fit | None:
    plain = parameter.type == "string" and not parameter.is_path and not parameter.is_output
    return (3.0, argument.value) if plain and _named_by(argument, parameter) else None


_FITS: dict[Kind, Callable[[Argument, Parameter, Sequence[str]], Fit | None]] = {
    "quoted": _quoted_fit,
    "url": _url_fit,
    "email": _email_fit,
    "glob": _path_fit,
    "path": _path_fit,
    "dimensions": _number_fit,  # never reached: expanded into two numbers first
    "quality": _quality_fit,
    "number": _number_fit,
    "format": _format_fit,
}
