"""The chat model: an OpenAI-compatible endpoint when one is configured, else the offline model."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agents.offline import OfflineChatModel
from tools.settings import Settings, get_settings

TIMEOUT_S = 60.0
MAX_RETRIES = 2


def make_model(settings: Settings | None = None) -> BaseChatModel:
    """ChatOpenAI when OPENAI_API_KEY or OPENAI_BASE_URL is set; otherwise the offline model."""
    settings = settings or get_settings()
    if settings.openai_api_key is None and settings.openai_base_url is None:
        return OfflineChatModel()
    return ChatOpenAI(
        model=settings.model,
        api_key=settings.openai_api_key or "not-needed",  # type: ignore[arg-type]
        base_url=settings.openai_base_url,
        use_responses_api=False,
        timeout=TIMEOUT_S,
        max_retries=MAX_RETRIES,
        temperature=0,
    )


def describe_model(model: BaseChatModel) -> str:
    """A short name of the model for people: 'offline' or the endpoint's model name."""
    if isinstance(model, ChatOpenAI):
        return f"{model.model_name} at {model.openai_api_base or 'api.openai.com'}"
    return "offline (rule-based)"
