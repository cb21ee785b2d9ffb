"""The package directions of issue 13: the HDL library depends on the configuration contract
only (`lapa.config`, `lapa.fields`), never on the command line (errors, reports, commands), the
host side of a job (`host`) or the testbenches (`sim`); the host side runs without cocotb."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# what a module of `rtl/` may import from the project's own packages
RTL_MAY_IMPORT = {"rtl", "lapa.config", "lapa.fields"}
PROJECT = ("rtl", "lapa", "sim", "host", "golden", "energy", "flows", "perf", "dse", "formal", "evaluation")


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def _allowed(module):
    return any(module == ok or module.startswith(ok + ".") for ok in RTL_MAY_IMPORT)


def test_rtl_imports_only_the_configuration_contract():
    wrong = []
    files = sorted((ROOT / "rtl").rglob("*.py"))
    assert len(files) > 20
    for path in files:
        for line, module in _imports(path):
            if module.split(".")[0] in PROJECT and not _allowed(module):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_configuration_contract_imports_no_hdl_and_no_testbench():
    for name in ("config.py", "fields.py", "errors.py"):
        for line, module in _imports(ROOT / "lapa" / name):
            assert module.split(".")[0] not in ("rtl", "sim", "host", "amaranth", "cocotb"), \
                f"lapa/{name}:{line} imports {module}"


def test_host_and_golden_backends_import_without_cocotb():
    """The CLI's RTL backend (host.rtl, harness engine) and the golden backend load with cocotb
    made unimportable: a user-facing command does not need the testbench package."""
    code = ("import sys; sys.modules['cocotb'] = None; sys.modules['cocotb_tools'] = None\n"
            "import host.rtl, host.job, host.harness, lapa.backends, lapa.cli\n"
            "assert 'sim.layer' not in sys.modules, 'sim.layer imported'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_unknown_block_is_one_line_and_exit_2(capsys):
    from lapa.cli import main

    assert main(["verilog", "--block", "nosuch", "out-never-written"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'nosuch'" in err[0] and "unknown block" in err[0]
    assert not (ROOT / "out-never-written").exists()
