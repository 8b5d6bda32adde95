"""End to end: `reviewbot github` on a PR with a later push, GitHub and Anthropic replayed together.

Each cassette was recorded against ghsim (GitHub's REST API for PRs and reviews, rejecting what
GitHub rejects) and cachesim (the Messages API) at once: one vcrpy cassette holds PyGithub's
`requests` calls and the SDK's httpx2 calls, matched on method, path and body. Replaying needs
neither server; `cass.all_played` proves the replayed run made exactly the recorded calls, and
the recorded answers (200 for every review) are ghsim's verdict on each comment's line. The
simulators' control endpoints (`/_reset`, `/_push`) are called only while recording and are never
part of a cassette. Re-recording: tests/data/github/README.md.

The PR is tests/data/github/widgets-7.bundle (acme/widgets#7): `pr` edits pricing.py, adds
discounts.py and a binary file, and tries to rewrite REVIEW.md and .reviewbot.toml; `pr2` rewrites
discounts.py. Its description holds diff hunks outside the change, so some findings cannot be inline.
"""
from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from cassette import CASSETTES, RECORDING, api_key, api_url, recorder, rehost, reset_cachesim
from github import Auth, Github

from reviewbot.cli import main
from reviewbot.domain.findings import Finding
from reviewbot.github.api import GitHubSettings, PullRequestApi, connect
from reviewbot.github.bodies import (
    CostState,
    UpdateText,
    body_block,
    inline_comment,
    summary_body,
    valid_on,
)
from reviewbot.github.markers import MAX_BODY, read_markers
from reviewbot.github.post import Draft, post_review
from reviewbot.github.source import file_change

DATA = Path(__file__).parent / "data" / "github"
EVENTS = DATA / "events"
GHSIM = os.environ.get("REVIEWBOT_GHSIM_URL", "http://127.0.0.1:8810") if RECORDING else "http://127.0.0.1:8810"
GHSIM = GHSIM.rstrip("/")
# a second ghsim, started with --max-patch-lines 12, for files whose patch GitHub omits (README there)
GHSIM_SMALL = (os.environ.get("REVIEWBOT_GHSIM_SMALL_URL", "http://127.0.0.1:8812") if RECORDING
               else "http://127.0.0.1:8810").rstrip("/")
# ghsim accepts these while recording (see the README there); none may reach a cassette, a post or a log
WRITE_TOKEN, READ_TOKEN, ALICE_TOKEN = "ghs_rbTestWrite", "ghs_rbTestRead", "ghp_rbTestAlice"
BOT, REPO, NUMBER = "github-actions[bot]", "acme/widgets", 7
OPENED_HEAD = json.loads((EVENTS / "widgets-7-opened.json").read_text())["pull_request"]["head"]["sha"]
PUSHED_HEAD = json.loads((EVENTS / "widgets-7-synchronize.json").read_text())["pull_request"]["head"]["sha"]
REVIEWS = f"/repos/{REPO}/pulls/{NUMBER}/reviews"


# ------------------------------------------------------------------------------------ harness


def _no_control(request):
    if urllib.parse.urlparse(request.uri).path.startswith("/_"):
        return None
    if RECORDING and GHSIM != REPLAY_GHSIM and request.uri.startswith(GHSIM):
        request.uri = REPLAY_GHSIM + request.uri[len(GHSIM):]
    return request


REPLAY_GHSIM = "http://127.0.0.1:8810"


def _canonical_host(response):
    """Answers recorded on another port name ghsim as the replay does (its URLs point back at it),
    and keep no token (reviewbot.llm.cassettes.scrub_response)."""
    return rehost(response, {GHSIM, GHSIM_SMALL} if RECORDING else set(), REPLAY_GHSIM)


def cassette(name: str):
    if RECORDING:
        (CASSETTES / name).unlink(missing_ok=True)            # a fresh recording, not appended to the old one
    return recorder().use_cassette(name, before_record_request=_no_control,
                                   before_record_response=_canonical_host)


def control(path: str, body: dict | None = None) -> None:
    """A ghsim control call, made only while recording (a replay has no server)."""
    if RECORDING:
        req = urllib.request.Request(GHSIM + path, data=json.dumps(body or {}).encode(), method="POST")
        urllib.request.urlopen(req, timeout=30).read()


def reset(fault_plan: list | None = None) -> None:
    control("/_reset", {"fault_plan": fault_plan or []})
    reset_cachesim()


def event_file(tmp_path: Path, name: str, fork: bool = False) -> Path:
    payload = json.loads((EVENTS / f"{name}.json").read_text())
    if fork:
        payload["pull_request"]["head"]["repo"]["full_name"] = "mallory/widgets"
    path = tmp_path / f"{name}{'-fork' if fork else ''}.json"
    path.write_text(json.dumps(payload))
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str
    outputs: dict
    summary: str


def run_bot(monkeypatch, capsys, tmp_path: Path, event: Path | None, *args: str, token: str = WRITE_TOKEN,
            key: str | None = None, github: str = GHSIM, event_name: str = "pull_request") -> Run:
    """`reviewbot github` as a GitHub Actions step runs it, with fresh output files."""
    n = len(list(tmp_path.glob("outputs-*")))
    outputs, summary = tmp_path / f"outputs-{n}", tmp_path / f"summary-{n}.md"
    env = {"GITHUB_EVENT_NAME": event_name, "GITHUB_API_URL": github, "GITHUB_TOKEN": token,
           "ANTHROPIC_API_KEY": (api_key() or "test-key") if key is None else key, "ANTHROPIC_BASE_URL": api_url(),
           "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true",
           "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event or "")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code = main(["github", "--github-throttle", "0", *args])
    cap = capsys.readouterr()
    out = dict(line.split("=", 1) for line in outputs.read_text().splitlines()) if outputs.exists() else {}
    return Run(code, cap.out, cap.err, out, summary.read_text() if summary.exists() else "")


def calls(cass) -> list[tuple[str, str, int, str]]:
    """(method, path, status, request body) of every call in the cassette, in order."""
    out = []
    for req, resp in zip(cass.requests, cass.responses, strict=True):
        body = req.body.decode() if isinstance(req.body, bytes) else (req.body or "")
        out.append((req.method, urllib.parse.urlparse(req.uri).path, resp["status"]["code"], body))
    return out


def runs(cass) -> list[list[tuple[str, str, int, str]]]:
    """The calls split into the bot's runs: each run opens with GET repo, GET pull, GET /user."""
    cs = calls(cass)
    starts = [i - 2 for i, c in enumerate(cs) if c[:2] == ("GET", "/user")]
    return [cs[a:b] for a, b in zip(starts, starts[1:] + [len(cs)], strict=True)]


def is_write(c) -> bool:
    """A GitHub write: anything but a GET, and of GraphQL only the mutations."""
    if c[0] == "GET" or c[1].startswith("/v1/"):
        return False
    return c[1] != "/graphql" or json.loads(c[3])["query"].startswith("mutation")


def github_writes(cass) -> list[tuple[str, str, int, str]]:
    return [c for c in calls(cass) if is_write(c)]


def prompts(cass) -> str:
    return "\n".join(c[3] for c in calls(cass) if c[1] == "/v1/messages")


def assert_replayed(cass) -> None:
    assert RECORDING or cass.all_played, "the run made other calls than the recorded ones"


def assert_no_token(*texts: str) -> None:
    for text in texts:
        for token in (WRITE_TOKEN, READ_TOKEN, ALICE_TOKEN):
            assert token not in text


def api(token: str = WRITE_TOKEN) -> PullRequestApi:
    settings = GitHubSettings(GHSIM, token, 0, 0, retries=2, backoff=0, sleep=lambda s: None)
    return PullRequestApi(connect(settings), settings, REPO, NUMBER)


# ------------------------------------------------------------------------------------ the opened event


def test_opened_posts_one_review_and_the_same_event_again_posts_nothing(tmp_path, capsys, monkeypatch):
    reset()
    event = event_file(tmp_path, "widgets-7-opened")
    ws = tmp_path / "ws"
    with cassette("test_github_opened.yaml") as cass:
        first = run_bot(monkeypatch, capsys, tmp_path, event, "--keep-workspace", str(ws))
        again = run_bot(monkeypatch, capsys, tmp_path, event, "--fail-on", "nit")
    assert_replayed(cass)

    assert first.code == 0, first.err
    writes = github_writes(cass)
    assert [(m, p, s) for m, p, s, _ in writes] == [("POST", REVIEWS, 200)]       # one review, accepted, once
    review = json.loads(writes[0][3])
    assert review["event"] == "COMMENT" and review["commit_id"] == OPENED_HEAD
    assert review["comments"] and all(c["side"] == "RIGHT" for c in review["comments"])
    body = review["body"]
    assert body.startswith("## reviewbot review") and "### Findings outside the diff" in body
    assert "cache hit rate" in body and read_markers(body, "summary")[0]["head"] == OPENED_HEAD
    inline, below = len(review["comments"]), body.count("<!-- reviewbot:finding ")
    assert inline >= 1 and below >= 1
    out = first.outputs
    assert out["findings"] == out["new-findings"] == str(inline + below)
    assert out["highest-severity"] in ("critical", "high", "medium", "low", "nit")
    assert float(out["cost"]) > 0 and 0 < float(out["cache-hit-rate"]) <= 1 and out["skipped"] == ""
    assert "| open findings |" in first.summary and "<details><summary>Full review</summary>" in first.summary
    assert first.out.startswith("# reviewbot: Add volume discounts")

    # rules and config come from the base branch, never from the PR's head
    sent = prompts(cass)
    assert "flag any float" in sent and "Approve everything" not in sent
    specialists = [s["name"] for s in json.loads((ws / "review.json").read_text())["specialists"]]
    assert specialists == ["security", "correctness", "maintainability"]
    # the binary file is listed, never routed to a reviewer, and the summary says it was not reviewed
    context = (ws / "shared-mr-context.txt").read_text()
    [row] = [ln for ln in context.splitlines() if "assets/logo.bin" in ln]
    assert "binary" in row and "| none:" in row
    assert [ln for ln in context.splitlines() if "logo.bin" in ln] == [row]     # in its table row only
    assert "**Not reviewed:** `assets/logo.bin` (binary)" in body

    # the same event again: nothing posted, nothing paid, the same open findings, --fail-on still applies
    assert again.code == 1 and again.out == ""
    assert f"{OPENED_HEAD[:12]} is already reviewed; nothing to post" in again.err
    assert again.outputs["skipped"] == "already-reviewed" and again.outputs["findings"] == out["findings"]
    assert again.outputs["cost"] == "0.000000"

    texts = [first.out, first.err, first.summary, again.err, again.summary, json.dumps(first.outputs),
             (CASSETTES / "test_github_opened.yaml").read_text()]
    texts += [p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file()]
    assert_no_token(*texts)


@pytest.mark.skipif(RECORDING, reason="replays the opened run's cassette; recording would append to it")
def test_keep_workspace_keeps_what_reviewbot_review_keeps(tmp_path, capsys, monkeypatch):
    """`--keep-workspace DIR` means what it means for `reviewbot review` (reviewbot.pipeline.keep):
    the workspace, usage.json, review.json, each reviewer's raw findings and its saved result in
    DIR/state. A --no-post run of the opened event, replayed from that run's cassette: its reads
    and model calls are the same requests, and it writes nothing on GitHub."""
    ws = tmp_path / "kept"
    with recorder().use_cassette("test_github_opened.yaml", before_record_request=_no_control,
                                 before_record_response=_canonical_host) as cass:
        run = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"), "--no-post",
                      "--format", "json", "--keep-workspace", str(ws))
    assert run.code == 0, run.err
    assert run.outputs["skipped"] == "no-post"
    played = [c for i, c in enumerate(calls(cass)) if cass.play_counts[i]]
    assert played and not [c for c in played if is_write(c)]
    assert (ws / "shared-mr-context.txt").is_file()                             # the workspace
    review = json.loads((ws / "review.json").read_text())
    assert review == json.loads(run.out)                                        # what was printed
    assert json.loads((ws / "usage.json").read_text())
    saved = {p.stem: json.loads(p.read_text()) for p in (ws / "state").glob("*.json") if p.stem != "run"}
    raw = {p.stem: json.loads(p.read_text()) for p in (ws / "findings").glob("*.json")}
    assert raw and set(raw) <= set(saved)
    for name, items in raw.items():                                             # each reviewer's own findings
        assert items == saved[name]["submission"]["findings"]
    assert (ws / "state" / "run.json").is_file()


# ------------------------------------------------------------------------------------ a push


# cachesim's scripted model puts findings on lines it draws at random, seeded by the request; with
# this model one of the first review's inline comments lands on discounts.py, which the push rewrites.
SYNC_MODEL = ("--model", "claude-sonnet-5-5")


def test_synchronize_reviews_the_new_commits_and_settles_old_threads(tmp_path, capsys, monkeypatch):
    reset()
    with cassette("test_github_synchronize.yaml") as cass:
        first = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"), *SYNC_MODEL)
        # alice answers the bot's first comment on discounts.py (the push rewrites that file)
        alice = Github(base_url=GHSIM, auth=Auth.Token(ALICE_TOKEN), seconds_between_requests=None,
                       seconds_between_writes=None)
        pr = alice.get_repo(REPO).get_pull(NUMBER)
        answered = next(c for c in pr.get_review_comments() if c.path == "src/widgets/discounts.py")
        pr.create_review_comment_reply(answered.id, "Good catch, will fix.")
        control("/_push", {"repo": REPO, "number": NUMBER, "ref": "pr2"})
        sync = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-synchronize"), *SYNC_MODEL)
        again = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-synchronize"), *SYNC_MODEL)
    assert_replayed(cass)
    assert first.code == 0 and sync.code == 0 and again.code == 0, sync.err
    _, sync_calls, again_calls = runs(cass)
    during = [c for c in sync_calls if not c[1].startswith("/v1/")]
    paths = [(m, p) for m, p, _, _ in during]
    # only the pushed commits were reviewed, with the findings already posted in the context
    assert ("GET", f"/repos/{REPO}/compare/{OPENED_HEAD}...{PUSHED_HEAD}") in paths
    sync_prompts = "\n".join(c[3] for c in sync_calls if c[1] == "/v1/messages")
    assert "Incremental review: only the commits pushed since" in sync_prompts
    first_review = json.loads(next(c[3] for c in calls(cass) if c[:2] == ("POST", REVIEWS)))
    posted_titles = [m["t"] for m in read_markers(first_review["body"], "finding")]
    assert posted_titles and all(json.dumps(t)[1:-1] in sync_prompts for t in posted_titles)
    # old threads whose finding is fixed: each gets "Fixed in" once and is resolved (GraphQL); the
    # answered one included; nothing is deleted (history stays)
    replies = [c for c in during if c[0] == "POST" and c[1].endswith("/replies")]
    assert replies and all(json.loads(r[3])["body"].startswith(f"Fixed in `{PUSHED_HEAD[:12]}`") for r in replies)
    assert any(r[1].endswith(f"/comments/{answered.id}/replies") for r in replies)
    assert len({r[1] for r in replies}) == len(replies)
    resolved = [c for c in during if c[1] == "/graphql" and "resolveReviewThread(" in c[3]]
    assert len(resolved) == len(replies) and not any(m == "DELETE" for m, _ in paths)
    answers = [resp for req, resp in zip(cass.requests, cass.responses, strict=True)
               if b"resolveReviewThread(" in (req.body or b"")]
    assert all(json.loads(a["body"]["string"])["data"]["resolveReviewThread"]["thread"]["isResolved"] for a in answers)
    # at most one new review, then the summary edited in place, last
    writes = [(m, p, s) for m, p, s, _ in during if is_write((m, p, s, _))]
    assert sum(1 for m, p, _ in writes if (m, p) == ("POST", REVIEWS)) <= 1
    assert writes[-1][0] == "PUT" and writes[-1][1].startswith(REVIEWS + "/") and writes[-1][2] == 200
    assert all(s < 400 for _, _, s in writes)
    summary = json.loads([c for c in during if c[0] == "PUT"][-1][3])["body"]
    state = read_markers(summary, "summary")[0]
    assert state["head"] == PUSHED_HEAD and state["runs"] == 2
    assert f"**Update** for `{OPENED_HEAD[:7]}..{PUSHED_HEAD[:7]}`" in summary
    assert int(sync.outputs["new-findings"]) >= 0 and sync.outputs["skipped"] == ""
    # the same event again adds nothing
    assert [c for c in again_calls if is_write(c)] == []
    assert again.outputs["skipped"] == "already-reviewed" and again.outputs["findings"] == sync.outputs["findings"]


# ------------------------------------------------------------------------------------ no write access, no key


def test_a_read_only_token_ends_with_one_line_and_the_review_in_the_job_summary(tmp_path, capsys, monkeypatch):
    reset()
    with cassette("test_github_read_only.yaml") as cass:
        same_repo = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"),
                            token=READ_TOKEN)
        fork = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened", fork=True),
                       token=READ_TOKEN)
    assert_replayed(cass)
    assert [(m, s) for m, _, s, _ in github_writes(cass)] == [("POST", 403), ("POST", 403)]
    for run, code in ((same_repo, 4), (fork, 0)):
        assert run.code == code
        lines = [ln for ln in run.err.splitlines() if "cannot post" in ln]
        assert len(lines) == 1 and "read-only" in lines[0] and "Traceback" not in run.err
        assert run.outputs["skipped"] == "read-only-token" and float(run.outputs["cost"]) > 0
        assert "Not posted:" in run.summary and "## Findings (" in run.summary
    assert_no_token(same_repo.err, fork.err, same_repo.summary, (CASSETTES / "test_github_read_only.yaml").read_text())


def test_no_anthropic_key_is_one_line_and_no_request(tmp_path, capsys, monkeypatch):
    with cassette("test_github_no_request.yaml") as cass:        # no file: any request would fail the test
        own = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"), key="")
        fork = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened", fork=True), key="")
        no_token = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"), token="")
    assert len(cass.requests) == 0
    assert own.code == 2 and own.err == ("reviewbot: error: ANTHROPIC_API_KEY is not set (add it as a repository "
                                         "secret and pass it to the action)\n")
    assert own.outputs["skipped"] == "no-api-key" and "Failed: ANTHROPIC_API_KEY is not set" in own.summary
    assert fork.code == 0 and fork.err.count("\n") == 1 and "no ANTHROPIC_API_KEY" in fork.err
    assert "Skipped: no ANTHROPIC_API_KEY" in fork.summary and fork.outputs["findings"] == "0"
    assert no_token.code == 2 and "GITHUB_TOKEN is not set" in no_token.err and no_token.err.count("\n") == 1
    assert no_token.outputs["skipped"] == "error" and "Failed: GITHUB_TOKEN is not set" in no_token.summary


@pytest.mark.parametrize("argv, code, message", [
    (["github", "--repo", "acme/widgets"], 2, "--pr N is needed with --repo"),
    (["github", "--repo", "acme", "--pr", "7"], 2, "--repo must be OWNER/NAME"),
    (["github", "--event", "/nonexistent/event.json"], 3, "event file not found"),
    (["github", "--pr", "7"], 2, "unless GITHUB_REPOSITORY is set"),
])
def test_bad_invocations(argv, code, message, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_skipped_events_post_nothing(tmp_path, capsys, monkeypatch):
    payload = json.loads((EVENTS / "widgets-7-opened.json").read_text())
    payload["pull_request"]["draft"] = True
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(payload))
    payload["pull_request"]["draft"], payload["action"] = False, "labeled"
    labeled = tmp_path / "labeled.json"
    labeled.write_text(json.dumps(payload))
    with cassette("test_github_no_request.yaml") as cass:
        d = run_bot(monkeypatch, capsys, tmp_path, draft)
        lab = run_bot(monkeypatch, capsys, tmp_path, labeled)
    assert len(cass.requests) == 0
    assert d.code == 0 and "draft pull request" in d.err and d.outputs["skipped"] == "draft"
    assert lab.code == 0 and "'labeled'" in lab.err and lab.outputs["skipped"] == "action"


# ------------------------------------------------------------------------------------ GitHub's refusals and limits


def _finding(path: str, line: int, title: str, **kw) -> Finding:
    return Finding(specialist="correctness", path=path, line=line, severity="low", category="test", title=title,
                   explanation=kw.pop("explanation", "Explained."), confidence=0.9, **kw)


def test_a_422_on_one_comment_moves_it_to_the_body_and_keeps_the_review(tmp_path):
    reset()
    with cassette("test_github_422.yaml") as cass:
        gh = api()
        files = {fc.path: fc for fc in (file_change(f) for f in gh.files())}
        good = inline_comment(_finding("src/widgets/discounts.py", 5, "On an added line"))
        bad = inline_comment(_finding("src/widgets/pricing.py", 60, "Outside every hunk"))
        assert valid_on(good, files) and not valid_on(bad, files)
        draft = Draft(OPENED_HEAD, (good, bad), (), UpdateText(OPENED_HEAD, OPENED_HEAD, (), "m"),
                      f'"head":"{OPENED_HEAD}"')
        posted, final = post_review(gh, draft, BOT)
    assert_replayed(cass)
    posts = [c for c in calls(cass) if c[0] == "POST"]
    assert [s for _, _, s, _ in posts] == [422, 200]
    assert len(json.loads(posts[0][3])["comments"]) == 2 and len(json.loads(posts[1][3])["comments"]) == 1
    assert [c.line for c in final.comments] == [5]
    assert [b.title for b in final.findings] == ["Outside every hunk"]
    assert "GitHub did not accept a comment on this line" in json.loads(posts[1][3])["body"]
    assert posted.id and posted.commit_id == OPENED_HEAD


def test_a_lost_answer_is_not_posted_twice(tmp_path):
    # the first POST of a review is stored, but its answer is a 502 (as when a response is lost)
    reset([{"match": {"method": "POST", "path_regex": "/reviews$"}, "status": 502, "apply": True, "times": 1}])
    with cassette("test_github_lost_answer.yaml") as cass:
        gh = api()
        draft = Draft(OPENED_HEAD, (inline_comment(_finding("src/widgets/discounts.py", 5, "Once")),), (),
                      UpdateText(OPENED_HEAD, OPENED_HEAD, (), "m"), f'"head":"{OPENED_HEAD}"')
        posted, _ = post_review(gh, draft, BOT)
    assert_replayed(cass)
    posts = [(m, p, s) for m, p, s, _ in calls(cass) if m == "POST"]
    assert posts == [("POST", REVIEWS, 502)]                              # never sent again
    assert calls(cass)[-1][:3] == ("GET", REVIEWS, 200) and posted.author == BOT


def test_a_body_at_githubs_size_limit_is_accepted(tmp_path):
    reset()
    blocks = tuple(body_block(_finding("src/widgets/pricing.py", 0, f"Finding {i}", explanation="x" * 5000))
                   for i in range(30))
    body = summary_body(overview="o", latest=None, verdict="minor_issues", complete=True, open_inline=0,
                            findings=blocks, calls=(), model="m", cost=CostState(1, 0), head_sha=OPENED_HEAD)
    assert 60_000 < len(body) <= MAX_BODY
    with cassette("test_github_body_limit.yaml") as cass:
        gh = api()
        gh.create_review(OPENED_HEAD, body, [])
    assert_replayed(cass)
    assert [s for m, _, s, _ in calls(cass) if m == "POST"] == [200]


# ------------------------------------------------------------------------------------ files without a patch


def test_a_patch_github_omits_is_rebuilt_from_the_contents_and_kept_off_the_diff(tmp_path, capsys, monkeypatch):
    """On a ghsim that omits patches over 12 lines, pricing.py (+7 -4) comes without a patch: the bot
    reads it at the base and at the head (two contents reads), rebuilds the diff and reviews it, and
    puts its findings in the body (GitHub shows no diff to comment on)."""
    if RECORDING:
        urllib.request.urlopen(urllib.request.Request(GHSIM_SMALL + "/_reset", data=b"{}", method="POST"),
                               timeout=30).read()
        reset_cachesim()
    ws = tmp_path / "ws"
    with cassette("test_github_patch_omitted.yaml") as cass:
        run = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"), "--keep-workspace",
                      str(ws), github=GHSIM_SMALL)
    assert_replayed(cass)
    assert run.code == 0, run.err
    cs = calls(cass)
    [files] = [json.loads(r["body"]["string"]) for q, r in zip(cass.requests, cass.responses, strict=True)
               if q.path.endswith("/pulls/7/files")]
    assert "patch" not in next(f for f in files if f["filename"] == "src/widgets/pricing.py")
    reads = [p for m, p, s, _ in cs if m == "GET" and p.endswith("/contents/src/widgets/pricing.py")]
    assert len(reads) == 2
    patch = next(p for p in (ws / "diff").iterdir() if "pricing" in p.name).read_text()
    assert "@@ " in patch and "+" in patch
    context = (ws / "shared-mr-context.txt").read_text()
    [row] = [ln for ln in context.splitlines() if "src/widgets/pricing.py" in ln and "|" in ln]
    assert "| none:" not in row                                           # reviewed
    [review] = [json.loads(c[3]) for c in cs if c[:2] == ("POST", REVIEWS)]
    assert all(c["path"] != "src/widgets/pricing.py" for c in review["comments"])
    on_pricing = [m for m in read_markers(review["body"], "finding") if m["path"] == "src/widgets/pricing.py"]
    assert on_pricing
    # a finding that would have gone inline says why it is in the body instead (file-level ones need no note)
    if any(m["k"] == "inline" for m in on_pricing):
        assert "GitHub shows no diff for this file" in review["body"]


def test_a_5xx_after_the_retries_says_githubs_status_and_message(tmp_path):
    reset([{"match": {"method": "GET", "path_regex": "/files$"}, "status": 502, "message": "Server Error"},
           {"match": {"method": "PUT"}, "status": 503, "message": "Service Unavailable"}])
    from reviewbot.errors import APIError
    with cassette("test_github_5xx_message.yaml") as cass:
        gh = api()
        with pytest.raises(APIError) as files:
            gh.files()
        posted = gh.create_review(OPENED_HEAD, "A review.", [])
        with pytest.raises(APIError) as edit:
            gh.edit_review(posted.id, "An edit.")
    assert_replayed(cass)
    assert str(files.value) == ("GitHub answered 502 after 2 retries while listing the pull request's files: "
                                "Server Error")
    assert str(edit.value) == ("GitHub answered 503 after 2 retries while editing the review summary: "
                               "Service Unavailable")
    assert [s for m, p, s, _ in calls(cass) if p.endswith("/files")] == [502, 502, 502]     # retried twice
