"""``skywarden log verify | prove | verify-proof`` and ``skywarden keys new``: the event log's
integrity, signed checkpoints, witness and inclusion proofs (docs/event-log.md).

    skywarden keys new --out site                     site.key (0600) and site.pub
    SKYWARDEN_KEY=site.key skywarden run --log night.db
    skywarden log verify night.db --key site.pub --witness witness.jsonl
    skywarden log prove night.db 3170 > kill.proof.json
    skywarden log verify-proof kill.proof.json --key site.pub
    skywarden log prove night.db --consistency 2000 > grew.proof.json     the log only grew
    skywarden log verify-proof grew.proof.json --key site.pub --witness witness.jsonl
    skywarden log witness --file witness.jsonl --key site.pub     an HTTP witness
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from skywarden.errors import SkywardenError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# where `log verify` finds the site's public key (skywarden.log.checkpoint.ENV_PUBLIC_KEY, named
# here too so that the CLI starts without importing the log's cryptography)
ENV_PUBLIC_KEY = "SKYWARDEN_PUBLIC_KEY"

keys_app = typer.Typer(help="The site's signing key for the event log's checkpoints.", no_args_is_help=True)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help=f"The site's public key (site.pub; a site.key works too). Default: ${ENV_PUBLIC_KEY}.",
    ),
]


def _fail(exc: Exception) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    from skywarden.errors import ConfigError
    from skywarden.log.checkpoint import load_private, load_public

    where = path or (Path(os.environ[ENV_PUBLIC_KEY]) if os.environ.get(ENV_PUBLIC_KEY) else None)
    if where is None:
        return None
    try:
        return load_public(where)
    except ConfigError:
        return load_private(where).public_key()  # a site.key holds its public half


@keys_app.command("new")
def keys_new(
    out: Annotated[Path, typer.Option("--out", help="Base name: writes <out>.key and <out>.pub.")] = Path("site"),
) -> None:
    """Make the site's Ed25519 key pair for signing checkpoints.

    Example:  skywarden keys new --out /etc/skywarden/site   then   export SKYWARDEN_KEY=/etc/skywarden/site.key
    """
    from skywarden.log.checkpoint import key_id_of, load_public, new_keys

    try:
        key, pub = new_keys(out)
    except SkywardenError as exc:
        _fail(exc)
    console.print(f"key {key_id_of(load_public(pub))}: private {key} (mode 0600, keep it on the site), public {pub} (give it to auditors)")


def log_verify(
    log: Annotated[str, typer.Argument(help="Event log (path or URL).")],
    key: KeyOption = None,
    witness: Annotated[
        str | None, typer.Option(help="The witness's checkpoints: a JSON-lines file or an http(s) URL.")
    ] = None,
) -> None:
    """Walk the hash chain and every stored column; with --key, check every signed checkpoint and
    say up to where the log is signed; with --witness, check the log against the witness's copy.

    Example:  skywarden log verify night-out/night.sqlite --key site.pub
    """
    from skywarden.errors import TamperError
    from skywarden.log import open_log
    from skywarden.log.audit import audit
    from skywarden.log.checkpoint import read_witness

    try:
        public = _public_key(key)
        held = read_witness(witness) if witness else None
        if "://" not in log and not Path(log).exists():  # never a new empty file for a typo
            raise SkywardenError(f"no event log at {log}")
        lg = open_log(log, signing=None)
    except SkywardenError as exc:
        _fail(exc)
    try:
        rep = audit(lg, public, held)
    except TamperError as exc:
        err.print(f"[bold red]TAMPERED[/] {log}: {exc}")
        raise typer.Exit(1) from exc
    except SkywardenError as exc:
        _fail(exc)
    finally:
        lg.close()
    c = rep.chain
    console.print(
        f"{'OK' if rep.ok else 'FAILED'} {log}: {c.records} records, chain intact, every stored column agrees; head {c.head.hex()}"
        + (f"; {c.first_time.isoformat()} .. {c.last_time.isoformat()}" if c.first_time and c.last_time else "")
    )
    if rep.key_id is not None:
        console.print(f"signed by key {rep.key_id} up to record {rep.signed_up_to} ({rep.checkpoints} checkpoints)")
    elif rep.checkpoints:
        console.print(f"{rep.checkpoints} checkpoints agree with the log; signatures not checked (no --key)")
    else:
        console.print("unsigned: no checkpoints (the site has no key configured)")
    if witness:
        console.print(f"witness: {rep.witnessed} checkpoints checked against the log")
    for p in rep.problems:
        err.print(f"[bold red]PROBLEM[/] {p}")
    if not rep.ok:
        raise typer.Exit(1)


def log_prove(
    log: Annotated[str, typer.Argument(help="Event log (path or URL).")],
    seq: Annotated[
        int | None,
        typer.Argument(
            help="The record to prove; with --consistency, the new size (default: the latest checkpoint).",
            show_default=False,
        ),
    ] = None,
    at: Annotated[int | None, typer.Option(help="Against the checkpoint at this record (default: the latest).")] = None,
    consistency: Annotated[
        int | None,
        typer.Option(
            "--consistency",
            metavar="OLD_SIZE",
            help="Prove instead that the log signed at record OLD_SIZE is a prefix of the log signed at the new size.",
        ),
    ] = None,
) -> None:
    """Print an inclusion proof (JSON) of one record against a signed checkpoint's Merkle root,
    or with --consistency a proof (RFC 9162) that the log signed at OLD_SIZE only grew.

    Example:  skywarden log prove night.db 3170 > kill.proof.json
              skywarden log prove night.db --consistency 2000 6000 > grew.proof.json
    """
    from skywarden.log import open_log
    from skywarden.log.audit import prove, prove_consistency

    try:
        if consistency is None and seq is None:
            raise SkywardenError("give the record to prove (SEQ), or --consistency OLD_SIZE")
        if consistency is not None and at is not None:
            raise SkywardenError("--at is for inclusion proofs; with --consistency give the new size as the argument")
        if "://" not in log and not Path(log).exists():  # never a new empty file for a typo
            raise SkywardenError(f"no event log at {log}")
        lg = open_log(log, signing=None)
        try:
            if consistency is not None:
                proof = prove_consistency(lg, consistency, seq)
            else:
                assert seq is not None
                proof = prove(lg, seq, at)
        finally:
            lg.close()
    except SkywardenError as exc:
        _fail(exc)
    sys.stdout.write(json.dumps(proof, indent=1) + "\n")


def log_verify_proof(
    proof: Annotated[Path, typer.Argument(help="A proof written by `skywarden log prove` ('-': stdin).")],
    key: KeyOption = None,
    witness: Annotated[
        str | None,
        typer.Option(help="Consistency proofs: the witness's checkpoints (a JSON-lines file or an http(s) URL) the proof must agree with."),
    ] = None,
) -> None:
    """Check a proof without the log. An inclusion proof: the record's bytes lead to the
    checkpoint's root. A consistency proof: the old checkpoint's tree is a prefix of the new
    one's (with --witness, the witness's copies of either checkpoint must be the proof's). With
    --key, the checkpoints must be signed by it.

    Example:  skywarden log verify-proof kill.proof.json --key site.pub
              skywarden log verify-proof grew.proof.json --key site.pub --witness held.jsonl
    """
    from skywarden.log.audit import CONSISTENCY, check_consistency, check_proof
    from skywarden.log.checkpoint import read_witness

    try:
        public = _public_key(key)
        text = sys.stdin.read() if str(proof) == "-" else proof.read_text()
        doc = json.loads(text)
        held = read_witness(witness) if witness else None
    except (SkywardenError, OSError, ValueError) as exc:
        _fail(exc)
    kind = doc.get("proof") if isinstance(doc, dict) else None
    if kind == CONSISTENCY:
        bad = check_consistency(doc, public, held)
    elif witness:
        bad = "--witness is for consistency proofs"
    else:
        bad = check_proof(doc, public) if isinstance(doc, dict) else "not an inclusion proof"
    if bad:
        err.print(f"[bold red]FAILED[/] {proof}: {bad}")
        raise typer.Exit(1)
    signed = "signed by key " if public is not None else "signature not checked (no --key)"
    if kind == CONSISTENCY:
        if public is not None:
            signed += doc["new_checkpoint"]["key_id"]
        seen = "; the witness's checkpoints agree" if held is not None else ""
        console.print(
            f"OK the log's first {doc['old_size']} records are the same in its first {doc['new_size']}: "
            f"it only grew; {signed}{seen}"
        )
        return
    if public is not None:
        signed += doc["checkpoint"]["key_id"]
    console.print(f"OK record {doc['seq']} is in the log's first {doc['tree_size']} records; {signed}")


def log_witness(
    file: Annotated[Path, typer.Option("--file", help="Where the witness keeps the checkpoints (JSON lines).")],
    listen: Annotated[str, typer.Option(help="HOST:PORT to listen on.")] = "127.0.0.1:8470",
    key: KeyOption = None,
) -> None:
    """Serve as a witness over HTTP: keep the checkpoints a site's writer POSTs (signed by --key,
    never contradicting one already held) and return them all on GET.

    Example:  skywarden log witness --file /srv/witness/night.jsonl --listen 0.0.0.0:8470 --key site.pub
              (the site: SKYWARDEN_WITNESS=http://witness:8470/ skywarden run ...)
    """
    from skywarden.log.witness import WitnessFile, serve_witness

    host, _, port = listen.rpartition(":")
    try:
        store = WitnessFile(file, _public_key(key))
        server = serve_witness(store, host or "127.0.0.1", int(port))
    except (SkywardenError, OSError, ValueError) as exc:
        _fail(exc)
    console.print(f"witness on http://{listen}/ keeping {file}" + ("" if key else " (signatures not checked: no --key)"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
