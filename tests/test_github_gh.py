"""The PyGithub edge without a network: GitHub's errors as one-line reviewbot errors, rate-limit
waits, and POSTs that are retried only after checking they did not land."""
import pytest
from github import GithubException, RateLimitExceededException

from reviewbot.errors import APIError, ReadOnlyToken, Unprocessable
from reviewbot.github.api import (
    GitHubSettings,
    PullRequestApi,
    _retry_after,
    api_error,
)

NOT_ACCESSIBLE = {"message": "Resource not accessible by integration", "status": "403"}


def test_errors_become_one_line_messages_without_the_token():
    e = api_error(GithubException(401, {"message": "Bad credentials"}), "reading the pull request")
    assert type(e) is APIError and "401 Bad credentials" in str(e) and "GITHUB_TOKEN" in str(e)
    assert isinstance(api_error(GithubException(403, NOT_ACCESSIBLE), "posting the review", write=True),
                      ReadOnlyToken)
    assert type(api_error(GithubException(403, NOT_ACCESSIBLE), "listing files")) is APIError
    assert "404" in str(api_error(GithubException(404, {"message": "Not Found"}), "reading the pull request"))
    e = api_error(GithubException(422, {"message": "Unprocessable Entity",
                                        "errors": ["Line could not be resolved"]}), "posting the review")
    assert isinstance(e, Unprocessable) and e.errors == ("Line could not be resolved",)
    assert "Line could not be resolved" in str(e) and "\n" not in str(e)
    e = api_error(GithubException(502, {"message": "Bad Gateway\nmore"}), "posting the review")
    assert str(e) == "GitHub answered 502 while posting the review: Bad Gateway"
    e = api_error(GithubException(503, {"message": "Service Unavailable"}), "editing the review summary", retries=4)
    assert str(e) == "GitHub answered 503 after 4 retries while editing the review summary: Service Unavailable"


def test_retry_after_reads_githubs_headers():
    assert _retry_after(GithubException(403, {"message": "x"}, {"Retry-After": "7"}), 0) == 7
    primary = RateLimitExceededException(403, {"message": "API rate limit exceeded for installation ID 1"},
                                         {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1100"})
    assert _retry_after(primary, 1000) == 101
    secondary = GithubException(403, {"message": "You have exceeded a secondary rate limit"}, {})
    assert _retry_after(secondary, 0) == 60
    assert _retry_after(GithubException(403, NOT_ACCESSIBLE, {}), 0) is None


def _api(**kw):
    slept = []
    settings = GitHubSettings("http://127.0.0.1:1", "t", 0, 0, retries=2, backoff=1.0, sleep=slept.append, **kw)
    return PullRequestApi(None, settings, "acme/widgets", 7), slept


def _failing(*errors, then="posted"):
    errors = list(errors)

    def fn():
        if errors:
            raise errors.pop(0)
        return then
    return fn


def test_a_post_is_retried_with_backoff_after_checking_it_did_not_land():
    api, slept = _api()
    checks = []
    fn = _failing(GithubException(502, {"message": "Bad Gateway"}), GithubException(500, {"message": "x"}))
    assert api._post("posting the review", fn, lambda: checks.append(1)) == "posted"
    assert slept == [1.0, 2.0] and len(checks) == 2


def test_a_post_that_landed_is_not_sent_again():
    api, slept = _api()
    fn = _failing(GithubException(502, {"message": "Bad Gateway"}), GithubException(502, {"message": "again"}))
    assert api._post("posting the review", fn, lambda: "found") == "found"
    assert slept == [1.0]


def test_a_post_gives_up_after_the_retries_and_waits_out_short_rate_limits():
    api, slept = _api()
    with pytest.raises(APIError, match="502"):
        api._post("posting the review", _failing(*[GithubException(502, {"message": "x"})] * 3))
    api, slept = _api()
    limited = GithubException(403, {"message": "You have exceeded a secondary rate limit"}, {"Retry-After": "3"})
    assert api._post("posting the review", _failing(limited)) == "posted" and slept == [3.0]
    api, slept = _api(max_rate_limit_wait=10)
    long = GithubException(403, {"message": "x"}, {"Retry-After": "3600"})
    with pytest.raises(APIError):
        api._post("posting the review", _failing(long))
    assert slept == []


def test_a_refused_write_is_not_retried():
    api, slept = _api()
    with pytest.raises(ReadOnlyToken):
        api._post("posting the review", _failing(GithubException(403, NOT_ACCESSIBLE, {})))
    with pytest.raises(Unprocessable):
        api._post("posting the review", _failing(GithubException(422, {"message": "Unprocessable Entity"})))
    assert slept == []
