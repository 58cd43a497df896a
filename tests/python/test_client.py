"""tutoring_client (the installed wheel) against the real server and database:
answers equal plain SQL and the streak oracle, pages walk to the SQL count,
errors map to their classes, timeouts, concurrency, and a server restart."""

from __future__ import annotations

import asyncio
import datetime
import time

import grpc
import pytest

import tutoring_client
from tutoring_client import aio, pb
from streak_oracle import Expected, load_rows, oracle

ROLES = {"student": pb.ROLE_STUDENT, "instructor": pb.ROLE_INSTRUCTOR, "admin": pb.ROLE_ADMIN}
DIFFICULTIES = {"easy": pb.DIFFICULTY_EASY, "medium": pb.DIFFICULTY_MEDIUM, "hard": pb.DIFFICULTY_HARD}
USER_COLUMNS = ("id, email, display_name, role, is_active, onboarding_completed, "
                "(extract(epoch FROM created_at) * 1000000)::bigint")


def user_row(u: pb.User):
    micros = u.create_time.seconds * 1_000_000 + u.create_time.nanos // 1000
    return (u.id, u.email, u.display_name, u.role, u.is_active, u.onboarding_completed, micros)


def sql_user(r):
    return (int(r[0]), r[1], r[2], ROLES[r[3]], r[4] == "t", r[5] == "t", int(r[6]))


def all_user_ids(sql):
    return [int(r[0]) for r in sql("SELECT id FROM users ORDER BY id")]


async def test_get_user_role_equals_sql_for_every_user(target, sql):
    expected = {int(r[0]): (ROLES[r[1]], r[2] == "t")
                for r in sql("SELECT id, role, is_active FROM users")}
    async with aio.Client(target) as client:
        for user_id, (role, active) in expected.items():
            got = await client.get_user_role(user_id)
            assert (got.user_id, got.role, got.is_active) == (user_id, role, active)


@pytest.mark.parametrize("role", [None, "student", "instructor", "admin"])
@pytest.mark.parametrize("pending", [False, True])
async def test_iter_active_users_walks_every_page_equal_to_sql(target, sql, role, pending):
    where = "is_active" + (f" AND role = '{role}'" if role else "") + \
        (" AND NOT onboarding_completed" if pending else "")
    expected = [sql_user(r) for r in sql(f"SELECT {USER_COLUMNS} FROM users WHERE {where} ORDER BY id")]
    count = int(sql(f"SELECT count(*) FROM users WHERE {where}")[0][0])
    async with aio.Client(target) as client:
        got = [user_row(u) async for u in client.iter_active_users(
            role=ROLES.get(role, pb.ROLE_UNSPECIFIED), pending_onboarding_only=pending, page_size=7)]
    assert got == expected
    assert len(got) == count


async def test_list_active_users_pages_are_full_but_the_last(target, sql):
    count = int(sql("SELECT count(*) FROM users WHERE is_active")[0][0])
    sizes = []
    token = ""
    async with aio.Client(target) as client:
        while True:
            page = await client.list_active_users(page_size=9, page_token=token)
            sizes.append(len(page.users))
            token = page.next_page_token
            if not token:
                break
    assert sum(sizes) == count
    assert all(s == 9 for s in sizes[:-1]) and sizes[-1] <= 9


@pytest.mark.parametrize("role", ["student", "instructor", "admin"])
async def test_iter_users_by_role_equals_sql(target, sql, role):
    expected = [sql_user(r) for r in sql(
        f"SELECT {USER_COLUMNS} FROM users WHERE role = '{role}' ORDER BY id")]
    async with aio.Client(target) as client:
        got = [user_row(u) async for u in client.iter_users_by_role(ROLES[role], page_size=11)]
    assert got == expected and expected


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
@pytest.mark.parametrize("language", ["", "python", "Python", "go", "cobol"])
async def test_iter_exercises_equals_sql(target, sql, difficulty, language):
    where = f"difficulty = '{difficulty}'" + (f" AND programming_language = '{language}'" if language else "")
    expected = [(int(r[0]), r[1], DIFFICULTIES[r[2]], r[3], int(r[4])) for r in sql(
        "SELECT id, title, difficulty, programming_language, "
        f"(extract(epoch FROM created_at) * 1000000)::bigint FROM exercises WHERE {where} ORDER BY id")]
    async with aio.Client(target) as client:
        got = [(e.id, e.title, e.difficulty, e.programming_language,
                e.create_time.seconds * 1_000_000 + e.create_time.nanos // 1000)
               async for e in client.iter_exercises(DIFFICULTIES[difficulty],
                                                    programming_language=language, page_size=2)]
    assert got == expected


ZONES = ["UTC", "Asia/Tokyo", "America/New_York", "Pacific/Kiritimati"]
AS_OFS = [datetime.datetime(2026, 1, 12, 20, 0, tzinfo=datetime.timezone.utc),
          datetime.datetime(2026, 1, 13, 0, 30, tzinfo=datetime.timezone.utc),
          datetime.datetime(2026, 1, 7, 12, 0, tzinfo=datetime.timezone.utc)]


async def test_get_streak_equals_the_oracle(target, sql):
    ids = all_user_ids(sql)
    rows = load_rows(sql, ids)
    assert any(rows.values()), "the fixture has no completions"
    checked = nonzero = 0
    async with aio.Client(target) as client:
        for zone in ZONES:
            for as_of in AS_OFS:
                answers = await asyncio.gather(
                    *(client.get_streak(i, time_zone=zone, as_of=as_of) for i in ids))
                for user_id, got in zip(ids, answers):
                    want = oracle(rows[user_id], zone, as_of)
                    assert got.user_id == user_id
                    assert Expected.of(got) == want, (user_id, zone, as_of)
                    checked += 1
                    nonzero += want.longest_days > 0
    assert nonzero > 0 and checked == len(ids) * len(ZONES) * len(AS_OFS)


async def test_batch_get_streaks_answers_in_request_order(target, sql):
    ids = all_user_ids(sql)
    request = ids[::-1] + ids[:5]  # reversed, with duplicates
    rows = load_rows(sql, ids)
    async with aio.Client(target) as client:
        for zone in ZONES:
            response = await client.batch_get_streaks(request, time_zone=zone, as_of=AS_OFS[0])
            assert [s.user_id for s in response.streaks] == request
            assert [Expected.of(s) for s in response.streaks] == \
                [oracle(rows[i], zone, AS_OFS[0]) for i in request]


async def test_real_server_errors_raise_their_classes(target, sql):
    missing = int(sql("SELECT max(id) + 1000 FROM users")[0][0])
    async with aio.Client(target) as client:
        with pytest.raises(tutoring_client.NotFound) as e:
            await client.get_user_role(missing)
        assert e.value.code == grpc.StatusCode.NOT_FOUND and e.value.details
        with pytest.raises(tutoring_client.NotFound):
            await client.batch_get_streaks([1, missing])
        for call in (client.get_user_role(0),
                     client.get_streak(1, time_zone="+05:00"),
                     client.list_active_users(page_size=-1),
                     client.list_users_by_role(pb.ROLE_UNSPECIFIED),
                     client.list_exercises(pb.DIFFICULTY_EASY, page_token="garbage"),
                     client.batch_get_streaks([])):
            with pytest.raises(tutoring_client.InvalidArgument) as e:
                await call
            assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and e.value.details
            assert isinstance(e.value, tutoring_client.RpcError)


async def test_check_health(target):
    async with aio.Client(target) as client:
        assert await client.check_health() == "SERVING"
        assert await client.check_health("tutoring.v1.TutoringService") == "SERVING"
        with pytest.raises(tutoring_client.NotFound):
            await client.check_health("no.such.Service")


async def test_unavailable_when_nothing_listens():
    from conftest import free_port
    async with aio.Client(f"127.0.0.1:{free_port()}") as client:
        start = time.monotonic()
        with pytest.raises(tutoring_client.Unavailable):
            await client.get_user_role(1, timeout=20)
        # Retried (a few backoffs), but not until the timeout.
        assert time.monotonic() - start < 15


async def test_thousand_concurrent_calls_through_one_client(target, sql):
    expected = {int(r[0]): ROLES[r[1]] for r in sql("SELECT id, role FROM users")}
    ids = list(expected)
    request_ids = [ids[i % len(ids)] for i in range(1000)]
    async with aio.Client(target) as client:
        results = await asyncio.gather(*(client.get_user_role(i) for i in request_ids))
    assert [r.user_id for r in results] == request_ids
    assert all(r.role == expected[r.user_id] for r in results)


def test_blocking_client_equals_sql(target, sql):
    expected = [sql_user(r) for r in sql(f"SELECT {USER_COLUMNS} FROM users WHERE is_active ORDER BY id")]
    rows = load_rows(sql, [1, 2])
    with tutoring_client.Client(target) as client:
        assert [user_row(u) for u in client.iter_active_users(page_size=13)] == expected
        assert [e.id for e in client.iter_exercises(pb.DIFFICULTY_EASY)] == \
            [int(r[0]) for r in sql("SELECT id FROM exercises WHERE difficulty = 'easy' ORDER BY id")]
        assert len(list(client.iter_users_by_role(pb.ROLE_ADMIN))) == \
            int(sql("SELECT count(*) FROM users WHERE role = 'admin'")[0][0])
        streak = client.get_streak(1, time_zone="Asia/Tokyo", as_of=AS_OFS[0])
        assert Expected.of(streak) == oracle(rows[1], "Asia/Tokyo", AS_OFS[0])
        assert [Expected.of(s) for s in client.batch_get_streaks([2, 1], as_of=AS_OFS[1]).streaks] == \
            [oracle(rows[2], "UTC", AS_OFS[1]), oracle(rows[1], "UTC", AS_OFS[1])]
        assert client.get_user_role(2).role == pb.ROLE_INSTRUCTOR
        assert client.check_health() == "SERVING"
        with pytest.raises(tutoring_client.InvalidArgument):
            client.get_streak(1, time_zone="localtime")


def test_naive_as_of_is_rejected_before_a_call(target):
    with tutoring_client.Client(target) as client:
        with pytest.raises(ValueError):
            client.get_streak(1, as_of=datetime.datetime(2026, 1, 1))
