"""What kind of file a path is (code, test, docs, config, ci, deps, lockfile, generated, binary).

Pure and path-based: routing of files to specialists and the file table of the shared context
both rest on it, so it must give the same answer for the same path everywhere.
"""
from __future__ import annotations

from fnmatch import fnmatch
from pathlib import PurePosixPath

from reviewbot.domain.specialists import BINARY, CI, CODE, CONFIG, DEPS, DOCS, GENERATED, LOCKFILE, TEST, FileKind

LOCKFILES = {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "cargo.lock", "poetry.lock", "pipfile.lock",
             "go.sum", "composer.lock", "gemfile.lock", "uv.lock", "pdm.lock", "bun.lockb", "npm-shrinkwrap.json"}
DEPS_FILES = {"package.json", "cargo.toml", "pyproject.toml", "setup.py", "setup.cfg", "go.mod", "gemfile",
              "pipfile", "composer.json", "environment.yml", "build.gradle", "pom.xml", "mix.exs"}
CI_GLOBS = (".github/workflows/*", ".github/actions/*", ".github/dependabot.yml", ".github/dependabot.yaml",
            ".travis.yml", "appveyor.yml", ".appveyor.yml", ".gitlab-ci.yml", ".circleci/*",
            "azure-pipelines.yml", "jenkinsfile", ".pre-commit-config.yaml", "tox.ini", "noxfile.py")
DOC_EXTS = {".md", ".rst", ".adoc", ".txt", ".markdown"}
DOC_NAMES = {"license", "licence", "copying", "authors", "changes", "changelog", "history", "notice", "readme"}
CONFIG_EXTS = {".toml", ".yaml", ".yml", ".json", ".ini", ".cfg", ".conf", ".editorconfig", ".properties"}
CONFIG_NAMES = {"dockerfile", "makefile", ".gitignore", ".gitattributes", ".dockerignore", ".npmignore",
                ".eslintrc", ".prettierrc", ".flake8", "manifest.in", ".coveragerc"}
GENERATED_MARKS = ("vendor/", "vendored/", "third_party/", "node_modules/", "dist/", "/generated/")
GENERATED_GLOBS = ("*.min.js", "*.min.css", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go", "*.snap", "*.map")


def file_kind(path: str, is_binary: bool = False) -> FileKind:
    if is_binary:
        return BINARY
    p = PurePosixPath(path)
    low, name = path.lower(), p.name.lower()
    if name in LOCKFILES:
        return LOCKFILE
    if any(m in "/" + low for m in GENERATED_MARKS) or any(fnmatch(name, g) for g in GENERATED_GLOBS):
        return GENERATED
    if any(fnmatch(low, g) for g in CI_GLOBS):
        return CI
    if name in DEPS_FILES or (name.startswith("requirements") and name.endswith((".txt", ".in"))):
        return DEPS
    parts = [x.lower() for x in p.parts[:-1]]
    if (any(x in ("test", "tests", "testing", "spec", "__tests__") for x in parts)
            or name.startswith("test_") or fnmatch(name, "*_test.*") or fnmatch(name, "*.test.*")
            or fnmatch(name, "*.spec.*") or name == "conftest.py"):
        return TEST
    stem = name.split(".")[0]
    if p.suffix.lower() in DOC_EXTS or stem in DOC_NAMES or "docs" in parts or "doc" in parts:
        return DOCS if p.suffix.lower() not in (".py", ".js", ".ts", ".rs", ".go") else CODE
    if p.suffix.lower() in CONFIG_EXTS or name in CONFIG_NAMES:
        return CONFIG
    return CODE
