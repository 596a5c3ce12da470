"""The offline planner: a plan from a request with no model at all.

It is the default when no model is configured and the fallback when the model cannot be
reached, so it must be right or say it is unsure, never confidently wrong. The request is split
into action clauses (``clauses``); each clause is matched to the installed capability nearest
in meaning (sentence embeddings, or keywords when the model cannot load); the values written in
the clause fill that capability's parameters (``arguments``); a file input nobody gave is wired
from an earlier step's output when its format fits; what is still missing becomes a question,
and a clause nothing can do is reported with what to search for. A folder or a glob given where
one file is read ("compress all images in ./input/") makes the step run once per file
(``for_each``), and so does a file input wired from such a step's outputs (a list of files).

The confidence threshold (``THRESHOLD``) and the ambiguity margin (``MARGIN``) were tuned on
``tests/agent/offline_eval.yml``; see their comments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from assistant.agent.arguments import (
    Argument,
    Parameter,
    extract_arguments,
    formats_fit,
    map_arguments,
    parameters_of,
)
from assistant.agent.clauses import Clause, split_clauses
from assistant.agent.plan import Draft, Plan, PlanStep, Question, Unmatched
from assistant.plugins.capability_search import capability_text
from assistant.plugins.manifest import Capability, Produced
from assistant.plugins.registry import CapabilityRow
from memory.keyword_search import STOP_WORDS, tokenize

if TYPE_CHECKING:
    import numpy as np

# Cosine similarity (all-MiniLM-L6-v2, plus the name and value evidence below) a clause needs
# with a capability's text to be matched. On the evaluation set every clause some capability
# can do scores at least 0.336 ("plot the results") and every clause none can do at most 0.314
# ("send me a summary"; "upload to my S3 bucket" 0.18): 0.325 is the middle of that gap.
THRESHOLD = 0.325
# Two capabilities whose scores are this close are a toss-up ("make photo.png smaller":
# resize 0.58, compress 0.56): the planner picks the first but asks. Below 0.03 the seed's
# "Analyze this CSV file" (extract-data 0.41 against csv-summary's 0.38) is not asked about,
# and the real toss-ups on the evaluation set all differ by less than 0.025.
MARGIN = 0.025
# Added when the clause contains all the words of a capability's name or of one of its tags
# ("thumbnail", "compress"): the author's own word for the action is strong evidence.
NAME_BONUS = 0.08
# Per value of the clause a matched capability takes, and per one it cannot take. Values that
# name a parameter ("400px wide", "quality 70") told resize from compress where the sentence
# alone did not ("Make banner.png 300 pixels tall": compress 0.49, resize 0.39).
ARGUMENT_BONUS = 0.1
ARGUMENT_PENALTY = 0.05
# Keyword fallback: share of a clause's terms a capability's text must contain.
KEYWORD_THRESHOLD = 0.5
GOAL_LENGTH = 80
_REFERENCE = "${{steps.{step}.outputs.{key}}}"
_REFERENCED_STEP = re.compile(r"\$\{steps\.([^.}]+)\.")
_ITEM = "${item}"
_FILE_WORDS = frozenset({"file", "image", "picture", "photo", "document", "table", "report"})
_FOLDER_WORDS = frozenset({"folder", "directory", "dir"})
_DESCRIBED_OBJECT = re.compile(r"^(?:the|a|an)\s+(.+?)\s+to\s+(\w+)\b", re.IGNORECASE)


@dataclass
class _Step:
    """A step being built: its row, the clause it does, its inputs and why it is there."""

    name: str
    row: CapabilityRow
    inputs: dict[str, Any]
    why: str
    for_each: str | dict[str, str] | None = None

    @property
    def capability(self) -> Capability:
        return self.row.capability


@dataclass
class _Draft:
    """What the planner has so far for one request."""

    steps: list[_Step] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def unique_name(self, capability: str) -> str:
        taken = {s.name for s in self.steps}
        name, number = capability, 2
        while name in taken:
            name, number = f"{capability}-{number}", number + 1
        return name


class OfflinePlanner:
    """Plans requests over ``rows`` (disabled capabilities are left out). Capability texts are
    embedded once, on the first plan; ``plan`` is CPU-bound, so call it in a thread."""

    def __init__(
        self,
        rows: Sequence[CapabilityRow],
        model_id: str | None = None,
        *,
        threshold: float = THRESHOLD,
    ) -> None:
        from memory.embedder import MODEL_ID

        self.rows = [r for r in rows if r.enabled]
        self.model_id = model_id or MODEL_ID
        self.threshold = threshold
        self._vectors: np.ndarray | None = None

    def plan(self, request: str) -> Draft:
        """A draft for ``request``: the plan (None when nothing installed can do any part),
        its questions, the parts nothing can do, and notes saying how it was made."""
        clauses = split_clauses(request)
        draft = _Draft()
        if not clauses or not self.rows:
            draft.notes.append("Nothing to plan: " + ("no request" if not clauses else _NONE))
            return Draft(notes=draft.notes)
        arguments = [extract_arguments(c.text) for c in clauses]
        texts = [_matching_text(c, a) for c, a in zip(clauses, arguments, strict=True)]
        scores = [
            self._weighed(row_scores, args)
            for row_scores, args in zip(self._scores(texts, draft), arguments, strict=True)
        ]
        _share_objects(
            arguments, [self._best(s, a) for s, a in zip(scores, arguments, strict=True)]
        )
        for i, (clause, args, row_scores) in enumerate(
            zip(clauses, arguments, scores, strict=True)
        ):
            self._place(clause, args, row_scores, draft, feeds_on=i < len(clauses) - 1)
        return _finished(request, draft)

    # --- matching ---------------------------------------------------------------------

    def _scores(self, texts: list[str], draft: _Draft) -> list[list[float]]:
        """Per text, the confidence of each row (embeddings, or keywords when the model
        cannot load: then a note says so)."""
        from memory.embedder import EmbedderUnavailable

        try:
            similarity = self._embedded(texts)
        except EmbedderUnavailable as exc:
            draft.notes.append(
                f"Matched by keywords, not meaning: {exc.message} ({exc.hint}). "
                "Check the plan closely."
            )
            return [self._keyword_scores(t) for t in texts]
        return [
            [float(s) + _name_bonus(t, r) for s, r in zip(row, self.rows, strict=True)]
            for t, row in zip(texts, similarity, strict=True)
        ]

    def _embedded(self, texts: list[str]) -> np.ndarray:
        from memory.embedder import embedder

        model = embedder(self.model_id)
        if self._vectors is None:
            self._vectors = model.embed([capability_text(r) for r in self.rows])
        return model.embed(texts) @ self._vectors.T

    def _keyword_scores(self, text: str) -> list[float]:
        """The share of ``text``'s terms each row's text holds, scaled so that
        ``KEYWORD_THRESHOLD`` of them counts as the embedding threshold."""
        terms = set(tokenize(text))
        if not terms:
            return [0.0] * len(self.rows)
        scale = self.threshold / KEYWORD_THRESHOLD
        return [
            scale * len(terms & set(tokenize(capability_text(r)))) / len(terms)
            + _name_bonus(text, r)
            for r in self.rows
        ]

    def _weighed(self, scores: list[float], arguments: list[Argument]) -> list[float]:
        """``scores`` adjusted by the values the clause gives: each one a matched capability
        takes (a width, a quality, a title) is evidence for it, each one it cannot take
        ("300 pixels tall" to a compressor) evidence against. Only rows already above the
        threshold move: values choose between matches, they never make one."""
        specific = [a for a in arguments if a.kind not in ("path", "glob", "url", "email")]
        if not specific:
            return scores
        weighed = []
        for score, row in zip(scores, self.rows, strict=True):
            if score >= self.threshold:
                c = row.capability
                mapped = map_arguments(specific, c.parameters, c.input_formats)
                score += ARGUMENT_BONUS * len(mapped.inputs) - ARGUMENT_PENALTY * len(mapped.unused)
            weighed.append(score)
        return weighed

    def _best(self, scores: list[float], arguments: list[Argument]) -> CapabilityRow | None:
        ranked = self._ranked(scores, arguments)
        return ranked[0] if ranked else None

    def _ranked(self, scores: list[float], arguments: list[Argument]) -> list[CapabilityRow]:
        """Rows above the threshold and within ``MARGIN`` of the best, best first; a row that
        reads the clause's file format as it is goes before one that needs it converted."""
        top = max(scores, default=0.0)
        if top < self.threshold:
            return []
        close = [(s, r) for s, r in zip(scores, self.rows, strict=True) if s >= top - MARGIN]
        close.sort(key=lambda pair: -pair[0])
        native = [r for _, r in close if _reads_natively(r.capability, arguments)]
        return native if len(native) == 1 else [r for _, r in close]

    # --- building steps -----------------------------------------------------------------

    def _place(
        self,
        clause: Clause,
        arguments: list[Argument],
        scores: list[float],
        draft: _Draft,
        *,
        feeds_on: bool,
    ) -> None:
        """Add the step for ``clause``, or say nothing can do it. Of close candidates, when a
        clause follows ("..., then chart it"), one that writes a file goes before one that
        only prints: only a file can feed the next step."""
        ranked = self._ranked(scores, arguments)
        writers = [r for r in ranked if any(p.required for p in r.capability.produces)]
        if feeds_on and len(writers) == 1:
            ranked = writers
        if not ranked:
            _unmatched(clause.text, draft)
            return
        step = self._step(ranked[0], clause.text, arguments, draft)
        if len(ranked) > 1:
            draft.questions.append(_which_capability(clause.text, step, ranked))

    def _step(
        self, row: CapabilityRow, why: str, arguments: list[Argument], draft: _Draft
    ) -> _Step:
        c = row.capability
        mapped = map_arguments(arguments, c.parameters, c.input_formats)
        step = _Step(draft.unique_name(c.name), row, dict(mapped.inputs), why)
        parameters = {p.name: p for p in parameters_of(c.parameters)}
        for name, source in mapped.sources.items():
            parameter = parameters[name]
            if not source.is_many or parameter.type != "string" or _takes_folder(parameter):
                continue
            many = str(source.value)
            if _takes_one_file(c, parameter) and step.for_each is None:
                step.for_each, step.inputs[name] = {"glob": _glob(many)}, _ITEM
                draft.notes.append(f"{step.name} runs once per file matching {_glob(many)}.")
            else:
                del step.inputs[name]
                draft.questions.append(_one_at_a_time(step, name, many))
        self._wire(step, draft)
        draft.steps.append(step)
        return step

    def _wire(self, step: _Step, draft: _Draft) -> None:
        """Fill the step's missing file inputs from earlier steps' outputs (adding the step
        that writes a file an input names, when it can be wired itself), and ask for the
        required ones still missing."""
        required = set((step.capability.parameters or {}).get("required") or [])
        asked = {q.parameter for q in draft.questions if q.step == step.name}
        for parameter in parameters_of(step.capability.parameters):
            if parameter.name in step.inputs or parameter.name in asked:
                continue
            needed = parameter.name in required
            named = any(_named_output(r.capability, parameter) for r in self.rows)
            found = _source(step, parameter, draft.steps, strong_only=named or not needed)
            if found is None and needed and parameter.is_path:
                found = self._producer(step, parameter, draft)
            if found is not None and parameter.type == "string" and _repeats(found, draft):
                found = _per_item(step, found, draft)
            if found is not None:
                step.inputs[parameter.name] = found
            elif needed:
                draft.questions.append(_missing(step, parameter))

    def _producer(self, step: _Step, parameter: Parameter, draft: _Draft) -> str | None:
        """Add the capability that writes the file ``parameter`` names ("The insights.json
        that statistical-analysis wrote") when its own inputs come from earlier steps; its
        output's reference, or None."""
        for row in self.rows:
            produced = _named_output(row.capability, parameter)
            if produced is None or row.capability.name == step.capability.name:
                continue
            trial = _Step(draft.unique_name(row.capability.name), row, {}, "")
            if not _wirable(trial, draft.steps):
                continue
            trial.why = f"{step.capability.name} needs its {produced.path}"
            self._wire(trial, draft)
            draft.steps.append(trial)
            draft.notes.append(
                f"Added {row.plugin}.{row.capability.name}: {step.capability.name} reads the "
                f"{produced.path} it writes."
            )
            return _REFERENCE.format(step=trial.name, key=produced.name)
        return None


_NONE = "no capability is installed and enabled; install a plugin first (mark1 plugin install)"


def _matching_text(clause: Clause, arguments: list[Argument]) -> str:
    """The clause as it is compared with capabilities: each value replaced by what it is
    ("sales.csv" -> "csv file", "./photos/*.png" -> "png files"), since a file's name says
    little but its kind says much."""
    text = clause.text
    for argument in sorted(arguments, key=lambda a: -a.span[0]):
        start, end = argument.span
        text = text[:start] + _described(argument) + text[end:]
    return text


def _described(argument: Argument) -> str:
    if argument.kind in ("path", "glob"):
        what = argument.format or ""
        return f"{what} {'files' if argument.is_many else 'file'}".strip()
    words = {"url": "web address", "email": "e-mail address", "quoted": argument.raw}
    return words.get(argument.kind, argument.raw)


def _name_bonus(text: str, row: CapabilityRow) -> float:
    """``NAME_BONUS`` when ``text`` holds every word of the capability's name or of a tag."""
    terms = set(tokenize(text))
    names = [row.capability.name, *row.capability.tags]
    hit = any(set(tokenize(n.replace("-", " "))) <= terms for n in names if tokenize(n))
    return NAME_BONUS if hit else 0.0


def _reads_natively(capability: Capability, arguments: list[Argument]) -> bool:
    """Whether the capability reads, as it is, the format of a file the clause names."""
    formats = {a.format for a in arguments if a.kind in ("path", "glob") and a.format}
    return bool(formats) and bool(formats & set(_normalised(capability.input_formats)))


def _normalised(formats: Sequence[str]) -> list[str]:
    from memory.converters import normalise_format

    return [normalise_format(f) for f in formats]


def _share_objects(arguments: list[list[Argument]], best: list[CapabilityRow | None]) -> None:
    """ "resize and compress photo.jpg": the first clause names no file and no step comes
    before it, so it takes the first file a later clause names (resize reads photo.jpg, and
    compress, left without it, reads resize's output)."""
    for i, row in enumerate(best):
        if row is None or any(b is not None for b in best[:i]) or _names_file(arguments[i]):
            continue
        for later in arguments[i + 1 :]:
            shared = next((a for a in later if a.kind in ("path", "glob")), None)
            if shared is not None:
                later.remove(shared)
                arguments[i].append(shared)
                break


def _names_file(arguments: list[Argument]) -> bool:
    return any(a.kind in ("path", "glob") and a.role == "input" for a in arguments)


def _produced(step: _Step) -> list[tuple[Produced, str | None]]:
    """The files ``step`` will write, with their formats; a file whose path comes from an
    input the step was not given ("{report}") is not written."""
    out = []
    for produced in step.capability.produces:
        fields = re.findall(r"{(\w+)}", produced.path)
        if not produced.required and any(f not in step.inputs for f in fields):
            continue
        suffix = PurePosixPath(produced.path).suffix.lstrip(".") or None
        out.append((produced, produced.format or suffix))
    return out


def _source(
    step: _Step, parameter: Parameter, earlier: list[_Step], *, strong_only: bool
) -> str | None:
    """A reference to the earlier output that best feeds ``parameter``: one named like it or
    whose file its description names, else (for a required input) the latest one whose format
    fits, read as it is before converted."""
    if not parameter.is_path:
        return None
    accepted = parameter.formats() or set(_normalised(step.capability.input_formats))
    best: tuple[int, int, str] | None = None
    for position, candidate in enumerate(earlier):
        for produced, fmt in _produced(candidate):
            if not formats_fit(fmt, accepted):
                continue
            strong = produced.name == parameter.name or _mentions(parameter, produced)
            if strong_only and not strong:
                continue
            rank = (2 if strong else 0) + (1 if fmt in accepted else 0)
            reference = _REFERENCE.format(step=candidate.name, key=produced.name)
            if best is None or (rank, position) >= best[:2]:
                best = (rank, position, reference)
    return best[2] if best else None


def _mentions(parameter: Parameter, produced: Produced) -> bool:
    name = PurePosixPath(produced.path).name
    return "{" not in name and name.lower() in parameter.description.lower()


def _named_output(capability: Capability, parameter: Parameter) -> Produced | None:
    return next((p for p in capability.produces if _mentions(parameter, p)), None)


def _wirable(step: _Step, earlier: list[_Step]) -> bool:
    """Whether every required input of ``step`` can come from ``earlier`` outputs."""
    required = set((step.capability.parameters or {}).get("required") or [])
    return all(
        _source(step, p, earlier, strong_only=False) is not None
        for p in parameters_of(step.capability.parameters)
        if p.name in required
    )


def _takes_folder(parameter: Parameter) -> bool:
    """Whether ``parameter`` names a folder ("dir", "The folder to back up"): a folder given
    is its value, not a list of files to run over."""
    words = set(re.findall(r"[a-z]+", parameter.description.lower())) | {parameter.name}
    return bool(words & _FOLDER_WORDS)


def _takes_one_file(capability: Capability, parameter: Parameter) -> bool:
    """Whether ``parameter`` reads one file, so a folder or glob means "each file in it": a
    path whose description names a file or a format ("The image to compress"), or of a
    capability that states the formats it reads."""
    words = set(re.findall(r"[a-z]+", parameter.description.lower()))
    described = words & _FILE_WORDS or parameter.formats()
    return parameter.is_path and bool(described or capability.input_formats)


def _glob(many: str) -> str:
    """The pattern of the files a folder or glob names: a folder's every file (a glob cannot
    say "png or jpg or ..." in one pattern, and the step reads what it can)."""
    return many if not many.endswith("/") else f"{many}*"


def _repeats(reference: str, draft: _Draft) -> bool:
    """Whether the step ``reference`` reads runs once per item: its outputs are lists."""
    named = _REFERENCED_STEP.match(reference)
    return any(s.name == named[1] and s.for_each is not None for s in draft.steps if named)


def _per_item(step: _Step, reference: str, draft: _Draft) -> str | None:
    """``${item}``, the step now running once per file of the list ``reference`` gives; None
    when it already runs once per something else (then the input is asked for)."""
    if step.for_each is not None:
        return None
    step.for_each = reference
    draft.notes.append(f"{step.name} runs once per file {_referenced([reference])[0]} wrote.")
    return _ITEM


def _object_of(parameter: Parameter) -> tuple[str, str] | None:
    """("CSV file", "clean") from "The CSV file to clean"."""
    match = _DESCRIBED_OBJECT.match(parameter.description)
    return (match[1], match[2]) if match else None


def _missing(step: _Step, parameter: Parameter) -> Question:
    described = _object_of(parameter)
    if described is None:
        about = f" ({parameter.description})" if parameter.description else ""
        text = f"What should {step.name} take as {parameter.name}{about}?"
    else:
        what, verb = described
        who = "I" if verb.lower() in step.capability.name else step.capability.name
        text = f"Which {what} should {who} {verb}?"
    return Question(text=text, step=step.name, parameter=parameter.name)


def _one_at_a_time(step: _Step, name: str, many: str) -> Question:
    """A folder or glob given where a path is read that is not plainly one file (or where the
    step already repeats over other files): ask which file rather than guess."""
    return Question(
        text=f"{step.capability.name} reads one {name}: which file in {many} should it use?",
        step=step.name,
        parameter=name,
    )


def _which_capability(clause: str, step: _Step, ranked: list[CapabilityRow]) -> Question:
    choices = [f"{r.plugin}.{r.capability.name}" for r in ranked]
    return Question(
        text=f"For '{clause}' I chose {choices[0]}; "
        f"{', '.join(choices[1:])} would fit nearly as well. Which should it be?",
        choices=choices,
        step=step.name,
    )


def _unmatched(clause: str, draft: _Draft) -> None:
    words = [w for w in re.findall(r"[\w-]+", clause.lower()) if w not in STOP_WORDS]
    terms = " ".join(words) or clause
    draft.unmatched.append(Unmatched(clause=clause, suggestions=[terms]))
    draft.notes.append(
        f"Nothing installed can '{clause}'; try `mark1 capabilities search {terms}` "
        "or install a plugin that can."
    )


def _goal(request: str) -> str:
    text = " ".join(request.split())
    if len(text) <= GOAL_LENGTH:
        return text
    return text[:GOAL_LENGTH].rsplit(" ", 1)[0] + "..."


def _finished(request: str, draft: _Draft) -> Draft:
    if not draft.steps:
        return Draft(questions=draft.questions, unmatched=draft.unmatched, notes=draft.notes)
    steps = [
        PlanStep(
            name=s.name,
            plugin=s.row.plugin,
            capability=s.capability.name,
            inputs=s.inputs,
            depends_on=_referenced([*s.inputs.values(), s.for_each]),
            why=s.why,
            for_each=s.for_each,
        )
        for s in draft.steps
    ]
    plan = Plan(goal=_goal(request), steps=steps)
    return Draft(plan=plan, questions=draft.questions, unmatched=draft.unmatched, notes=draft.notes)


def _referenced(values: list[Any]) -> list[str]:
    names: list[str] = []
    for value in values:
        for name in _REFERENCED_STEP.findall(str(value)):
            if name not in names:
                names.append(name)
    return names
