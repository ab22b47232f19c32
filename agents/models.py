"""The chat model: an OpenAI-compatible endpoint when one is configured, else the offline model."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agents.offline import OfflineChatModel
from tools.core.settings import Settings, get_settings


def make_model(
    settings: Settings | None = None,
    *,
    timeout_s: float | None = None,
    max_retries: int | None = None,
) -> BaseChatModel:
    """ChatOpenAI when OPENAI_API_KEY or OPENAI_BASE_URL is set; otherwise the offline model.

    A request that gets no answer within `timeout_s` seconds, or a 408, 409, 429 or 5xx
    reply, is retried up to `max_retries` times with backoff by the OpenAI client.
    """
    settings = settings or get_settings()
    if settings.openai_api_key is None and settings.openai_base_url is None:
        return OfflineChatModel()
    return ChatOpenAI(
        model=settings.model,
        api_key=settings.openai_api_key or "not-needed",  # type: ignore[arg-type]
        base_url=settings.openai_base_url,
        use_responses_api=False,
        timeout=settings.model_timeout_s if timeout_s is None else timeout_s,
        max_retries=settings.model_max_retries if max_retries is None else max_retries,
        temperature=0,
    )


def describe_model(model: BaseChatModel) -> str:
    """A short name of the model for people: 'offline' or the endpoint's model name."""
    if isinstance(model, ChatOpenAI):
        return f"{model.model_name} at {model.openai_api_base or 'api.openai.com'}"
    return "offline (rule-based)"


# How much of a tool result a model reads, in characters: a language model's context is
# bounded (a result is cut down to fit, see `agents.specialists.fit`); the offline model reads
# whole results, as its answers are built from them.
LANGUAGE_MODEL_RESULT_CHARS = 6000
OFFLINE_RESULT_CHARS = 500_000


def result_budget(model: BaseChatModel) -> int:
    """The tool-result budget of `model`."""
    if isinstance(model, OfflineChatModel):
        return OFFLINE_RESULT_CHARS
    return LANGUAGE_MODEL_RESULT_CHARS
