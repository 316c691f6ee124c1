"""The command line as a user types it: scenario new/check, run, log tail/verify, replay --until,
report, run --input (a recording), --help everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden import events as E
from skywarden.cli import app
from skywarden.ingest import write_jsonl
from skywarden.log import SqliteLog

runner = CliRunner()


@pytest.fixture(scope="module")
def short_night(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("cli") / "night.sqlite"
    res = runner.invoke(app, ["run", "--log", str(path), "--until", "00:25"])
    assert res.exit_code == 0, res.output
    assert "ticks appended" in res.output
    return path


def test_every_command_has_help_with_an_example():
    for cmd in (
        [], ["log"], ["scenario"], ["statement", "list"], ["statement", "approve"], ["demo"], ["run"], ["replay"], ["report"], ["log", "verify"], ["log", "tail"],
        ["scenario", "new"], ["scenario", "check"], ["track"], ["incident", "list"], ["incident", "show"],
        ["claim", "add"], ["claim", "list"],
    ):  # fmt: skip
        res = runner.invoke(app, [*cmd, "--help"])
        assert res.exit_code == 0, (cmd, res.output)
        assert "Example" in res.output or "example" in res.output, cmd


def test_scenario_new_then_check(tmp_path):
    path = tmp_path / "my-night.toml"
    res = runner.invoke(app, ["scenario", "new", str(path)])
    assert res.exit_code == 0 and path.exists()
    assert (tmp_path / "moscow_roads.osm").exists()  # the road extract it names comes along
    res = runner.invoke(app, ["scenario", "check", str(path)])
    assert res.exit_code == 0 and "50 drones" in res.output
    again = runner.invoke(app, ["scenario", "new", str(path)])
    assert again.exit_code == 2  # never overwrites


def test_scenario_check_reports_the_error(tmp_path):
    path = tmp_path / "bad.toml"
    runner.invoke(app, ["scenario", "new", str(path)])
    path.write_text(path.read_text(encoding="utf-8").replace("tick_s = 1.0", "tick_s = 1.0\nspeed = 3"), encoding="utf-8")
    res = runner.invoke(app, ["scenario", "check", str(path)])
    assert res.exit_code == 2 and "speed" in res.output and "bad.toml" in res.output


def test_log_tail_and_verify(short_night):
    res = runner.invoke(app, ["log", "tail", str(short_night), "-n", "3", "--kind", "track_confirmed"])
    assert res.exit_code == 0
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 3
    for ln in lines:
        seq, data = ln.split("\t", 1)
        assert int(seq) > 0 and json.loads(data)["kind"] == "track_confirmed"
    res = runner.invoke(app, ["log", "verify", str(short_night)])
    assert res.exit_code == 0 and "chain intact" in res.output


def test_replay_until_shows_the_picture(short_night):
    res = runner.invoke(app, ["replay", str(short_night), "--until", "00:20"])
    assert res.exit_code == 0, res.output
    assert "identical" in res.output and "the picture at 00:20:00" in res.output


def test_report_from_a_log(short_night, tmp_path):
    out = tmp_path / "r"
    (out / "statements").mkdir(parents=True)  # a publishing folder: the report leaves it alone
    published = out / "statements" / "2025-03-11_ST-0001.txt"
    published.write_text("as the publisher wrote it\n", encoding="utf-8")
    res = runner.invoke(app, ["report", str(short_night), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png" in html and "Summary" in html
    assert [p.name for p in (out / "statements").iterdir()] == [published.name]
    assert published.read_text(encoding="utf-8") == "as the publisher wrote it\n"
    assert not (out / "alerts").exists()


def test_run_resume_refuses_another_scenario_seed(short_night):
    res = runner.invoke(app, ["run", "--log", str(short_night), "--resume", "--seed", "7", "--until", "00:26"])
    assert res.exit_code == 2 and "seed" in res.output


def test_run_from_a_recording_replays_the_same_picture(short_night, tmp_path):
    """Cut the inputs out of a simulated night, play them as a recording (with a bad line added):
    the stages derive the same events, and the bad line is a counted rejection."""
    log = SqliteLog(short_night)
    inputs = [r.event() for r in log.read()]
    log.close()
    rec = tmp_path / "reports.jsonl"
    n = write_jsonl(inputs, rec)
    assert n > 100
    with rec.open("ab") as fh:
        fh.write(b'{"kind":"kill_reported","t":"2025-03-10T21:10:00Z","report_id":"X","lat":95,"lon":37}\n')
    out = tmp_path / "from-recording.sqlite"
    res = runner.invoke(app, ["run", "--log", str(out), "--until", "00:25", "--input", str(rec)])
    assert res.exit_code == 0, res.output
    a, b = SqliteLog(short_night), SqliteLog(out)
    derived_a = [r.data for r in a.read() if not E.is_input(r.event())]
    evs_b = [r.event() for r in b.read()]
    derived_b = [E.encode(e) for e in evs_b if not E.is_input(e)]
    rejected = [e for e in evs_b if isinstance(e, E.ReportRejected)]
    a.close()
    b.close()
    assert len(rejected) == 1 and rejected[0].reason.startswith("out of range: lat 95")
    assert derived_a == derived_b


def test_claim_add_assesses_through_the_stages_and_keeps_replay_exact(tmp_path):
    path = tmp_path / "claims.sqlite"
    assert runner.invoke(app, ["run", "--log", str(path), "--until", "00:12"]).exit_code == 0
    res = runner.invoke(
        app,
        ["claim", "add", "--log", str(path), "--source", "Channel X", "--what", "kill", "--count", "5",
         "--from", "00:00", "--to", "00:10", "--where", "south-west", "--text", "Five drones shot down"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    log = SqliteLog(path)
    evs = [r.event() for r in log.read()]
    log.close()
    recorded = [e for e in evs if isinstance(e, E.ClaimRecorded) and e.source == "Channel X"]
    assessed = [e for e in evs if isinstance(e, E.ClaimAssessed) and e.claim_id == recorded[0].claim_id]
    assert len(recorded) == 1 and len(assessed) == 1
    # no kill before 00:10 in the default night: the log neither confirms nor contradicts it
    assert assessed[0].outcome == "unconfirmed"
    listed = runner.invoke(app, ["claim", "list", "--log", str(path)])
    assert listed.exit_code == 0 and recorded[0].claim_id in listed.output
    assert "identical" in runner.invoke(app, ["replay", str(path)]).output


def test_report_exports_as_published_only_what_the_policy_lets_out(short_night, tmp_path, scenario):
    """A statement_published forged into the log (appended, so the chain verifies) is not
    reported as published: the report applies the disclosure policy."""
    import shutil

    from skywarden.events import StatementPublished

    night = tmp_path / "night.sqlite"
    shutil.copy(short_night, night)
    log = SqliteLog(night)
    legit = [e for e in (r.event() for r in log.read()) if isinstance(e, StatementPublished)]
    assert legit, "the short night publishes a statement"
    sensor = scenario.spec.sensors[0].name
    last_t = legit[-1].t
    forged = [
        StatementPublished(t=last_t, statement_id="ST-0999", text_en=f"Radar {sensor} at 55.7512, 37.6184 saw 12 drones.",
                           text_ru="12 беспилотников.", approved_by=["duty-1"], delay_s=0.0),
        # a published statement's id and text again, under an officer who never approved it
        StatementPublished(t=last_t, statement_id=legit[0].statement_id, text_en=legit[0].text_en,
                           text_ru=legit[0].text_ru, approved_by=["mallory"], delay_s=0.0),
    ]  # fmt: skip
    log.append(forged)
    log.verify()
    log.close()
    out = tmp_path / "r"
    res = runner.invoke(app, ["report", str(night), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text(encoding="utf-8")
    published = html.split("<h2>Statements published</h2>")[1].split("<h2>")[0]
    held = html.split("<h2>Published in the log, not by the policy</h2>")[1].split("<h2>")[0]
    assert legit[0].statement_id in published and "ST-0999" not in published and "mallory" not in published
    assert "ST-0999" in held and "no draft" in held and "mallory" in held
    assert sensor not in published


def test_statements_published_before_any_publisher_ran_are_delivered_by_the_next_run_publish(tmp_path):
    """One publisher: what the night published while no channel ran (a run without --publish,
    or a `statement approve` from the command line) goes out with the next `run --publish`."""
    log = tmp_path / "night.sqlite"
    res = runner.invoke(app, ["run", "--log", str(log), "--until", "00:40"])
    assert res.exit_code == 0, res.output
    lg = SqliteLog(log)
    published = [e.statement_id for r in lg.read() if isinstance(e := r.event(), E.StatementPublished)]
    lg.close()
    assert published, "no statement published by 00:40"
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--log", str(log), "--resume", "--until", "00:41", "--publish", str(out)])
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (out / "statements").glob("*.txt"))
    assert files == sorted(f"{night_date}_{sid}.txt" for sid in published for night_date in {files[0].split("_")[0]})
    feed = (out / "feed.atom").read_text("utf-8")
    assert feed.count("<entry>") == len(published)  # each once, none left behind
