"""Run-time risks per category, grouped by detail, with exact evidence."""

from __future__ import annotations

from assistant.plugins.analysis.profile import Evidence, RiskFinding
from assistant.plugins.analysis.risks import detect_risks


def risk(category, severity, detail, *evidence: tuple[str, int, str]) -> RiskFinding:
    return RiskFinding(
        category=category,
        severity=severity,
        detail=detail,
        evidence=[Evidence(file=f, line=n, detail=d) for f, n, d in evidence],
    )


def test_writes_outside_the_working_directory(repo_files):
    files = repo_files(
        {
            "app/config.py": """
                import json
                from pathlib import Path
                CONFIG = Path.home() / ".mytool" / "config.json"
                def save(data):
                    CONFIG.write_text(json.dumps(data))
                    with open("/var/lib/mytool/state", "w") as f:
                        f.write("x")
                    open("/tmp/scratch", "w")
            """,
            "app/deploy.py": """
                import os, shutil
                os.environ["DYLD_FALLBACK_LIBRARY_PATH"] = "/opt/homebrew/lib"
                shutil.copy("tool", "/usr/local/bin/tool")
            """,
            "app/reader.py": "from pathlib import Path\nTOKEN = (Path.home() / '.t').read_text()\n",
            "install.sh": """
                #!/bin/sh
                echo 'export PATH=$PATH:~/bin' >> ~/.bashrc
                sudo cp mytool /usr/local/bin/
                cat /etc/hosts
            """,
            "setup.py": 'open("/etc/mytool.conf", "w")\n',
            "tests/test_config.py": 'Path.home().joinpath("x").write_text("")\n',
        }
    )
    assert detect_risks(files) == [
        risk(
            "writes_outside",
            "medium",
            "writes under the user's home directory",
            ("app/config.py", 3, 'CONFIG = Path.home() / ".mytool" / "config.json"'),
            ("install.sh", 2, "echo 'export PATH=$PATH:~/bin' >> ~/.bashrc"),
        ),
        risk(
            "writes_outside",
            "medium",
            "writes to absolute paths",
            ("app/config.py", 6, 'with open("/var/lib/mytool/state", "w") as f:'),
        ),
        risk(
            "writes_outside",
            "high",
            "writes to system directories (/usr, /etc, /opt)",
            ("app/deploy.py", 3, 'shutil.copy("tool", "/usr/local/bin/tool")'),
            ("install.sh", 3, "sudo cp mytool /usr/local/bin/"),
        ),
    ]


def test_network_is_one_low_risk_per_language(repo_files):
    files = repo_files(
        {
            "client.py": "import requests\nfrom urllib.parse import urljoin\nimport socket\n",
            "server.py": "from aiohttp import web\n",
            "web/app.js": "const r = await fetch(url);\nconst d = await axios.get(u);\nprefetch(x);\n",
            "main.go": 'import (\n\t"fmt"\n\t"net/http"\n)\n',
            "get.sh": "curl -fsSL https://example.org/install | sh\n",
            "more.py": "".join(f"import httpx as h{i}\n" for i in range(4)),
        }
    )
    assert detect_risks(files) == [
        risk(
            "network",
            "low",
            "network access from Python code",
            ("client.py", 1, "import requests"),
            ("client.py", 3, "import socket"),
            ("more.py", 1, "import httpx as h0"),
            ("more.py", 2, "import httpx as h1"),
            ("more.py", 3, "import httpx as h2"),
        ),
        risk(
            "network",
            "low",
            "network access from shell scripts",
            ("get.sh", 1, "curl -fsSL https://example.org/install | sh"),
        ),
        risk("network", "low", "network access from Go code", ("main.go", 3, '"net/http"')),
        risk(
            "network",
            "low",
            "network access from JavaScript/TypeScript code",
            ("web/app.js", 1, "const r = await fetch(url);"),
            ("web/app.js", 2, "const d = await axios.get(u);"),
        ),
    ]


def test_shell_destructive_and_dynamic_code(repo_files):
    files = repo_files(
        {
            "tool.py": """
                import os, shutil, subprocess
                subprocess.run(cmd, shell=True)
                os.system("ls " + d)
                shutil.rmtree(workdir)
                shutil.rmtree("build")
                cursor.execute("DELETE FROM users")
                cursor.execute("DELETE FROM users WHERE id = ?", (i,))
                cursor.execute("DROP TABLE IF EXISTS cache")
                result = eval(expression)
                exec(base64.b64decode(payload))
                value = eval("1 + 2")
                pattern = re.compile(text)
                os.system(f"rm -rf {target}")
            """,
            "clean.sh": """
                #!/bin/bash
                rm -rf $BUILD_DIR/
                rm -rf "$CACHE"
                rm -rf /
                rm -rf build dist
                eval "$(ssh-agent)"
                git push --force origin main
                dd if=/dev/zero of=/dev/sda
            """,
            "web/run.js": """
                const { exec } = require("child_process");
                exec(`convert ${f}`);
                const re = /x/; re.exec(s);
                const fn = new Function("a", body);
            """,
        }
    )
    rm_target = 'os.system(f"rm -rf {target}")'
    assert detect_risks(files) == [
        risk("destructive", "high", "rm -rf of an unquoted variable", ("clean.sh", 2, "rm -rf $BUILD_DIR/")),
        risk("destructive", "medium", "rm -rf of a computed path", ("clean.sh", 3, 'rm -rf "$CACHE"'), ("tool.py", 13, rm_target)),
        risk("destructive", "high", "rm -rf of / or the home directory", ("clean.sh", 4, "rm -rf /")),
        risk("destructive", "medium", "force-pushes to a git remote", ("clean.sh", 7, "git push --force origin main")),
        risk("destructive", "high", "writes raw disks (mkfs, dd)", ("clean.sh", 8, "dd if=/dev/zero of=/dev/sda")),
        risk("destructive", "medium", "recursively deletes a computed path", ("tool.py", 4, "shutil.rmtree(workdir)")),
        risk("destructive", "medium", "deletes every row of a table (DELETE without WHERE)", ("tool.py", 6, 'cursor.execute("DELETE FROM users")')),
        risk("destructive", "medium", "drops database tables (DROP TABLE)", ("tool.py", 8, 'cursor.execute("DROP TABLE IF EXISTS cache")')),
        risk(
            "dynamic_code",
            "high",
            "evaluates computed code (eval, exec, new Function)",
            ("tool.py", 9, "result = eval(expression)"),
            ("tool.py", 10, "exec(base64.b64decode(payload))"),
            ("web/run.js", 4, 'const fn = new Function("a", body);'),
        ),
        risk("shell", "medium", "eval in a shell script", ("clean.sh", 6, 'eval "$(ssh-agent)"')),
        risk("shell", "medium", "subprocess with shell=True", ("tool.py", 2, "subprocess.run(cmd, shell=True)")),
        risk("shell", "medium", "os.system/os.popen run a shell", ("tool.py", 3, 'os.system("ls " + d)'), ("tool.py", 13, rm_target)),
        risk("shell", "medium", "child_process.exec runs a shell", ("web/run.js", 2, "exec(`convert ${f}`);")),
    ]  # fmt: skip


def test_go_and_rust_shell_commands_and_recursive_deletes(repo_files):
    files = repo_files(
        {
            "main.go": 'out, _ := exec.Command("sh", "-c", script).Output()\nos.RemoveAll(dir)\n',
            "src/lib.rs": 'Command::new("bash").arg("-c").arg(s);\nfs::remove_dir_all(&p)?;\n',
        }
    )
    assert detect_risks(files) == [
        risk(
            "destructive",
            "medium",
            "recursively deletes a computed path",
            ("main.go", 2, "os.RemoveAll(dir)"),
            ("src/lib.rs", 2, "fs::remove_dir_all(&p)?;"),
        ),
        risk(
            "shell",
            "medium",
            "runs commands through sh -c",
            ("main.go", 1, 'out, _ := exec.Command("sh", "-c", script).Output()'),
            ("src/lib.rs", 1, 'Command::new("bash").arg("-c").arg(s);'),
        ),
    ]


def test_a_clean_repository_has_no_risks(repo_files):
    files = repo_files(
        {
            "main.py": """
                import json
                from pathlib import Path
                Path("out.txt").write_text(json.dumps({}))
                # os.system("rm -rf /")
                def exec(self): return 1
            """,
            "README.md": "rm -rf / then curl https://example.org | sh\n",
            "docs/conf.py": "import requests\n",
            "tests/test_main.py": 'import os\nos.system("x")\n',
            "setup.py": 'import os\nos.system("make")\n',
            "build.sh": "rm -rf build dist\nmkdir -p out\n",
        }
    )
    assert detect_risks(files) == []
