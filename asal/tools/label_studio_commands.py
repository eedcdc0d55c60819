"""The command line's Label Studio commands: `asal label-studio push RUN_DIR` puts what a
waiting run asks for into a Label Studio project, `asal label-studio pull RUN_DIR` writes
the labels given there to labels.csv, and `asal label-studio backend RUN_DIR` serves the
run as an ML backend that follows the labels by itself (docs/label-studio.md).

The token and the backend's secret come from environment variables, never from the
command line, where the shell's history and the process list would show them.
"""

from __future__ import annotations

import os
from pathlib import Path

from asal.errors import AsalError
from asal.project import shown
from asal.tools.data_commands import subcommand

URL_ENV, TOKEN_ENV = "LABEL_STUDIO_URL", "LABEL_STUDIO_TOKEN"
DEFAULT_URL = "http://localhost:8080"


def _client(args):
    from asal.labelstudio.client import LabelStudio

    token = os.environ.get(args.token_env, "").strip()
    if not token:
        raise AsalError(f"${args.token_env} holds no Label Studio token; copy yours from "
                        f"Account & Settings in Label Studio and export {args.token_env}=<it> "
                        "(or name another variable with --token-env).")
    return LabelStudio(args.url, token, token_env=args.token_env)


def _push(args):
    client = _client(args)                 # first: a missing token stops at once
    from asal.labelstudio.round_trip import push

    done = push(args.run_dir, client, document_root_dir=args.document_root)
    where = f"Label Studio project '{done.title}' (id {done.project} at {done.url})"
    if not done.asked:
        print(f"{where}: labels.csv already holds every label {args.run_dir} asks for; run "
              "03 again (same parameters) to continue.")
        return
    n = done.asked
    new = (f"{done.added} of them new" if n > 1 else "new" if done.added else "pushed before") \
        + (f", {done.removed} no longer asked for removed" if done.removed else "")
    print(f"{n} image{'s' * (n > 1)} to label in {where}, {new}, least sure first "
          f"({done.model_version}): label {'them' if n > 1 else 'it'} at {done.url}/projects/"
          f"{done.project}/data?labeling=1, then run `asal label-studio pull {args.run_dir}`.")
    if done.maps_missing:
        print(f"No anomaly heat maps: {done.maps_missing}; the image stands in their place.")
    if args.backend:
        from asal.labelstudio.backend import connect

        connect(client, done.project, args.backend, _secret(), model_version=done.model_version)
        print(f"Connected to the backend at {args.backend}: label in Label Studio, and the "
              "run follows by itself.")


def _secret() -> str:
    from asal.labelstudio.backend import SECRET_ENV

    secret = os.environ.get(SECRET_ENV, "").strip()
    if len(secret) < 16:
        raise AsalError(f"${SECRET_ENV} holds no secret of 16 characters or more; the backend "
                        "and Label Studio share it, so export the same "
                        f"{SECRET_ENV}=$(python -c 'import secrets; print(secrets."
                        "token_hex(16))') where you start both commands.")
    return secret


def _backend(args):
    secret, client = _secret(), _client(args)
    import logging

    from asal.labelstudio.backend import Follower, serve
    from asal.labelstudio.round_trip import document_root

    logging.basicConfig(format="asal backend: %(message)s", level=logging.INFO)
    client.check()
    follower = Follower(args.run_dir, client, document_root=document_root(args.document_root),
                        poll_s=args.poll)
    server = serve(follower, secret, host=args.host, port=args.port)
    host, port = server.server_address[:2]
    print(f"asal backend for {args.run_dir} at http://{host}:{port}; connect the project "
          f"with: asal label-studio push {args.run_dir} --backend http://{host}:{port}",
          flush=True)
    follower.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        follower.stop()


def _pull(args):
    client = _client(args)
    from asal.labelstudio.round_trip import pull

    done = pull(args.run_dir, client)
    known = f" ({done.known} already there)" if done.known else ""
    n = done.waiting
    then = (f"{n} image{'s' * (n > 1)} the run asks for {'have' if n > 1 else 'has'} no "
            f"label yet: label {'them' if n > 1 else 'it'} in Label Studio, then pull again"
            if n else "run 03 again (same parameters) to continue")
    print(f"{done.new} new label{'s' * (done.new != 1)} from '{done.title}' written to "
          f"{shown(done.labels_file)}{known}; {then}.")


def _document_root(p) -> None:
    p.add_argument("--document-root", metavar="DIR",
                   help="the folder Label Studio serves local files from, above the data and "
                        "the runs folder (default: $LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT)")


def _common(p) -> None:
    p.add_argument("run_dir", type=Path, help="the run of 03: runs/<exp>/<category>/al/"
                                              "<init>/<query>/seed<k>")
    p.add_argument("--url", default=os.environ.get(URL_ENV, DEFAULT_URL),
                   help=f"Label Studio's address (default: ${URL_ENV}, else {DEFAULT_URL})")
    p.add_argument("--token-env", default=TOKEN_ENV, metavar="NAME",
                   help="the environment variable that holds your Label Studio token "
                        "(Account & Settings: a personal access token or a legacy token)")


def add_label_studio_commands(sub) -> None:
    p = subcommand(sub, "label-studio", "label in Label Studio: push what a waiting run "
                                         "asks for, pull the labels into labels.csv", None)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION",
                               help="push (what a run waits for, into Label Studio), pull "
                                    "(the labels given there, into labels.csv) or backend "
                                    "(the run follows the labels by itself)")
    push = subcommand(actions, "push", "put the images a run of 03 waits for into its "
                                        "Label Studio project, least sure first", _push)
    _common(push)
    _document_root(push)
    push.add_argument("--backend", metavar="URL",
                      help="connect the project to asal's ML backend at this address "
                           "(`asal label-studio backend`; the secret in $ASAL_BACKEND_SECRET)")
    pull = subcommand(actions, "pull", "write the labels given in the run's Label Studio "
                                        "project to labels.csv, all or none", _pull)
    _common(pull)
    backend = subcommand(actions, "backend", "serve a run of 03 as Label Studio's ML "
                                              "backend: label there, the run follows", _backend)
    _common(backend)
    _document_root(backend)
    backend.add_argument("--host", default="127.0.0.1",
                         help="the address to listen on (default: 127.0.0.1, this machine)")
    backend.add_argument("--port", type=int, default=9090, help="default: 9090")
    backend.add_argument("--poll", type=float, default=5.0, metavar="SECONDS",
                         help="look for new labels this often when no webhook comes")
