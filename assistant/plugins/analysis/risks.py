"""What a repository's code may do at run time that its user should know before running it.

Shown before install and stored with the plugin: writes outside the working directory, network
use, shell execution, destructive commands and evaluation of computed code. Each risk is a
rule over code lines (install-time code, such as ``setup.py``, is reported elsewhere); lines
of one rule are grouped so a risk lists its evidence once instead of repeating itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from assistant.plugins.analysis.env_vars import (
    capped_evidence,
    grep_lines,
    line_evidence,
    runtime_sources,
)
from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import Evidence, RiskCategory, RiskFinding

Severity = Literal["low", "medium", "high"]
Verdict = tuple[Severity, str]  # (severity, detail)

JS = frozenset({"javascript", "typescript"})
CODE = JS | {"python", "go", "rust"}
EVERY_LANGUAGE = CODE | {"shell"}
INSTALL_TIME_FILES = frozenset({"setup.py", "build.rs"})

HOME_WRITES = "writes under the user's home directory"
SYSTEM_WRITES = "writes to system directories (/usr, /etc, /opt)"
DYNAMIC_CODE = "evaluates computed code (eval, exec, new Function)"
SYSTEM_DIR = r"/(?:usr|etc|opt|s?bin|lib)/"
# A file that never writes is only reading what it finds under ~ or /etc.
WRITE_CALLS = (
    '"w"', "'w'", '"wb"', "'wb'", '"a"', "'a'", '"w+"', "'w+'", "write_text(", "write_bytes(",
    "mkdir(", "makedirs(", "writeFile", "appendFile", "mkdirSync", "os.WriteFile", "os.Create(",
    "os.MkdirAll", "fs::write", "File::create", "create_dir_all", "shutil.copy", "shutil.move",
)  # fmt: skip
# A call on the line itself writes: system paths also appear in reads and settings, and a
# wrong "high" costs the user's trust more than a missed one.
LINE_WRITE = (
    r"\bopen\([^)]*,\s*f?[\"'][wax]|\.write_(?:text|bytes)\(|\bshutil\.(?:copy\w*|move)\("
    r"|\bmakedirs\(|\.mkdir\(|\b(?:writeFile|appendFile|mkdir)(?:Sync)?\(|\bsymlink\w*\("
    r"|\bos\.(?:WriteFile|Create|MkdirAll)\(|\bfs::(?:write|create_dir_all)\(|File::create\("
)
ROOT_TARGETS = frozenset({"/", "/*", "~", "~/", "~/*", "$HOME", "${HOME}", "$HOME/", "${HOME}/"})
RECURSIVE_FLAG = re.compile(r"-\w*[rR]|--recursive")
FORCE_FLAG = re.compile(r"-\w*f|--force")
UNQUOTED_VARIABLE = re.compile(r"[^\"'`]*\$")  # a $ before any quote opens
COMPUTED_PART = re.compile(r"[${+]")  # shell or f-string substitution, or concatenation


@dataclass(frozen=True)
class Rule:
    """Lines of ``languages`` matching ``pattern`` are a risk, as ``assess`` judges it.

    ``keywords`` are substrings every matching line contains (a cheap test before the regular
    expression); ``only_if`` are substrings the file must also contain for the rule to apply.
    """

    category: RiskCategory
    languages: frozenset[str]
    keywords: tuple[str, ...]
    pattern: re.Pattern[str]
    assess: Callable[[re.Match[str]], Verdict | None]
    only_if: tuple[str, ...] = ()

    def applies_to(self, language: str, present: set[str]) -> bool:
        """Whether the rule can match a file in ``language`` holding the ``present`` words."""
        return (
            language in self.languages
            and any(k in present for k in self.keywords)
            and (not self.only_if or any(k in present for k in self.only_if))
        )


def fixed(severity: Severity, detail: str) -> Callable[[re.Match[str]], Verdict]:
    """An ``assess`` for rules whose every match is the same risk."""
    return lambda _match: (severity, detail)


def judge_rm(match: re.Match[str]) -> Verdict | None:
    """``rm -rf`` of / or ~, or of an unquoted variable (empty, it deletes from /), is high;
    of another computed path, medium; of literal relative paths (``rm -rf build``), no risk."""
    flags, targets = match["flags"], match["targets"].split()
    if not (RECURSIVE_FLAG.search(flags) and FORCE_FLAG.search(flags)):
        return None
    if any(t.strip("\"'`();,") in ROOT_TARGETS for t in targets):
        return "high", "rm -rf of / or the home directory"
    if any(UNQUOTED_VARIABLE.match(t) for t in targets):
        return "high", "rm -rf of an unquoted variable"
    if any(COMPUTED_PART.search(t) for t in targets):
        return "medium", "rm -rf of a computed path"
    return None


def shell_write_to(target: str) -> re.Pattern[str]:
    """A shell line that writes (redirects, copies, links, installs...) into ``target``."""
    return re.compile(
        r"(?:>>?\s*|\btee\s+(?:-a\s+)?|\b(?:cp|mv|ln|install|mkdir|touch|rsync)\b.*\s)[\"']?"
        + target
    )


RULES = (
    Rule(
        "writes_outside",
        CODE,
        ("Path.home()", "expanduser(", "homedir()", "UserHomeDir()", "home_dir()", "~/"),
        re.compile(
            r"Path\.home\(\)|expanduser\(\s*f?[\"']~|homedir\(\)|UserHomeDir\(\)|home_dir\(\)"
            r"|[\"'`]~/"
        ),
        fixed("medium", HOME_WRITES),
        only_if=WRITE_CALLS,
    ),
    Rule(
        "writes_outside",
        frozenset({"shell"}),
        ("~/", "$HOME", "${HOME}"),
        shell_write_to(r"(?:~|\$HOME|\$\{HOME\})/"),
        fixed("medium", HOME_WRITES),
    ),
    Rule(
        "writes_outside",
        CODE,
        ("/usr/", "/etc/", "/opt/", "/bin/", "/sbin/", "/lib/"),
        re.compile(rf"^(?=.*(?:{LINE_WRITE})).*[\"'`]{SYSTEM_DIR}"),
        fixed("high", SYSTEM_WRITES),
    ),
    Rule(
        "writes_outside",
        frozenset({"shell"}),
        ("/usr/", "/etc/", "/opt/", "/bin/", "/sbin/", "/lib/"),
        shell_write_to(SYSTEM_DIR),
        fixed("high", SYSTEM_WRITES),
    ),
    Rule(
        "writes_outside",
        frozenset({"python"}),
        ("open(",),
        re.compile(
            r"\bopen\(\s*f?[\"']/(?!tmp/|usr/|etc/|opt/|s?bin/|lib/)[^\"']*[\"']\s*,\s*f?[\"'][wax]"
        ),
        fixed("medium", "writes to absolute paths"),
    ),
    Rule(
        "network",
        frozenset({"python"}),
        ("requests", "httpx", "urllib", "aiohttp", "socket", "http.client", "websocket"),
        re.compile(
            r"^\s*(?:import|from)\s+(?:requests|httpx|urllib\.request|urllib3|aiohttp|socket"
            r"|http\.client|websockets?)\b|^\s*from\s+urllib\s+import\s+request\b"
        ),
        fixed("low", "network access from Python code"),
    ),
    Rule(
        "network",
        JS,
        ("fetch", "axios", "http", "WebSocket"),
        re.compile(
            r"(?<![.\w])fetch\s*\(|\baxios(?:\.\w+)?\s*\(|\bhttps?\.(?:request|get)\s*\("
            r"|\bnew\s+WebSocket\s*\("
        ),
        fixed("low", "network access from JavaScript/TypeScript code"),
    ),
    Rule(
        "network",
        frozenset({"go"}),
        ('"net/http"', '"net"', "net.Dial"),
        re.compile(r"\"net(?:/http)?\"|\bnet\.Dial"),
        fixed("low", "network access from Go code"),
    ),
    Rule(
        "network",
        frozenset({"rust"}),
        ("reqwest", "ureq", "hyper", "TcpStream"),
        re.compile(r"\b(?:reqwest|ureq|hyper)::|TcpStream::connect"),
        fixed("low", "network access from Rust code"),
    ),
    Rule(
        "network",
        frozenset({"shell"}),
        ("curl", "wget"),
        re.compile(r"(?:^|[;&|(]|\$\(|\bsudo\s)\s*(?:curl|wget)\b"),
        fixed("low", "network access from shell scripts"),
    ),
    Rule(
        "shell",
        frozenset({"python"}),
        ("shell",),
        re.compile(r"\bshell\s*=\s*True\b"),
        fixed("medium", "subprocess with shell=True"),
    ),
    Rule(
        "shell",
        frozenset({"python"}),
        ("os.system", "os.popen"),
        re.compile(r"\bos\.(?:system|popen)\s*\("),
        fixed("medium", "os.system/os.popen run a shell"),
    ),
    Rule(
        "shell",
        JS,
        ("exec",),
        re.compile(r"(?:\bchild_process\.|(?<![.\w]))exec(?:Sync)?\s*\("),
        fixed("medium", "child_process.exec runs a shell"),
        only_if=("child_process",),
    ),
    Rule(
        "shell",
        frozenset({"go", "rust"}),
        ('"sh"', '"bash"'),
        re.compile(
            r"exec\.Command\(\s*\"(?:ba)?sh\"\s*,\s*\"-c\"|Command::new\(\s*\"(?:ba)?sh\"\s*\)"
        ),
        fixed("medium", "runs commands through sh -c"),
    ),
    Rule(
        "shell",
        frozenset({"shell"}),
        ("eval",),
        re.compile(r"(?:^|[;&|(]|\bthen\s|\bdo\s)\s*eval\s"),
        fixed("medium", "eval in a shell script"),
    ),
    Rule(
        "destructive",
        EVERY_LANGUAGE,
        ("rm ",),
        re.compile(r"\brm\s+(?P<flags>(?:-{1,2}[\w-]+\s+)+)(?P<targets>[^;&|]*)"),
        judge_rm,
    ),
    Rule(
        "destructive",
        CODE,
        ("rmtree", "recursive", "rimraf", "RemoveAll", "remove_dir_all"),
        re.compile(
            r"shutil\.rmtree\(\s*(?![rb]?[\"'])|\brm(?:Sync)?\([^)]*recursive|\brimraf\("
            r"|os\.RemoveAll\(|remove_dir_all\("
        ),
        fixed("medium", "recursively deletes a computed path"),
    ),
    Rule(
        "destructive",
        EVERY_LANGUAGE,
        ("DROP",),
        re.compile(r"\bDROP\s+(?:TABLE|DATABASE|SCHEMA)\b"),
        fixed("medium", "drops database tables (DROP TABLE)"),
    ),
    Rule(
        "destructive",
        EVERY_LANGUAGE,
        ("DELETE",),
        re.compile(
            r"\bDELETE\s+FROM\s+[\w.\"`]+\s*(?:;|[\"'`])"
        ),  # a WHERE may follow a line break
        fixed("medium", "deletes every row of a table (DELETE without WHERE)"),
    ),
    Rule(
        "destructive",
        EVERY_LANGUAGE,
        ("push",),
        re.compile(r"\bgit\s+push\b.*(?:--force\b|\s-f\b)"),
        fixed("medium", "force-pushes to a git remote"),
    ),
    Rule(
        "destructive",
        EVERY_LANGUAGE,
        ("mkfs", "dd "),
        re.compile(r"\bmkfs(?:\.\w+)?\s|\bdd\s+if="),
        fixed("high", "writes raw disks (mkfs, dd)"),
    ),
    Rule(
        "dynamic_code",
        frozenset({"python"}),
        ("eval(", "exec(", "compile("),
        re.compile(r"(?<![.\w])(?<!def )(?:eval|exec|compile)\(\s*(?![rbuRBU]?[\"'])"),
        fixed("high", DYNAMIC_CODE),
    ),
    Rule(
        "dynamic_code",
        JS,
        ("eval", "Function"),
        re.compile(r"(?<![.\w])eval\s*\(|\bnew\s+Function\s*\("),
        fixed("high", DYNAMIC_CODE),
    ),
)


RULE_WORDS = frozenset(word for rule in RULES for word in (*rule.keywords, *rule.only_if))


def detect_risks(files: RepoFiles) -> list[RiskFinding]:
    """Run-time risks grouped by (category, detail), ordered by category then first evidence."""
    grouped: dict[tuple[RiskCategory, str], tuple[Severity, list[Evidence]]] = {}
    for category, (severity, detail), evidence in risk_lines(files):
        grouped.setdefault((category, detail), (severity, []))[1].append(evidence)
    risks = [
        RiskFinding(
            category=category, severity=severity, detail=detail, evidence=capped_evidence(items)
        )
        for (category, detail), (severity, items) in grouped.items()
    ]
    return sorted(risks, key=lambda r: (r.category, r.evidence[0].file, r.evidence[0].line or 0))


def risk_lines(files: RepoFiles) -> Iterator[tuple[RiskCategory, Verdict, Evidence]]:
    """Every risky line of run-time code (tests, docs and install-time files are skipped)."""
    for path, language in runtime_sources(files):
        if PurePosixPath(path).name not in INSTALL_TIME_FILES:
            yield from file_risks(files, path, language)


def file_risks(
    files: RepoFiles, path: str, language: str
) -> Iterator[tuple[RiskCategory, Verdict, Evidence]]:
    text = files.text(path) or ""
    present = {word for word in RULE_WORDS if word in text}  # each word searched once
    rules = [rule for rule in RULES if rule.applies_to(language, present)]
    keywords = {k for rule in rules for k in rule.keywords}
    for number, line in grep_lines(files, path, language, sorted(keywords)):
        for rule in rules:
            match = rule.pattern.search(line)
            verdict = rule.assess(match) if match else None
            if verdict:
                yield rule.category, verdict, line_evidence(path, number, line)
