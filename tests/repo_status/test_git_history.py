"""The review rule over real git history made here, in the trailer shapes found in the wild.

Each commit's message follows a real convention (kernel `Reviewed-by`/`Acked-by`, `Assisted-by:
AGENT:MODEL [TOOL]`, agents' `Co-authored-by` noreply addresses, GitHub's squash format, merges
bringing in reviewed commits, Dependabot as author, a human named Devin), and each has the
verdict the rule must give. The trailer parser is compared with `git interpret-trailers --parse`
on every message of the history.
"""

from __future__ import annotations

import subprocess

import pytest

from safety_reset.repo_status.models import ChangeReviewRecord
from safety_reset.repo_status.services import repository_sync
from safety_reset.repo_status.trailers import parse_trailers

from .test_git_provider import Work, _git_repo

pytestmark = pytest.mark.django_db

SALLY = "Sally Senior <sally@example.test>"
PEER = "Pat Peer <peer@example.test>"
DEV = "Dev A <dev-a@example.test>"
DEPENDABOT = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"
COPILOT = "Copilot <198982749+Copilot@users.noreply.github.com>"

# subject -> (message, author, expected (ai_assisted, approval count, senior, compliant))
DIRECT = {
    "mm: fix a leak in the pool": (
        "mm: fix a leak in the pool\n\nThe pool kept a reference.\n\n"
        "Assisted-by: Claude:claude-3-opus coccinelle sparse\n"
        f"Signed-off-by: {DEV}\nReviewed-by: {SALLY}\nAcked-by: {PEER}",
        DEV,
        (True, 2, True, True),
    ),
    "docs: fix a typo": (
        f"docs: fix a typo\n\nAcked-by: {PEER}",
        DEV,
        (False, 1, False, True),
    ),
    "Add the cache layer": (
        f"Add the cache layer\n\nCo-authored-by: Claude <noreply@anthropic.com>\nReviewed-by: {PEER}",
        DEV,
        (True, 1, False, False),
    ),
    "Add export (#42)": (
        "Add export (#42)\n\n* first cut\n\n* review fixes\n\n---------\n\n"
        f"Co-authored-by: {COPILOT}\nCo-authored-by: {PEER}",
        DEV,
        (True, 0, False, False),
    ),
    "Bump requests from 2.31.0 to 2.32.0": (
        "Bump requests from 2.31.0 to 2.32.0\n\nBumps requests.\n\n"
        "---\nupdated-dependencies:\n- dependency-name: requests\n...\n\n"
        f"Signed-off-by: {DEPENDABOT}\nReviewed-by: {PEER}",
        DEPENDABOT,
        (False, 0, False, False),  # the `---` divider ends the message: no trailers after it
    ),
    "Bump idna from 3.6 to 3.7": (
        f"Bump idna from 3.6 to 3.7\n\nSigned-off-by: {DEPENDABOT}\nReviewed-by: {PEER}",
        DEPENDABOT,
        (False, 1, False, True),
    ),
    "Pair on the parser": (
        "Pair on the parser\n\nCo-authored-by: Devin Example <devin@example.test>\n"
        f"Co-authored-by: Claude Monet <claude.monet@example.test>\nReviewed-by: {PEER}",
        DEV,
        (False, 1, False, True),
    ),
    "Refactor the loader": (
        "Refactor the loader\n\nThis keeps the old API.\nAssisted-by: Copilot\n"
        f"It also renames two helpers.\nReviewed-by: {PEER}",
        DEV,
        (False, 0, False, False),  # prose, not a trailer block: neither line counts
    ),
    "Self-reviewed AI change": (
        f"Self-reviewed AI change\n\nGenerated-by: some-model\nReviewed-by: {DEV}\n"
        f"Reviewed-by: {COPILOT}\nReviewed-by: {SALLY}",
        DEV,
        (True, 1, True, False),
    ),
}


def _git_parse(message: str, work: Work) -> list[str]:
    done = subprocess.run(
        ["git", "interpret-trailers", "--parse"],  # noqa: S607
        input=message,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(work.path), "GIT_CONFIG_NOSYSTEM": "1"},
    )
    return done.stdout.splitlines()


def _verdict(record: ChangeReviewRecord) -> tuple[bool, int, bool, bool]:
    return (record.ai_assisted, record.approval_count, record.senior_approved, record.compliant)


def test_real_world_trailer_shapes(tmp_path, mirrors, system):
    work = Work(tmp_path / "work")
    work.commit("README", "start")
    for index, (message, author, _) in enumerate(DIRECT.values()):
        work.commit(f"f{index}.txt", message, author=author)
    # A kernel-style topic branch: reviewed commits, merged by the maintainer with no trailers.
    work.git("checkout", "-q", "-b", "topic")
    work.commit(
        "t1.txt",
        f"net: add the option\n\nAssisted-by: Copilot:gpt-4o\nReviewed-by: {SALLY}\nReviewed-by: {PEER}",
    )
    work.commit("t2.txt", f"net: document the option\n\nAcked-by: {PEER}")
    work.commit("t3.txt", "net: AI tweak nobody reviewed\n\nAssisted-by: Copilot")
    work.git("checkout", "-q", "main")
    work.merge("topic", "Merge branch 'topic'", author="Maintainer <maint@example.test>")
    # A merge whose own message says it is AI-assisted (a conflict resolved with an agent).
    work.git("checkout", "-q", "-b", "other")
    work.commit("o1.txt", f"Plain change\n\nReviewed-by: {PEER}")
    work.git("checkout", "-q", "main")
    work.commit("m.txt", "Move on main")
    work.merge(
        "other",
        f"Merge branch 'other'\n\nConflicts resolved with an agent.\n\nAssisted-by: Codex\nReviewed-by: {PEER}",
    )

    repo = _git_repo(system, work)
    result = repository_sync(repository=repo)
    assert result.ok, result.error
    records = {r.title: r for r in ChangeReviewRecord.objects.filter(repository=repo)}

    for subject, (_message, _author, expected) in DIRECT.items():
        assert _verdict(records[subject]) == expected, (subject, records[subject].findings)
    assert records["Bump idna from 3.6 to 3.7"].bot_author
    assert records["Bump idna from 3.6 to 3.7"].ai_signals == []
    assert not records["Pair on the parser"].bot_author
    assert records["Add export (#42)"].ai_signals == [f"AI co-author: {COPILOT}"]
    assert (
        "198982749+copilot@users.noreply.github.com is an AI agent: its approval does not count."
        in (records["Self-reviewed AI change"].findings)
    )
    assert "dev-a@example.test wrote part of the change: their approval does not count." in (
        records["Self-reviewed AI change"].findings
    )
    # The topic branch: each commit it brings in is its own change, with its own trailers.
    assert _verdict(records["net: add the option"]) == (True, 2, True, True)
    assert _verdict(records["net: document the option"]) == (False, 1, False, True)
    assert _verdict(records["net: AI tweak nobody reviewed"]) == (True, 0, False, False)
    assert _verdict(records["Merge branch 'topic'"]) == (False, 0, False, False)
    # The other merge: the merge's own message counts for the merge, and its reviewer's
    # approval is counted for the commit it brings in.
    assert _verdict(records["Merge branch 'other'"]) == (True, 1, False, False)
    assert records["Merge branch 'other'"].ai_signals == ["trailer Assisted-by: Codex"]
    assert _verdict(records["Plain change"]) == (False, 1, False, True)
    assert records["Plain change"].merged_at == records["Merge branch 'other'"].merged_at

    # Every change is stored once, by its commit, numbered in history order.
    log = work.git("log", "--format=%H", "main").split()
    assert sorted(r.sha for r in records.values()) == sorted(log)
    by_number = sorted(records.values(), key=lambda r: r.number)
    assert [r.number for r in by_number] == list(range(1, len(log) + 1))
    assert by_number[0].title == "start"

    # The parser reads exactly what git reads, on every message of this history.
    for sha in log:
        message = work.git("log", "-1", "--format=%B", sha)
        mine = [f"{key}: {value}" for key, value in parse_trailers(message)]
        assert mine == _git_parse(message, work), message

    # A second pull stores nothing twice.
    again = repository_sync(repository=repo)
    assert again.ok
    assert again.changes == 0
    assert ChangeReviewRecord.objects.filter(repository=repo).count() == len(log)
