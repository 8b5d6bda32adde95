"""The edge to GitHub: the only module that imports PyGithub.

It asks GitHub for data and sends what run.py planned (plan.py, bodies.py); it decides nothing. Every text it sends
(review bodies, comments, replies, edits) passes through outgoing.outgoing() first. Everything it returns
is reviewbot's own frozen records (source.PullInfo, ApiFile ..., and PostedReview / PostedComment
here), never PyGithub objects, and every GitHub failure becomes an `APIError` (or one of its
kinds in reviewbot.errors: ReadOnlyToken, Forbidden, Unprocessable) with a one-line message that
never holds the token.

Retries and limits. PyGithub's `GithubRetry` retries 5xx answers with exponential backoff and waits
out rate-limit 403s (until `X-RateLimit-Reset`, or `Retry-After`) for reads and idempotent writes
(PUT, DELETE), up to `max_rate_limit_wait`; when the retries run out, GitHub's last answer (its
status and message) is what the error says, never urllib3's `RetryError`. POSTs are *not* retried
blindly: a POST whose answer was lost may have been applied, and posting a review twice is the
spam this bot must never send.
`_post` retries them itself and first asks `already_done()` (did the review land after all?).
The throttle between requests (PyGithub's 0.25 s / 1 s for writes by default, as GitHub asks of
integrations) is a setting; tests turn it off.
"""
from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import requests
from github import (
    Auth,
    Github,
    GithubException,
    GithubRetry,
    RateLimitExceededException,
)
from github.Commit import Commit
from github.GithubObject import GithubObject
from github.PullRequest import PullRequest
from github.PullRequestReview import PullRequestReview
from github.Repository import Repository
from urllib3 import Retry

from reviewbot import __version__
from reviewbot.errors import APIError, Forbidden, ReadOnlyToken, Unprocessable
from reviewbot.github.outgoing import outgoing
from reviewbot.github.source import ApiFile, CommitInfo, Comparison, PullInfo

INSTALLATION_LOGIN = "github-actions[bot]"      # who GITHUB_TOKEN posts as

T = TypeVar("T")
Json = dict[str, Any]
_RAW_DATA = cast(property, inspect.getattr_static(GithubObject, "raw_data"))


@dataclass(frozen=True)
class PostedReview:
    id: int
    author: str
    body: str
    commit_id: str = ""
    state: str = "COMMENTED"
    html_url: str = ""
    node_id: str = ""


@dataclass(frozen=True)
class PostedComment:
    """A review comment as GitHub lists it. `line` is None once the comment is outdated."""

    id: int
    author: str
    body: str
    path: str
    line: int | None = None
    start_line: int | None = None
    in_reply_to: int | None = None
    commit_id: str = ""
    html_url: str = ""
    review_id: int | None = None              # the review it was posted with
    node_id: str = ""
    thumbs: tuple[int, int] = (0, 0)          # GitHub's reaction summary: (+1, -1)
    association: str = ""                     # the author's association with the repository

    @property
    def outdated(self) -> bool:
        return self.line is None


@dataclass(frozen=True)
class ReviewThread:
    """A review thread as GraphQL gives it, keyed by its root comment's REST id."""

    id: str                                   # the GraphQL node id (PRRT_...)
    root: int
    resolved: bool = False
    resolved_by: str = ""
    outdated: bool = False


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str
    token: str = field(repr=False)
    seconds_between_requests: float = 0.25      # PyGithub's defaults: GitHub asks integrations to pace writes
    seconds_between_writes: float = 1.0
    retries: int = 4                            # per request, for 5xx and connection errors
    backoff: float = 1.0                        # seconds; doubled on each retry
    max_rate_limit_wait: float = 120.0          # wait out a rate limit up to this long, else fail
    timeout: int = 30
    verbose: bool = False
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)


def connect(settings: GitHubSettings) -> Github:
    """A PyGithub client for these settings (no request is made here)."""
    logging.getLogger("github").setLevel(logging.INFO if settings.verbose else logging.WARNING)
    retry = GithubRetry(total=settings.retries, backoff_factor=settings.backoff,
                        secondary_rate_wait=min(60.0, settings.max_rate_limit_wait),
                        max_rate_limit_wait=settings.max_rate_limit_wait,
                        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,          # no POST: see _post
                        raise_on_status=False)          # the last answer, not RetryError, once retries run out
    return Github(base_url=settings.api_url, auth=Auth.Token(settings.token), timeout=settings.timeout,
                  retry=retry, per_page=100, user_agent=f"reviewbot/{__version__}",
                  seconds_between_requests=settings.seconds_between_requests or None,
                  seconds_between_writes=settings.seconds_between_writes or None)


def _fields(obj: GithubObject) -> Json:
    """The JSON an object was built from. Reading it does not 'complete' a listed object: PyGithub
    would fetch each comment again to read a field GitHub left out (a root comment's in_reply_to_id)."""
    assert _RAW_DATA.fget is not None
    return cast(Json, _RAW_DATA.fget(obj))


def _message(e: GithubException) -> str:
    data = e.data if isinstance(e.data, dict) else {}
    msg = str(data.get("message") or e.message or "").splitlines()
    return (msg[0] if msg else "")[:200]


def _errors(e: GithubException) -> tuple[str, ...]:
    data = e.data if isinstance(e.data, dict) else {}
    out = []
    for item in data.get("errors") or ():
        out.append(str(item.get("message") or item.get("code") or item) if isinstance(item, dict) else str(item))
    return tuple(out)


def api_error(e: GithubException, doing: str, write: bool = False, retries: int = 0) -> APIError:
    """GitHub's answer as a one-line reviewbot error: the status and GitHub's own message."""
    status, msg = e.status, _message(e)
    if status == 401:
        return APIError(f"GitHub rejected the token while {doing} (401 {msg or 'Bad credentials'}): check GITHUB_TOKEN")
    if isinstance(e, RateLimitExceededException):
        return APIError(f"GitHub API rate limit exceeded while {doing}: {msg}")
    if status == 403 and "not accessible" in msg and write:
        return ReadOnlyToken(f"GitHub refused {doing}: {msg} (the token is read-only: grant "
                             "'pull-requests: write', or this is a pull request from a fork)")
    if status == 404:
        return APIError(f"GitHub: not found while {doing} (404): check the repository, the pull request number "
                        "and that the token can read them")
    if status == 422:
        detail = "; ".join(_errors(e))
        return Unprocessable(f"GitHub refused {doing} (422 {msg}{': ' + detail if detail else ''})", _errors(e))
    after = f" after {retries} retries" if retries and status >= 500 else ""
    return APIError(f"GitHub answered {status}{after} while {doing}: {msg}" if msg else
                    f"GitHub answered {status}{after} while {doing}")


def _retry_after(e: GithubException, now: float) -> float | None:
    """Seconds GitHub asks us to wait before retrying this 403/429, or None if it is not a rate limit."""
    headers = {k.lower(): v for k, v in (e.headers or {}).items()}
    if "retry-after" in headers and str(headers["retry-after"]).strip().isdigit():
        return float(headers["retry-after"])
    if isinstance(e, RateLimitExceededException) or (e.status in (403, 429) and "rate limit" in _message(e).lower()):
        reset = str(headers.get("x-ratelimit-reset", ""))
        if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return max(0.0, int(reset) - now + 1)
        return 60.0                                                     # secondary limit: GitHub says wait a minute
    return None


class PullRequestApi:
    """One pull request of one repository, through a PyGithub client that is passed in."""

    def __init__(self, gh: Github, settings: GitHubSettings, repository: str, number: int,
                 clock: Callable[[], float] = time.time):
        self._gh, self._settings, self._clock = gh, settings, clock
        self.repository, self.number = repository, number
        self._repo: Repository | None = None
        self._pr: PullRequest | None = None
        self._commit_objs: dict[str, Commit] = {}
        self._review_objs: dict[int, PullRequestReview] = {}
        self._known: tuple[str, ...] = ()       # the change's secrets, redacted from every text posted
        self._listed: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}

    def redact_with(self, known: tuple[str, ...]) -> None:
        """From now on every body this client posts is redacted of `known` (and secret-shaped text)."""
        self._known = tuple(known)

    # ---------------------------------------------------------------------------------- plumbing

    def _call(self, doing: str, fn: Callable[[], T], write: bool = False) -> T:
        try:
            return fn()
        except GithubException as e:
            raise api_error(e, doing, write, self._settings.retries) from None
        except requests.exceptions.RequestException as e:
            raise APIError(f"cannot reach the GitHub API at {self._settings.api_url} while {doing} "
                           f"({type(e).__name__})") from None

    def _post(self, doing: str, fn: Callable[[], T], already_done: Callable[[], T | None] | None = None) -> T:
        """A write that is not idempotent: retried here, after checking it did not land already."""
        s = self._settings
        for attempt in range(s.retries + 1):
            try:
                return fn()
            except GithubException as e:
                wait = _retry_after(e, self._clock())
                if wait is not None and not (e.status == 403 and "not accessible" in _message(e)):
                    if wait > s.max_rate_limit_wait or attempt == s.retries:
                        raise api_error(e, doing, write=True) from None
                    s.sleep(wait)
                    continue
                if e.status < 500 or attempt == s.retries:
                    raise api_error(e, doing, write=True, retries=attempt) from None
            except requests.exceptions.RequestException as e:
                if attempt == s.retries:
                    raise APIError(f"cannot reach the GitHub API at {s.api_url} while {doing} "
                                   f"({type(e).__name__})") from None
            s.sleep(s.backoff * 2 ** attempt)
            if already_done is not None:
                done = already_done()
                if done is not None:
                    return done
        raise APIError(f"GitHub: {doing} failed")                            # not reached

    def _pull_obj(self) -> PullRequest:
        if self._pr is None:
            def get() -> tuple[Repository, PullRequest]:
                repo = self._gh.get_repo(self.repository)
                return repo, repo.get_pull(self.number)
            self._repo, self._pr = self._call(f"reading pull request {self.repository}#{self.number}", get)
        return self._pr

    def _repo_obj(self) -> Repository:
        self._pull_obj()
        assert self._repo is not None
        return self._repo

    # ---------------------------------------------------------------------------------- reads

    def pull(self) -> PullInfo:
        pr = _fields(self._pull_obj())
        head, base = pr.get("head") or {}, pr.get("base") or {}
        return PullInfo(number=pr["number"], title=pr.get("title") or "", body=pr.get("body") or "",
                        author=(pr.get("user") or {}).get("login", ""), state=pr.get("state") or "open",
                        draft=bool(pr.get("draft")), base_ref=base.get("ref", ""), base_sha=base.get("sha", ""),
                        head_ref=head.get("ref", ""), head_sha=head.get("sha", ""),
                        head_repository=(head.get("repo") or {}).get("full_name"), html_url=pr.get("html_url", ""))

    def head_now(self) -> str:
        """The PR's head sha as GitHub has it now: a fresh read (`pull` is the PR as the run first read it)."""
        def get() -> str:
            head = _fields(self._repo_obj().get_pull(self.number)).get("head") or {}
            return str(head.get("sha") or "")
        return self._call(f"reading pull request {self.repository}#{self.number} again", get)

    @staticmethod
    def _file(d: Json) -> ApiFile:
        return ApiFile(d["filename"], d.get("status", "modified"), d.get("patch"), d.get("previous_filename"),
                       d.get("additions", 0), d.get("deletions", 0))

    def files(self) -> tuple[ApiFile, ...]:
        pr = self._pull_obj()
        return self._call("listing the pull request's files",
                          lambda: tuple(self._file(_fields(f)) for f in pr.get_files()))

    def commits(self) -> tuple[CommitInfo, ...]:
        pr = self._pull_obj()

        def get() -> tuple[CommitInfo, ...]:
            out = []
            for c in pr.get_commits():
                d = _fields(c)
                self._commit_objs[d["sha"]] = c
                out.append(CommitInfo(d["sha"], ((d.get("commit") or {}).get("message") or "").split("\n", 1)[0],
                                      tuple(p["sha"] for p in d.get("parents") or ())))
            return tuple(out)
        return self._call("listing the pull request's commits", get)

    def compare(self, base: str, head: str) -> Comparison | None:
        """The commits and files from base to head; None when GitHub does not know base any more."""
        repo = self._repo_obj()
        try:
            c = repo.compare(base, head)
            d = _fields(c)
        except GithubException as e:
            if e.status == 404:
                return None
            raise api_error(e, f"comparing {base[:12]}...{head[:12]}") from None
        commits = tuple(CommitInfo(x["sha"], ((x.get("commit") or {}).get("message") or "").split("\n", 1)[0],
                                   tuple(p["sha"] for p in x.get("parents") or ())) for x in d.get("commits") or ())
        return Comparison(d.get("status", ""), commits, tuple(self._file(f) for f in d.get("files") or ()))

    def list_dir(self, path: str, ref: str) -> tuple[tuple[str, str], ...]:
        """(name, type) of a directory's entries at ref; () when it does not exist. Kept per (path,
        ref): a commit's tree does not change."""
        if (path, ref) in self._listed:
            return self._listed[(path, ref)]
        repo = self._repo_obj()
        try:
            found = repo.get_contents(path, ref=ref)
        except GithubException as e:
            if e.status == 404:
                return ()
            raise api_error(e, f"listing {path or '/'} at {ref[:12]}") from None
        items = found if isinstance(found, list) else []
        listed = tuple((_fields(i)["name"], _fields(i)["type"]) for i in items)
        self._listed[(path, ref)] = listed
        return listed

    def read_text(self, path: str, ref: str) -> str | None:
        """A regular file's text at ref (UTF-8, bad bytes replaced); None when absent or not a file."""
        repo = self._repo_obj()
        try:
            item = repo.get_contents(path, ref=ref)
        except GithubException as e:
            if e.status == 404:
                return None
            raise api_error(e, f"reading {path} at {ref[:12]}") from None
        if isinstance(item, list) or _fields(item).get("type") != "file" or _fields(item).get("encoding") != "base64":
            return None
        return bytes(item.decoded_content).decode("utf-8", errors="replace")

    def tarball(self, ref: str, max_bytes: int) -> bytes:
        """The gzipped tarball of the repository at ref (GitHub redirects to a download link that
        carries its own authorisation); APIError when it fails or is larger than max_bytes."""
        repo = self._repo_obj()
        link = self._call(f"asking for the archive of {ref[:12]}", lambda: repo.get_archive_link("tarball", ref))
        try:
            with requests.get(link, stream=True, timeout=self._settings.timeout) as r:
                r.raise_for_status()
                data = bytearray()
                for chunk in r.iter_content(1 << 16):
                    data += chunk
                    if len(data) > max_bytes:
                        raise APIError(f"the archive of {ref[:12]} is larger than {max_bytes} bytes")
                return bytes(data)
        except requests.exceptions.RequestException as e:
            raise APIError(f"cannot download the archive of {ref[:12]} ({type(e).__name__})") from None

    def login(self) -> str:
        """Who the token posts as: the user of a personal token; GITHUB_TOKEN (an installation) cannot
        ask, and posts as github-actions[bot]."""
        try:
            return str(self._gh.get_user().login)
        except GithubException as e:
            if e.status == 403:
                return INSTALLATION_LOGIN
            raise api_error(e, "reading the token's user") from None
        except requests.exceptions.RequestException as e:
            raise APIError(f"cannot reach the GitHub API at {self._settings.api_url} ({type(e).__name__})") from None

    def reviews(self) -> tuple[PostedReview, ...]:
        pr = self._pull_obj()

        def get() -> tuple[PostedReview, ...]:
            out = []
            for r in pr.get_reviews():
                d = _fields(r)
                self._review_objs[d["id"]] = r
                out.append(self._review(d))
            return tuple(out)
        return self._call("listing the reviews", get)

    @staticmethod
    def _review(d: Json) -> PostedReview:
        return PostedReview(d["id"], (d.get("user") or {}).get("login", ""), d.get("body") or "",
                            d.get("commit_id") or "", d.get("state") or "", d.get("html_url") or "",
                            d.get("node_id") or "")

    @staticmethod
    def _comment(d: Json) -> PostedComment:
        return PostedComment(d["id"], (d.get("user") or {}).get("login", ""), d.get("body") or "", d.get("path") or "",
                             d.get("line"), d.get("start_line"), d.get("in_reply_to_id"), d.get("commit_id") or "",
                             d.get("html_url") or "", d.get("pull_request_review_id"), d.get("node_id") or "",
                             (int((d.get("reactions") or {}).get("+1") or 0),
                              int((d.get("reactions") or {}).get("-1") or 0)),
                             d.get("author_association") or "")

    def review_comments(self) -> tuple[PostedComment, ...]:
        pr = self._pull_obj()
        return self._call("listing the review comments",
                          lambda: tuple(self._comment(_fields(c)) for c in pr.get_review_comments()))

    _THREADS = ("query($owner: String!, $name: String!, $number: Int!, $after: String) { repository(owner: $owner, "
                "name: $name) { pullRequest(number: $number) { reviewThreads(first: 100, after: $after) { "
                "pageInfo { hasNextPage endCursor } nodes { id isResolved isOutdated resolvedBy { login } "
                "comments(first: 1) { nodes { databaseId } } } } } } }")

    def threads(self) -> tuple[ReviewThread, ...]:
        """The PR's review threads (GraphQL: REST has no thread resolution), by root comment."""
        owner, name = self.repository.split("/", 1)
        out: list[ReviewThread] = []
        after: str | None = None
        while True:
            variables: Json = {"owner": owner, "name": name, "number": self.number, "after": after}
            _, data = self._graphql("listing the review threads", self._THREADS, variables)
            conn = ((((data.get("data") or {}).get("repository") or {}).get("pullRequest") or {})
                    .get("reviewThreads") or {})
            for t in conn.get("nodes") or ():
                roots = (t.get("comments") or {}).get("nodes") or ()
                if roots and isinstance(roots[0].get("databaseId"), int):
                    out.append(ReviewThread(t["id"], roots[0]["databaseId"], bool(t.get("isResolved")),
                                            (t.get("resolvedBy") or {}).get("login", ""), bool(t.get("isOutdated"))))
            page = conn.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                return tuple(out)
            after = page["endCursor"]

    def _graphql(self, doing: str, query: str, variables: Json) -> tuple[Json, Json]:
        """One GraphQL request; FORBIDDEN becomes `Forbidden`. Queries and these mutations are
        idempotent, so 5xx answers are retried like reads."""
        def send() -> tuple[Json, Json]:
            try:
                return self._gh.requester.graphql_query(query, variables)
            except GithubException as e:
                data = e.data if isinstance(e.data, dict) else {}
                errors = [x for x in data.get("errors") or () if isinstance(x, dict)]
                if any(x.get("type") == "FORBIDDEN" for x in errors):
                    msg = next(x.get("message") for x in errors if x.get("type") == "FORBIDDEN")
                    raise Forbidden(f"GitHub refused {doing}: {msg}") from None
                if errors and e.status == 400:
                    msgs = "; ".join(str(x.get("message") or x.get("type")) for x in errors)[:300]
                    raise APIError(f"GitHub's GraphQL API refused {doing}: {msgs}") from None
                raise
        return self._post(doing, send)

    def _mutate(self, doing: str, name: str, inp: Json, fields: str) -> Json:
        query = (f"mutation($input: {name[0].upper() + name[1:]}Input!) {{ {name}(input: $input) {{ {fields} }} }}")
        _, data = self._graphql(doing, query, {"input": inp})
        return cast(Json, (data.get("data") or {}).get(name) or {})

    def resolve_thread(self, thread_id: str, resolve: bool = True) -> None:
        """Resolve (or unresolve) a review thread; `Forbidden` when the token may not."""
        name = "resolveReviewThread" if resolve else "unresolveReviewThread"
        self._mutate(("resolving" if resolve else "reopening") + " a review thread", name,
                     {"threadId": thread_id}, "thread { id isResolved }")

    def minimize(self, node_id: str, classifier: str = "OUTDATED") -> None:
        """Hide one of the bot's own comments or review bodies (kept in the history, folded away)."""
        self._mutate("hiding a superseded comment", "minimizeComment", {"subjectId": node_id, "classifier": classifier},
                     "minimizedComment { isMinimized }")

    def rate(self) -> tuple[int, int, float]:
        """(remaining, limit, reset as epoch seconds) from the last answer's X-RateLimit headers."""
        remaining, limit = self._gh.rate_limiting
        return remaining, limit, float(self._gh.rate_limiting_resettime or 0)

    def wait_for_rate(self, needed: int) -> None:
        """Before a batch of writes: if fewer than `needed` requests are left, wait for the reset when it
        is near, else stop before posting half a review."""
        remaining, limit, reset = self._call("reading the rate limit", self.rate)
        if remaining < 0 or remaining >= needed:
            return
        wait = max(0.0, reset - self._clock() + 1)
        if wait > self._settings.max_rate_limit_wait:
            when = datetime.fromtimestamp(reset, UTC).strftime("%H:%M UTC")
            raise APIError(f"GitHub API rate limit: {remaining} of {limit} requests left, {needed} needed to "
                           f"post the review; it resets at {when}")
        self._settings.sleep(wait)

    # ---------------------------------------------------------------------------------- writes

    def _commit(self, sha: str) -> Commit:
        if sha not in self._commit_objs:
            obj = self._repo_obj().get_commit(sha)
            self._call(f"reading commit {sha[:12]}", lambda: obj.sha)
            self._commit_objs[sha] = obj
        return self._commit_objs[sha]

    def create_review(self, commit_id: str, body: str, comments: list[Json],
                      already_done: Callable[[], PostedReview | None] | None = None) -> PostedReview:
        """One review, event COMMENT (the bot never approves nor requests changes)."""
        pr, commit = self._pull_obj(), self._commit(commit_id)

        body = outgoing(body, self._known)
        comments = [{**c, "body": outgoing(c["body"], self._known)} for c in comments]

        def post() -> PostedReview:
            r = pr.create_review(commit=commit, body=body, event="COMMENT", comments=comments)  # type: ignore[arg-type]
            d = _fields(r)
            self._review_objs[d["id"]] = r
            return self._review(d)
        return self._post("posting the review", post, already_done)

    def edit_review(self, review_id: int, body: str) -> None:
        obj = self._review_objs.get(review_id)
        if obj is None:
            obj = self._call("reading the review", lambda: self._pull_obj().get_review(review_id))
        review = obj
        self._call("editing the review summary", lambda: review.edit(outgoing(body, self._known)), write=True)

    def reply(self, comment_id: int, body: str,
              already_done: Callable[[], PostedComment | None] | None = None) -> PostedComment:
        pr = self._pull_obj()
        return self._post("replying to a review comment",
                          lambda: self._comment(_fields(pr.create_review_comment_reply(
                              comment_id, outgoing(body, self._known)))),
                          already_done)

    def delete_comment(self, comment_id: int, doing: str = "deleting an outdated review comment") -> None:
        """Delete one review comment; one already gone (404) counts as deleted."""
        pr = self._pull_obj()
        try:
            pr.get_review_comment(comment_id).delete()
        except GithubException as e:
            if e.status != 404:
                raise api_error(e, doing, write=True, retries=self._settings.retries) from None
        except requests.exceptions.RequestException as e:
            raise APIError(f"cannot reach the GitHub API at {self._settings.api_url} ({type(e).__name__})") from None

    # ---------------------------------------------------------------------------------- the conversation

    def other_pulls(self, limit: int) -> tuple[int, ...]:
        """The numbers of the repository's most recently updated pull requests but this one (one page)."""
        repo = self._repo_obj()

        def numbers() -> tuple[int, ...]:
            pulls = repo.get_pulls(state="all", sort="updated", direction="desc")
            return tuple(p.number for p in pulls.get_page(0) if p.number != self.number)[:limit]
        return self._call("listing the repository's pull requests", numbers)

    def can_write(self, login: str) -> bool | None:
        """Whether `login` has write access to the repository (admin, maintain or write), or None when
        GitHub does not say (a token that may not ask, an API without the endpoint)."""
        repo = self._repo_obj()
        try:
            perm = self._call("reading a collaborator's permission",
                              lambda: repo.get_collaborator_permission(login))
        except APIError:
            return None
        return perm in ("admin", "maintain", "write")

    def sibling(self, number: int) -> PullRequestApi:
        """The same client on another pull request of the repository (nothing is fetched)."""
        return PullRequestApi(self._gh, self._settings, self.repository, number, self._clock)

    def issue_comments(self) -> tuple[PostedComment, ...]:
        """The PR's conversation comments (the issue view), in creation order."""
        pr = self._pull_obj()
        return self._call("listing the comments",
                          lambda: tuple(self._comment(_fields(c)) for c in pr.get_issue_comments()))

    def comment(self, body: str, already_done: Callable[[], PostedComment | None] | None = None) -> PostedComment:
        """One comment in the PR's conversation."""
        pr = self._pull_obj()
        return self._post("posting a comment",
                          lambda: self._comment(_fields(pr.create_issue_comment(outgoing(body, self._known)))),
                          already_done)

    def react(self, comment_id: int, content: str, review_comment: bool = False) -> None:
        """A reaction on a comment (an issue comment, or a review comment); given once (GitHub answers
        200 for a repeat), so it is safe to retry."""
        pr = self._pull_obj()

        def send() -> None:
            obj = pr.get_review_comment(comment_id) if review_comment else pr.get_issue_comment(comment_id)
            obj.create_reaction(content)
        self._call("reacting to a comment", send, write=True)

    def reactions(self, comment_id: int) -> tuple[tuple[str, str], ...]:
        """(login, content) of the reactions on one review comment."""
        pr = self._pull_obj()
        return self._call("listing the reactions of a review comment", lambda: tuple(
            (r.user.login if r.user else "", r.content) for r in pr.get_review_comment(comment_id).get_reactions()))
