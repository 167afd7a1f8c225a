"""The public survey page: the signed link mailed to a customer's contact (processes/surveys.py). No sign-in; the
page speaks the link's language; one answer per link. Answered: 200 and thanks; again: 409; expired: 410; a
forged or unknown link: 404 -- each a page that says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, format_date
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from processes import surveys
from web.context import runtime

bp = Blueprint("surveys", __name__)

COMMENT_MAX = 2000

QUESTIONS: dict[str, LazyString] = {
    "nps": _l("How likely are you to recommend us to a friend or colleague?"),
    "csat": _l("How satisfied are you with the service you received?"),
    "ces": _l("How much effort did it take to get what you needed?"),
}
HINTS: dict[str, LazyString] = {
    "nps": _l("0 means not at all likely, 10 means extremely likely."),
    "csat": _l("1 means very dissatisfied, 5 means very satisfied."),
    "ces": _l("A higher score means more effort."),
}
ENDS: dict[str, tuple[LazyString, LazyString]] = {
    "nps": (_l("Not at all likely"), _l("Extremely likely")),
    "csat": (_l("Very dissatisfied"), _l("Very satisfied")),
    "ces": (_l("Very little effort"), _l("A lot of effort")),
}
CSAT_LABELS = {
    1: _l("Very dissatisfied"),
    2: _l("Dissatisfied"),
    3: _l("Neutral"),
    4: _l("Satisfied"),
    5: _l("Very satisfied"),
}


@dataclass(frozen=True)
class Link:
    """What the page needs of a link, read before the session closes."""

    id: int
    kind: str
    language: str
    expires_at: datetime
    answered_at: datetime | None


def _read(token: str) -> Link | None:
    rt = runtime()
    with rt.store.session() as session:
        try:
            link = surveys.read_link(session, rt.config, token)
        except surveys.SurveyError:
            return None
        return Link(link.id, link.kind, link.language, link.expires_at, link.answered_at)


def _page(link: Link | None, template: str, status: int, **context: object) -> ResponseReturnValue:
    """Render in the link's language (a forged link: the browser's)."""
    if link is None:
        return render_template(template, link=None, **context), status
    with force_locale(link.language):
        return render_template(template, link=link, expires=format_date(link.expires_at, "long"), **context), status


def _question(
    link: Link, token: str, *, error: str | None = None, score: int | None = None, comment: str = ""
) -> ResponseReturnValue:
    low, high = surveys.scale(link.kind, runtime().config)
    scores = [(value, CSAT_LABELS.get(value) if link.kind == "csat" else None) for value in range(low, high + 1)]
    return _page(
        link,
        "surveys/answer.html",
        422 if error else 200,
        token=token,
        question=QUESTIONS[link.kind],
        hint=HINTS[link.kind],
        ends=ENDS[link.kind],
        scores=scores,
        chosen=score,
        comment=comment,
        error=error,
        comment_max=COMMENT_MAX,
    )


def _closed(link: Link | None, exc: surveys.SurveyError | None = None) -> ResponseReturnValue:
    if link is None or isinstance(exc, surveys.LinkForged | surveys.LinkUnknown):
        return _page(None, "surveys/error.html", 404, reason="invalid")
    if link.answered_at is not None or isinstance(exc, surveys.LinkAnswered):
        return _page(link, "surveys/error.html", 409, reason="answered")
    return _page(link, "surveys/error.html", 410, reason="expired")


def _score(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


@bp.route("/survey/<token>", methods=["GET", "POST"])
def answer(token: str) -> ResponseReturnValue:
    rt = runtime()
    link = _read(token)
    if link is None:
        return _closed(None)
    if link.answered_at is not None or rt.clock.now() > link.expires_at:
        return _closed(link)
    if request.method == "GET":
        return _question(link, token, score=_score(request.args.get("score")))

    score = _score(request.form.get("score"))
    comment = request.form.get("comment", "").strip()[:COMMENT_MAX]
    low, high = surveys.scale(link.kind, rt.config)
    if score is None or not low <= score <= high:
        with force_locale(link.language):
            error = str(_l("Choose a score from %(low)s to %(high)s.", low=low, high=high))
        return _question(link, token, error=error, comment=comment)
    try:
        with rt.unit() as u:
            surveys.answer_link(
                u.session,
                rt.config,
                token,
                score,
                comment,
                u.now,
                deliver=surveys.delivering(rt, u),
            )
            following = surveys.next_link(u.session, rt.config, link.id, u.now)
    except (surveys.LinkForged, surveys.LinkUnknown, surveys.LinkAnswered, surveys.LinkExpired) as exc:
        return _closed(_read(token), exc)
    except surveys.SurveyError as exc:
        return _question(link, token, error=str(exc), comment=comment)
    next_url = url_for(".answer", token=following) if following else None
    return _page(link, "surveys/thanks.html", 200, next_url=next_url)
