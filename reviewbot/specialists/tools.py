"""The tool list every call of a review sends: same tools, same order, same schemas.

The tool list is the first part of the cached prefix, so it is a constant. The model answers only
through these schemas (findings are never parsed out of free text). One reporting tool serves the
specialists and the summary agent alike, because a second terminal tool would either change the
tool list between calls (a cache miss) or require a forced tool_choice (also a miss).
"""
from __future__ import annotations

SEVERITIES = ("critical", "high", "medium", "low", "nit")
VERDICTS = ("no_issues", "minor_issues", "needs_changes", "blocking_issues")

READ_FILE = {
    "name": "read_file",
    "description": (
        "Read one file of the review workspace and return its text. The workspace holds "
        "shared-mr-context.txt (the change's metadata, file table and routing) and diff/NNN-*.patch, one "
        "unified diff per changed file, named in the file table. Paths are relative to the workspace; "
        "absolute paths, '..' and anything outside the workspace are refused."),
    "input_schema": {
        "type": "object",
        "properties": {
            "path": {"type": "string",
                     "description": "Workspace-relative path, e.g. diff/001-src__app.py.patch"},
        },
        "required": ["path"],
    },
}

_FINDING = {
    "type": "object",
    "properties": {
        "path": {"type": "string",
                 "description": "The changed file's path as in the file table (its new path), not the patch "
                                "file name. Empty string for a finding about the change as a whole."},
        "line": {"type": "integer", "minimum": 0,
                 "description": "New-file line number the finding is about (a '+' or context line of the "
                                "patch); 0 when it is about the file as a whole."},
        "end_line": {"type": "integer", "minimum": 0,
                     "description": "Last new-file line of a multi-line finding, in the same hunk."},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "category": {"type": "string", "maxLength": 40,
                     "description": "Short tag, e.g. sql-injection, off-by-one, n+1-query, stale-doc."},
        "title": {"type": "string", "maxLength": 120, "description": "One line: what is wrong."},
        "explanation": {"type": "string", "maxLength": 2000,
                        "description": "Why it is wrong, the concrete failure or risk, and the fix."},
        "suggestion": {"type": "string", "maxLength": 4000,
                       "description": "Optional exact replacement text for lines line..end_line (no diff "
                                      "markers). Only when the fix is local and certain."},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1,
                       "description": "How sure you are this is a real problem (0 to 1)."},
    },
    "required": ["path", "line", "severity", "category", "title", "explanation", "confidence"],
}

SUBMIT_FINDINGS = {
    "name": "submit_findings",
    "description": (
        "Report your result once, at the end; this ends your review. Specialists: every finding in "
        "`findings` (an empty list when there is nothing worth raising). Summary reviewer: `verdict`, "
        "`overview`, `rejected` and `duplicates` refer to the numbered findings you were given; put in "
        "`findings` only a new issue you found while verifying (normally none)."),
    "input_schema": {
        "type": "object",
        "properties": {
            "findings": {"type": "array", "items": _FINDING, "maxItems": 50},
            "verdict": {"type": "string", "enum": list(VERDICTS),
                        "description": "Summary reviewer only: the overall state of the change."},
            "overview": {"type": "string", "maxLength": 3000,
                         "description": "Summary reviewer only: a short overview of the change and the "
                                        "review, in markdown."},
            "rejected": {
                "type": "array", "description": "Summary reviewer only: findings you judge false positives.",
                "items": {"type": "object",
                          "properties": {"id": {"type": "string", "description": "Finding id, e.g. F3"},
                                         "reason": {"type": "string", "maxLength": 300}},
                          "required": ["id", "reason"]}},
            "duplicates": {
                "type": "array",
                "description": "Summary reviewer only: findings that repeat another one; the kept one should "
                               "be where the issue fits best.",
                "items": {"type": "object",
                          "properties": {"id": {"type": "string", "description": "The duplicate, e.g. F7"},
                                         "same_as": {"type": "string", "description": "The one kept, e.g. F2"}},
                          "required": ["id", "same_as"]}},
        },
        "required": ["findings"],
    },
}

TOOLS = (READ_FILE, SUBMIT_FINDINGS)
READ_FILE_NAME, SUBMIT_NAME = READ_FILE["name"], SUBMIT_FINDINGS["name"]
