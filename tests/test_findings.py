"""Validation of submitted findings, placement on the diff, and the merge passes."""
from helpers import change, file_change

from reviewbot.domain.enums import FILE, GENERAL, INLINE
from reviewbot.domain.findings import Submission, parse_submission, place
from reviewbot.pipeline.merge import apply_summary, findings_for_summary, first_pass


def raw(**kw):
    d = {"path": "src/app.py", "line": 10, "severity": "high", "category": "bug", "title": "Off by one",
         "explanation": "The loop skips the last item.", "confidence": 0.9}
    d.update(kw)
    return d


def f(specialist="correctness", **kw):
    sub, errors = parse_submission({"findings": [raw(**kw)]}, specialist)
    assert not errors
    return sub.findings[0]


def test_valid_submission_parses():
    sub, errors = parse_submission({"findings": [raw(end_line=12, suggestion="x = 1")], "verdict": "minor_issues",
                                    "overview": "ok", "rejected": [{"id": "F1", "reason": "wrong"}]}, "security")
    assert errors == []
    assert sub.findings[0].end_line == 12 and sub.findings[0].suggestion == "x = 1"
    assert sub.verdict == "minor_issues" and sub.rejected == (("F1", "wrong"),)


def test_invalid_fields_are_reported_and_valid_findings_kept():
    sub, errors = parse_submission({"findings": [raw(line="abc"), raw(severity="urgent"), raw(confidence=3),
                                                 raw(title=None), "nope", raw(line="12")]}, "security")
    assert len(errors) == 5
    assert any("'line' must be a non-negative integer" in e for e in errors)
    assert any("'severity' must be one of" in e for e in errors)
    assert [x.line for x in sub.findings] == [12]            # "12" is repaired, not rejected


def test_not_a_submission():
    assert parse_submission("findings", "x")[0] is None
    assert parse_submission({"findings": "none"}, "x")[0] is None
    sub, errors = parse_submission({"findings": [], "rejected": "F1"}, "x")
    assert errors and sub.rejected == ()


def test_end_line_before_line_is_dropped():
    assert f(line=12, end_line=10).end_line is None


def test_placement_inline_file_general():
    ch = change(file_change("src/app.py", added=(10, 11), context=(8, 9, 12)))
    assert place(f(line=10), ch).placement == INLINE
    assert place(f(line=8), ch).placement == INLINE                 # context lines are commentable
    moved = place(f(line=40, suggestion="y"), ch)
    assert moved.placement == FILE and "not part of the diff" in moved.note and moved.suggestion is None
    assert place(f(line=0), ch).placement == FILE
    other = place(f(path="src/other.py"), ch)
    assert other.placement == GENERAL and "not a file of this change" in other.note
    assert place(f(path="b/src/app.py", line=11), ch).placement == INLINE
    assert place(f(path=""), ch).placement == GENERAL


def test_range_must_stay_in_one_hunk():
    ch = change(file_change("src/app.py", added=(10, 11), context=(9, 12)))
    assert place(f(line=10, end_line=12), ch).end_line == 12
    assert place(f(line=10, end_line=30), ch).end_line is None


def test_first_pass_folds_repeats_keeps_the_worst_and_is_order_independent():
    ch = change()
    subs = {"security": Submission((f("security", severity="critical", title="SQL injection"),)),
            "correctness": Submission((f("correctness", severity="medium", title="SQL  injection!"),
                                       f("correctness", line=11, title="Other", confidence=0.2))),
            "performance": Submission((f("performance", line=12, title="Slow"),))}
    fp = first_pass(subs, ch, 0.5)
    assert [(x.specialist, x.severity, x.also_flagged_by) for x in fp.findings] == [
        ("security", "critical", ("correctness",)), ("performance", "high", ())]
    assert fp.merged == 1 and len(fp.low_confidence) == 1
    reordered = first_pass(dict(reversed(list(subs.items()))), ch, 0.5)
    assert reordered == fp


def test_summary_rejects_folds_adds_and_ignores_unknown_ids():
    ch = change()
    numbered = first_pass({"a": Submission((f("security", title="A"), f("correctness", line=11, title="B"),
                                            f("performance", line=12, title="C")))}, ch, 0.5).findings
    assert '"id": "F3"' in findings_for_summary(numbered)
    verdict = apply_summary(numbered, Submission((f("summary", line=11, title="New"),), "needs_changes", "o",
                                                 rejected=(("F1", "wrong"), ("F9", "x")),
                                                 duplicates=(("F3", "F2"), ("F2", "F2"))), ch, 0.5)
    assert [x.title for x in verdict.findings] == ["B", "New"]
    assert verdict.findings[0].also_flagged_by == ("performance",)
    assert verdict.rejected[0][1] == "wrong" and verdict.duplicates == 1
    assert "F9" in verdict.notes[0]


def test_no_summary_keeps_everything():
    numbered = (f(),)
    assert apply_summary(numbered, None, change(), 0.5).findings == numbered


def test_fingerprint_ignores_line_and_wording_noise():
    assert f(line=10).fingerprint == f(line=11, title="off-by-one").fingerprint
    assert f(title="Off by one").fingerprint != f(title="Null dereference").fingerprint


def test_the_tool_schema_and_the_validation_are_one_definition():
    import json

    from reviewbot.agents.tools import SUBMIT_FINDINGS
    from reviewbot.domain.findings import SUBMISSION_SCHEMA, TITLE_CHARS
    schema = SUBMIT_FINDINGS["input_schema"]
    assert schema is SUBMISSION_SCHEMA
    text = json.dumps(schema)

    def titles(node, in_properties=False):
        if isinstance(node, list):
            return sum(titles(v) for v in node)
        if not isinstance(node, dict):
            return 0
        own = 0 if in_properties else int("title" in node)
        return own + sum(titles(v, k == "properties" and not in_properties) for k, v in node.items())
    assert titles(schema) == 0                           # no pydantic titles (the field `title` is one property)
    assert "$defs" not in text and "$ref" not in text and "anyOf" not in text
    item = schema["properties"]["findings"]["items"]
    assert item["properties"]["title"]["maxLength"] == TITLE_CHARS
    assert item["properties"]["severity"]["enum"] == ["critical", "high", "medium", "low", "nit"]
    assert item["required"] == ["path", "line", "severity", "category", "title", "explanation", "confidence"]
    # the schema's limit is the validation's: a longer title is cut to it, a longer suggestion refused
    assert f(title="x" * (TITLE_CHARS + 50)).title == "x" * TITLE_CHARS
    sub, errors = parse_submission({"findings": [raw(suggestion="y" * 5000)]}, "x")
    assert sub.findings == () and errors and "'suggestion' must be at most" in errors[0]


def test_a_finding_has_one_json_form_and_reads_back():
    from reviewbot.domain.findings import Finding
    one = f(end_line=12, suggestion="x = 1")
    d = one.to_json()
    assert d["fingerprint"] == one.fingerprint and d["note"] is None
    assert Finding.from_json(d) == one
    import json
    assert Finding.from_json(json.loads(json.dumps(d))) == one


def test_state_saved_before_to_json_still_reads():
    from dataclasses import asdict

    from reviewbot.domain.findings import Finding
    one = f(line=11)
    assert Finding.from_json(asdict(one)) == one            # pipeline/resume's earlier format


def test_the_summary_answer_is_short_in_the_schema_and_in_the_validation():
    from reviewbot.domain.findings import OVERVIEW_CHARS, REASON_CHARS, SUBMISSION_SCHEMA
    props = SUBMISSION_SCHEMA["properties"]
    assert props["overview"]["maxLength"] == OVERVIEW_CHARS == 1000 and "sentences" in props["overview"]["description"]
    assert props["rejected"]["items"]["properties"]["reason"]["maxLength"] == REASON_CHARS == 200
    sub, errors = parse_submission({"findings": [], "verdict": "minor_issues", "overview": "x" * 5000,
                                    "rejected": [{"id": "F1", "reason": "r" * 900}]}, "summary")
    assert not errors and len(sub.overview) <= OVERVIEW_CHARS and len(sub.rejected[0][1]) <= REASON_CHARS == 200
