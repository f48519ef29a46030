"""scripts/compat-harness.py: the normalization both builders' images go through, and the comparison
with documented differences. Layers are made here, in memory."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("compat_harness", REPO / "scripts" / "compat-harness.py")
harness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(harness)


def layer(*entries: tuple) -> bytes:
    """A tar of (name, kind, extra) entries: kind file (extra: bytes), dir, symlink/hardlink (extra: target)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, kind, extra, *owner in entries:
            info = tarfile.TarInfo(name)
            info.uid, info.gid = owner if owner else (0, 0)
            if kind == "file":
                info.size, info.mode = len(extra), 0o644
                tar.addfile(info, io.BytesIO(extra))
                continue
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, extra, 0o777
            elif kind == "hardlink":
                info.type, info.linkname, info.mode = tarfile.LNKTYPE, extra, 0o644
            tar.addfile(info)
    return out.getvalue()


def archive(path: Path, layers: list[bytes], config: dict) -> Path:
    with tarfile.open(path, "w") as tar:
        def add(name: str, data: bytes):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        names = []
        for i, data in enumerate(layers):
            names.append(f"l{i}/layer.tar")
            add(names[-1], data)
        add("config.json", json.dumps(config).encode())
        add("manifest.json", json.dumps([{"Config": "config.json", "Layers": names}]).encode())
    return path


BASE = layer(("etc", "dir", None), ("etc/os", "file", b"debian\n"), ("etc/gone", "file", b"x"),
             ("opt", "dir", None), ("opt/old", "file", b"old"), ("home", "dir", None))


def test_the_result_is_what_the_layers_change_with_whiteouts_applied(tmp_path):
    base = tmp_path / "base.tar"
    base.write_bytes(BASE)  # a root filesystem tar, as the base fixture is
    image = archive(tmp_path / "image.tar", [BASE, layer(
        ("etc/.wh.gone", "file", b""),
        ("opt/.wh..wh..opq", "file", b""), ("opt/new", "file", b"new"),
        ("home/app", "dir", None, 1500, 1500), ("home/app/f", "file", b"f\n", 1500, 1500),
        ("home/app/link", "symlink", "f"), ("home/app/hard", "hardlink", "home/app/f"),
    )], {"config": {"User": "app", "Env": ["A=1"], "Cmd": [], "Labels": {
        "org.opencontainers.image.base.name": "somewhere", "x": "y"}}})
    result = harness.normalize(image, base)
    f_sum = hashlib.sha256(b"f\n").hexdigest()
    assert result["removed"] == ["etc/gone", "opt/old"]
    assert result["tree"] == [
        {"path": "home/app", "type": "dir", "mode": "0755", "uid": 1500, "gid": 1500},
        {"path": "home/app/f", "type": "file", "mode": "0644", "uid": 1500, "gid": 1500, "size": 2, "sha256": f_sum},
        {"path": "home/app/hard", "type": "file", "mode": "0644", "uid": 0, "gid": 0, "size": 2, "sha256": f_sum},
        {"path": "home/app/link", "type": "symlink", "mode": "0777", "uid": 0, "gid": 0, "target": "f"},
        {"path": "opt/new", "type": "file", "mode": "0644", "uid": 0, "gid": 0, "size": 3,
         "sha256": hashlib.sha256(b"new").hexdigest()},
    ]
    config = result["config"]
    assert (config["User"], config["Env"], config["Cmd"], config["Labels"]) == ("app", ["A=1"], None, {"x": "y"})


def expectation(tree, differences=()):
    config = {field: None for field in harness.CONFIG_FIELDS}
    return {"source": "buildkit", "differences": list(differences),
            "result": {"config": config, "tree": tree, "removed": []}}


def test_a_documented_difference_is_checked_against_what_imagekit_gives(tmp_path):
    buildkit = {"path": "w", "type": "dir", "mode": "0755", "uid": 0, "gid": 0}
    actual = {"config": {field: None for field in harness.CONFIG_FIELDS}, "tree": [], "removed": []}
    assert harness.compare(expectation([buildkit]), actual, tmp_path) == [
        '/w: expected {"path": "w", "type": "dir", "mode": "0755", "uid": 0, "gid": 0}, got null']
    documented = {"path": "w", "imagekit": None, "reason": "mount stubs"}
    assert harness.compare(expectation([buildkit], [documented]), actual, tmp_path) == []
    # The difference says what imagekit makes: anything else is still a difference.
    actual["tree"] = [dict(buildkit, mode="0700")]
    assert harness.compare(expectation([buildkit], [documented]), actual, tmp_path) != []
    with pytest.raises(harness.HarnessError, match="no reason"):
        harness.compare(expectation([buildkit], [{"path": "w", "imagekit": None}]), actual, tmp_path)


def test_a_reference_expectation_gives_contents_as_text_or_as_a_file_of_the_case(tmp_path):
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "f").write_bytes(b"served\n")
    tree = [{"path": "a", "type": "file", "mode": "0644", "uid": 0, "gid": 0, "content": "text\n"},
            {"path": "b", "type": "file", "mode": "0600", "uid": 0, "gid": 0, "contentFile": "served/f"}]
    expanded = harness.expand_reference(tree, tmp_path)
    assert expanded[0]["sha256"] == hashlib.sha256(b"text\n").hexdigest() and expanded[0]["size"] == 5
    assert expanded[1]["sha256"] == hashlib.sha256(b"served\n").hexdigest()
    with pytest.raises(harness.HarnessError, match="outside the case"):
        harness.expand_reference([dict(tree[1], contentFile="../../etc/passwd")], tmp_path)


@pytest.mark.parametrize("case", sorted(p.name for p in harness.CASES_DIR.iterdir() if (p / "Dockerfile").is_file()))
def test_every_case_has_an_expectation_with_its_origin(case):
    document = json.loads((harness.CASES_DIR / case / "expected.json").read_text())
    assert document["source"] in ("buildkit", "reference")
    if document["source"] == "buildkit":
        assert document["recordedWith"]["engine"].startswith("20.10.24")
    else:
        assert document["reason"]
    assert all(d["reason"] for d in document.get("differences", []))


def test_a_case_that_must_fail_is_checked_by_exit_code_and_message():
    document = {"result": {"failure": {"exitCode": 2, "messages": ["Dockerfile:4:9: unterminated heredoc"]}}}
    stderr = "imagekit: error: Dockerfile:4:9: unterminated heredoc: add a line EOF\n"
    assert harness.check_failure(document, 2, stderr) == []
    problems = harness.check_failure(document, 1, "Dockerfile:4:1: unknown instruction\n")
    assert problems[0] == "exit code: expected 2, got 1"
    assert problems[1] == 'the error does not contain "Dockerfile:4:9: unterminated heredoc"'
    assert "unknown instruction" in problems[-1]
    with pytest.raises(harness.HarnessError, match="no result.failure"):
        harness.check_failure({"result": {"config": {}, "tree": []}}, 1, "")


def test_buildkits_error_line_is_its_last_line_naming_an_error():
    stderr = "#5 [2/2] ADD x\n#5 ERROR: no such file\n------\nfailed to solve: rpc error: bad flag\n\n"
    assert harness.error_line(stderr) == "failed to solve: rpc error: bad flag"
    assert harness.error_line("only\nlines\n") == "lines"


@pytest.mark.parametrize("case", sorted(p.name for p in harness.CASES_DIR.iterdir()
                                        if (p / "case.json").is_file()
                                        and json.loads((p / "case.json").read_text()).get("fails")))
def test_a_case_that_must_fail_says_how(case):
    document = json.loads((harness.CASES_DIR / case / "expected.json").read_text())
    failure = document["result"]["failure"]
    assert isinstance(failure["exitCode"], int) and failure["exitCode"] != 0
    assert any(message.startswith("Dockerfile:") for message in failure["messages"])
