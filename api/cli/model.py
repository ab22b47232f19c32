"""`titan model serve`: the offline model behind an OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.runner import settings_or_exit
from tools.core.settings import configure_logging

model_app = typer.Typer(
    help="Titan's offline model behind the OpenAI Chat Completions API.", no_args_is_help=True
)


@model_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8088,
    api_key: Annotated[
        str | None,
        typer.Option(help="Accept only requests bearing this key (default: any key)."),
    ] = None,
) -> None:
    """Serve the offline model at http://HOST:PORT/v1 for any OpenAI client.

    Point Titan at it with OPENAI_BASE_URL=http://HOST:PORT/v1 and any OPENAI_API_KEY.

    It answers /v1/chat/completions (tool calls, streaming) and lists its model at /v1/models.
    """
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    import uvicorn  # the server stack loads only for this command

    from api.model.server import MODEL_ID, create_app

    typer.echo(
        f"OpenAI-compatible endpoint at http://{host}:{port}/v1 (model {MODEL_ID})", err=True
    )
    app = create_app(api_key=api_key, read_plant=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@model_app.command("check")
def check(
    compare: Annotated[
        bool,
        typer.Option(help="Also score each view alone (n-grams, embedding) on the same folds."),
    ] = False,
    folds: Annotated[int, typer.Option(min=2, max=100, help="Cross-validation folds.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """How well the offline model knows its intents, and whether its plans fit the tools.

    Every example of the intent catalogue is held out once (FOLDS folds, each holding out about
    one example of each intent) and predicted by a matcher trained on the others; prints the
    accuracy overall, per domain and per intent, a confusion matrix of domains, the intents
    most confused, and every plan that does not fit the MCP tools of its agent.
    """
    import asyncio

    from api.model.check import report_check

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    ok = asyncio.run(report_check(compare=compare, folds=folds, as_json=as_json))
    raise typer.Exit(0 if ok else 1)
